"""Odd input refused at the door: ids in range, ASCII digits only, no NUL characters.

Python's `int()` and `str.isdigit()` accept digits like "²" or "٣", SQLite's integers stop
at 2⁶³ and PostgreSQL's at 2³¹, and PostgreSQL refuses text containing NUL: any of these
reaching a query would be a 500. Requests carrying them get a 400 or 404 page instead.
"""

from flask import abort, current_app, request, session
from werkzeug.routing import IntegerConverter

from portal.people.branding import LOGO_MAX_BYTES

#: Largest id any table can hold on every database (PostgreSQL INTEGER).
MAX_ID = 2**31 - 1


def parse_id(value):
    """`value` as an id when it is plain ASCII digits within range, else None."""
    value = (value or "").strip()
    if not value or len(value) > 10 or not (value.isascii() and value.isdigit()):
        return None
    number = int(value)
    return number if number <= MAX_ID else None


def coerce_id(value):
    """For form fields: an id, or ValueError (the form then shows a validation error)."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_ID:
        return value
    number = parse_id(str(value))
    if number is None:
        raise ValueError("not an id")
    return number


class IdConverter(IntegerConverter):
    """`<int:…>` in routes: ASCII digits up to MAX_ID; anything else is a 404."""

    regex = r"[0-9]{1,10}"

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


#: Endpoints that take file uploads: only they accept MAX_CONTENT_LENGTH.
UPLOAD_ENDPOINTS = {"workspace.send", "client.send"}
#: Endpoints reading a raw (non-form) body, with the setting that limits it.
RAW_BODY_ENDPOINTS = {"inbound.inbound_email": "INBOUND_MAX_BYTES"}
#: Forms with one small file, and their body limit: room for the file past its own limit,
#: so a slightly larger one gets the form's error (everything else kept), not a 413.
SMALL_FILE_ENDPOINTS = {"settings.client_portal": 2 * LOGO_MAX_BYTES}


def init_app(app):
    app.url_map.converters["int"] = IdConverter
    # Before any other before_request (CSRF, limits) reads the body.
    app.before_request(limit_body)
    app.before_request(refuse_nul)


def limit_body():
    """Per-route body limits: uploads get MAX_CONTENT_LENGTH, other forms far less, and
    requests without a login session (the anonymous pages) only a few kilobytes."""
    if request.endpoint in UPLOAD_ENDPOINTS:
        return
    config = current_app.config
    if request.endpoint in RAW_BODY_ENDPOINTS:
        request.max_content_length = config[RAW_BODY_ENDPOINTS[request.endpoint]]
        return
    if request.endpoint in SMALL_FILE_ENDPOINTS and session.get("sid"):
        request.max_content_length = SMALL_FILE_ENDPOINTS[request.endpoint]
        return
    if session.get("sid"):
        request.max_content_length = config["FORM_MAX_BODY_KB"] * 1024
    else:
        request.max_content_length = config["ANONYMOUS_MAX_BODY_KB"] * 1024


def refuse_nul():
    """400 for a NUL character anywhere in the path, query string or form fields."""
    if "\x00" in request.path or "%00" in request.query_string.decode("latin-1"):
        abort(400)
    if request.endpoint in RAW_BODY_ENDPOINTS:
        return  # the view reads the body itself; parsing it as a form would consume it
    for values in (request.args, request.form):
        for key, value in values.items(multi=True):
            if "\x00" in key or "\x00" in value:
                abort(400)
    for upload in request.files.values():
        if "\x00" in (upload.filename or ""):
            abort(400)
