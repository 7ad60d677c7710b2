"""Admin-editable settings (Settings → Client portal): one table, one reader, cached per process.

A setting's first value is the app config's (from the environment: `PORTAL_NAME`,
`PORTAL_ACCENT`); a row of the `settings` table overrides it. Each process keeps the
table in memory, so pages and emails read settings without a query. A change commits,
then is announced (`events.settings_changed`): this process forgets its copy at once and
the live hubs, hearing it over Redis, forget theirs (portal.live.publish, portal.live.hub).
A process that hears nothing (a job worker without streams, Redis down) reads the table
again after CACHE_SECONDS.
"""

import base64
import re
import threading
import time

from flask import current_app
from sqlalchemy import select

from portal.events import send, settings_changed
from portal.extensions import db
from portal.infra import audit
from portal.models import Setting
from portal.text import clean_name

#: Longest a process trusts its copy without hearing of a change.
CACHE_SECONDS = 30.0
#: The logo (a PNG, base64) is read only when served; its version (a digest) is cached.
LOGO, LOGO_VERSION = "PORTAL_LOGO", "PORTAL_LOGO_VERSION"
FIRM_NAME_MAX = 80
_COLOUR = re.compile(r"#[0-9a-fA-F]{3}(?:[0-9a-fA-F]{3})?")

_lock = threading.Lock()
_cache = {"values": None, "read_at": 0.0}


class SettingError(ValueError):
    """A refused value, with a message for the page and the setting it is about."""

    def __init__(self, message, name):
        super().__init__(message)
        self.name = name


def _firm_name(value):
    value = clean_name(value or "")
    if not value:
        raise SettingError("Give the firm a name.", "PORTAL_NAME")
    if len(value) > FIRM_NAME_MAX:
        raise SettingError(
            f"The firm's name can be at most {FIRM_NAME_MAX} characters.", "PORTAL_NAME"
        )
    return value


def _colour(label, name):
    def clean(value):
        value = (value or "").strip()
        if not _COLOUR.fullmatch(value):
            raise SettingError(f"The {label} must be a colour like #2f5bd3.", name)
        return value.lower()

    return clean


#: Who may log in by an emailed link: everyone, staff only, nobody.
LOGIN_LINK_CHOICES = ("everyone", "staff", "off")


def _login_links(value):
    value = (value or "").strip().lower()
    if value not in LOGIN_LINK_CHOICES:
        raise SettingError("Choose who may log in with a login link.", "LOGIN_LINKS")
    return value


#: The settings an admin may edit, each with the check that cleans its value.
EDITABLE = {
    "PORTAL_NAME": _firm_name,
    "PORTAL_ACCENT": _colour("accent colour", "PORTAL_ACCENT"),
    "PORTAL_SIDEBAR": _colour("sidebar colour", "PORTAL_SIDEBAR"),
    "LOGIN_LINKS": _login_links,
}
#: First values of the settings the environment does not set ("": none).
DEFAULTS = {"PORTAL_SIDEBAR": "#1f2a44", LOGO_VERSION: ""}


def value(name):
    """The setting's value now: the table's, else its first value from the config."""
    found = _values().get(name)
    if found is not None:
        return found
    return current_app.config[name] if name in current_app.config else DEFAULTS[name]


def ink_on(colour):
    """Black or white, whichever reads better on `colour` (#rgb or #rrggbb)."""
    digits = colour[1:] if len(colour) == 7 else "".join(c * 2 for c in colour[1:])
    channels = (int(digits[i : i + 2], 16) / 255 for i in (0, 2, 4))
    red, green, blue = (
        c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels
    )
    # WCAG relative luminance; past 0.179 black text has more contrast than white.
    luminance = 0.2126 * red + 0.7152 * green + 0.0722 * blue
    return "#000000" if luminance > 0.179 else "#ffffff"


def _values():
    values, read_at = _cache["values"], _cache["read_at"]
    if values is not None and time.monotonic() - read_at < CACHE_SECONDS:
        return values
    rows = select(Setting.name, Setting.value).where(Setting.name != LOGO)
    values = dict(db.session.execute(rows).all())
    with _lock:
        _cache.update(values=values, read_at=time.monotonic())
    return values


def forget(*_args, **_kwargs):
    """Drop this process's copy: the next read asks the database (a signal receiver too)."""
    with _lock:
        _cache.update(values=None, read_at=0.0)


def save(changes, actor, now=None):
    """Check and store `changes` ({name: value}); announce what changed. Returns the names.

    Every value is checked before any is stored: a refused one (SettingError) stores none.
    """
    return store({name: EDITABLE[name](raw) for name, raw in changes.items()}, actor, now)


def store(cleaned, actor, now=None):
    """Store values already checked ({name: value}); announce what changed. Returns the names."""
    changed = [name for name, new in cleaned.items() if name == LOGO or new != value(name)]
    for name in changed:
        row = db.session.get(Setting, name) or Setting(name=name)
        row.value, row.updated_by_id = cleaned[name], actor.id
        if now is not None:
            row.updated_at = now
        db.session.add(row)
    if changed:
        names = ", ".join(changed)
        audit.record(actor, "settings.changed", summary=f"Changed the portal's {names}", now=now)
    db.session.commit()
    if changed:
        forget()
        send(settings_changed, names=changed)
    return changed


def logo_png():
    """The logo's PNG bytes, or None."""
    stored = db.session.get(Setting, LOGO)
    return base64.b64decode(stored.value) if stored is not None and stored.value else None
