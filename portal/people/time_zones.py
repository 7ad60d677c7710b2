"""Each person's time zone preference: the zones offered and the zone to show times in."""

from datetime import UTC
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

DEFAULT = "UTC"


@cache
def zone_names():
    """The IANA zones offered on the Notifications page, UTC first."""
    return [DEFAULT, *sorted(z for z in available_timezones() if "/" in z and z != DEFAULT)]


def is_zone(name):
    return name in zone_names()


def zone_for(user):
    """The user's zone, UTC when unset or no longer known."""
    name = getattr(user, "time_zone", None)
    if not name or name == DEFAULT:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def format_time(value, zone=UTC):
    """ "26 Nov 2026, 13:05 Europe/Paris": the time in `zone`, the zone named."""
    if value is None:
        return ""
    name = getattr(zone, "key", None) or "UTC"
    return f"{value.astimezone(zone):%d %b %Y, %H:%M} {name}"
