"""Each person's time zone preference: the zones offered and the zone to show times in."""

from datetime import UTC
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from flask import g, has_request_context
from flask_login import current_user

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


def reader_zone():
    """The logged-in reader's zone, looked up once per request (filters call it per row)."""
    if not has_request_context():
        return UTC
    user = current_user._get_current_object()
    key = (user.get_id(), getattr(user, "time_zone", None))
    cached = g.get("reader_zone")
    if cached is None or cached[0] != key:
        cached = g.reader_zone = (key, zone_for(user) if user.is_authenticated else UTC)
    return cached[1]
