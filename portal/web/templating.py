"""Jinja filters and globals shared by every template."""

from datetime import UTC

from portal.messaging.rendering import author_name, excerpt, message_html
from portal.models.rooms import TITLE_MAX
from portal.models.users import CLIENT, INTERNAL


def init_app(app):
    app.jinja_env.filters["datetime"] = format_datetime
    app.jinja_env.filters["isotime"] = iso_time
    app.jinja_env.filters["humansize"] = human_size
    app.jinja_env.filters["message_html"] = message_html
    app.jinja_env.filters["excerpt"] = excerpt
    app.jinja_env.filters["author_name"] = author_name
    app.jinja_env.globals.update(INTERNAL=INTERNAL, CLIENT=CLIENT, TITLE_MAX=TITLE_MAX)


def format_datetime(value):
    if value is None:
        return ""
    return value.astimezone(UTC).strftime("%d %b %Y, %H:%M UTC")


def iso_time(value):
    return value.astimezone(UTC).isoformat(timespec="seconds") if value else ""


def human_size(num_bytes):
    size = float(num_bytes or 0)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            if unit == "bytes":
                return f"{int(size)} bytes"
            return f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"
