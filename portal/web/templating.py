"""Jinja filters and globals shared by every template."""

from datetime import UTC

from flask import abort, current_app, has_request_context, request, url_for

from portal.infra import settings
from portal.messaging.changes import settled_cursor
from portal.messaging.grouping import avatar_colour, day_label, file_kind, group_classes, initials
from portal.messaging.reading import UNREAD_CAP, unread_by_room, unread_label
from portal.messaging.rendering import FORMER_USER, author_name, excerpt, message_html
from portal.messaging.uploads import human_size
from portal.models.rooms import TITLE_MAX
from portal.models.users import CLIENT, INTERNAL
from portal.people import login_links
from portal.people.time_zones import format_time, reader_zone


def init_app(app):
    app.jinja_env.filters["datetime"] = format_datetime
    app.jinja_env.filters["isotime"] = iso_time
    app.jinja_env.filters["humansize"] = human_size
    app.jinja_env.filters["message_html"] = message_html
    app.jinja_env.filters["excerpt"] = excerpt
    app.jinja_env.filters["author_name"] = author_name
    app.jinja_env.filters["initials"] = initials
    app.jinja_env.globals.update(
        INTERNAL=INTERNAL, CLIENT=CLIENT, TITLE_MAX=TITLE_MAX, FORMER_USER=FORMER_USER
    )
    app.context_processor(brand)
    app.add_url_rule("/brand.css", "brand_css", brand_css)
    app.add_url_rule("/brand/logo/<version>.png", "brand_logo", brand_logo)
    app.jinja_env.filters["group_classes"] = group_in_reader_zone
    app.jinja_env.filters["avatar_colour"] = avatar_colour
    app.jinja_env.filters["day_label"] = day_in_reader_zone
    app.jinja_env.filters["file_kind"] = file_kind
    app.jinja_env.globals.update(unread_by_room=unread_by_room, UNREAD_CAP=UNREAD_CAP)
    app.jinja_env.filters["unread_label"] = unread_label
    app.jinja_env.globals["url_for"] = template_url_for
    app.jinja_env.globals["changes_cursor"] = settled_cursor
    app.jinja_env.globals["login_links_offered"] = login_links.offered
    app.extensions["template_urls"] = {}


def template_url_for(endpoint, **values):
    """`url_for` for templates, remembering the URLs that take no arguments and those of
    static files (a page links a dozen: building each through the URL map cost more than
    the page's own links).

    Such a URL depends only on the endpoint (a relative one on the blueprint), the file
    name and where the app is mounted; the names are the templates' literals, so the memo
    stays small. Anything else (ids, anchors, `_external`) goes to `url_for` as before."""
    if (values and (endpoint != "static" or values.keys() != {"filename"})) or (
        not has_request_context()
    ):
        return url_for(endpoint, **values)
    blueprint = request.blueprint if endpoint.startswith(".") else None
    key = (request.script_root, blueprint, endpoint, values.get("filename"))
    known = current_app.extensions["template_urls"]
    found = known.get(key)
    if found is None:
        found = known[key] = url_for(endpoint, **values)
    return found


def brand():
    """The firm's name and colours, for page titles, headers, the stylesheet and emails."""
    accent, sidebar = brand_accent(), settings.value("PORTAL_SIDEBAR")
    logo = settings.value(settings.LOGO_VERSION)
    return {
        "portal_name": settings.value("PORTAL_NAME"),
        "portal_accent": accent,
        "portal_sidebar": sidebar,
        # Relative: pages use it as it is, emails after their base_url.
        "portal_logo": f"/brand/logo/{logo}.png" if logo else None,
        # The stylesheet's URL changes with the colours: browsers see a change at once.
        "brand_version": f"{accent[1:]}-{sidebar[1:]}",
    }


def brand_accent():
    return settings.value("PORTAL_ACCENT")


def brand_css():
    """The brand colours as a stylesheet (no inline styles under the CSP)."""
    accent, sidebar = brand_accent(), settings.value("PORTAL_SIDEBAR")
    css = (
        f":root {{ --accent: {accent}; --accent-ink: {settings.ink_on(accent)}; "
        f"--sidebar: {sidebar}; --sidebar-ink: {settings.ink_on(sidebar)}; }}\n"
    )
    return css, 200, {"Content-Type": "text/css; charset=utf-8", "Cache-Control": "max-age=300"}


def brand_logo(version):
    """The logo, public like the stylesheet (the login page and emails show it); its URL
    names its version, so it is cached for good."""
    png = settings.logo_png() if version == settings.value(settings.LOGO_VERSION) else None
    if png is None:
        abort(404)
    headers = {
        "Content-Type": "image/png",
        "Cache-Control": "public, max-age=31536000, immutable",
        "X-Content-Type-Options": "nosniff",
    }
    return png, 200, headers


def format_datetime(value, zone=None):
    """The time in `zone`, else the logged-in reader's zone (pages without JS), else UTC."""
    if zone is None:
        zone = reader_zone()
    return format_time(value, zone)


def group_in_reader_zone(message, previous=None, first=False):
    """Grouping marks with days as they fall for the reader (pages without JavaScript)."""
    return group_classes(message, previous, first, zone=reader_zone())


def day_in_reader_zone(value):
    return day_label(value, zone=reader_zone())


def iso_time(value):
    return value.astimezone(UTC).isoformat(timespec="seconds") if value else ""
