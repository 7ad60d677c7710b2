"""Error pages in the product's words (and short text for htmx requests)."""

import logging

from flask import current_app, g, render_template, request
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from sqlalchemy import exc as db_errors

from portal.extensions import db, login_manager
from portal.messaging.uploads import limits_text
from portal.web.inputs import UPLOAD_ENDPOINTS

MESSAGES = {
    400: ("Something was wrong with that request", "Please go back and try again."),
    403: ("Not allowed", "You don't have permission to do that."),
    404: ("Not found", "There is nothing here, or you don't have access to it."),
    405: ("Not allowed", "That action isn't available here."),
    413: ("Too large", "That upload is larger than allowed. Nothing was sent."),
    429: (
        "Too many attempts",
        "Too many attempts in a short time. Please wait a few minutes and try again.",
    ),
    503: (
        "Temporarily unavailable",
        "The portal cannot reach its database just now. Please try again in a minute; "
        "everything saved before is safe.",
    ),
}

#: What a request that changed something hears while the database is unreachable.
NOT_SAVED = (
    "The portal cannot reach its database just now, so this was not saved. Your text is kept: "
    "send it again in a minute."
)

#: The database unreachable (refused, timed out, dropped, an SQLite file that can't be
#: opened or read): a passing state that deserves a 503, unlike a bug in a statement.
UNAVAILABLE = (db_errors.OperationalError, db_errors.InterfaceError, db_errors.TimeoutError)

log = logging.getLogger(__name__)


def init_app(app):
    for status in MESSAGES:
        app.register_error_handler(status, _render)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(413, _too_large)
    app.register_error_handler(db_errors.DatabaseError, _database_error)
    app.register_error_handler(db_errors.TimeoutError, _database_error)


def _render(error, status=None, message=None):
    status = status or getattr(error, "code", 500)
    title, default = MESSAGES.get(status, ("Error", "Something went wrong."))
    # `abort(403, "why")` gives the refusal's reason in the product's words (werkzeug's own
    # descriptions, on other statuses, are technical: never shown).
    given = getattr(error, "description", None)
    if status == 403 and given and given != type(error).description:
        message = message or given
    message = message or default
    if request.headers.get("HX-Request"):
        return message, status
    return render_template("errors.html", title=title, message=message), status


def _csrf_error(error):
    return _render(
        error,
        400,
        "This form had expired or did not come from this site. Go back, reload the page "
        "and send it again — nothing was saved.",
    )


def _too_large(error):
    """413: say what the limits are, so the sender knows what will go through."""
    if request.endpoint not in UPLOAD_ENDPOINTS:
        return _render(error, 413, "That request is larger than allowed. Nothing was saved.")
    return _render(
        error, 413, f"That upload is larger than allowed. {limits_text()} Nothing was sent."
    )


def _database_error(error):
    """503 with Retry-After while the database is unreachable; any other error is a bug (500).

    `DatabaseError` itself (no subclass) is SQLite's "file is not a database": unreadable.
    """
    if not (isinstance(error, UNAVAILABLE) or type(error) is db_errors.DatabaseError):
        raise error
    log.warning("database unavailable: %s", str(error).splitlines()[0])
    try:
        db.session.rollback()
    except Exception:
        log.debug("rollback failed too", exc_info=True)
    changing = request.method not in ("GET", "HEAD", "OPTIONS")
    response = _unavailable_response(NOT_SAVED if changing else None)
    response.headers["Retry-After"] = str(current_app.config["UNAVAILABLE_RETRY_AFTER_SECONDS"])
    return response


def _unavailable_response(message):
    # Nobody can be looked up now: the page renders as for a visitor (Flask-Login's template
    # context would load the user again, from the database that is down).
    g._login_user = login_manager.anonymous_user()
    try:
        body, status = _render(None, 503, message)
    except Exception:
        # The page itself needed something that is down: the same words, without the layout.
        title, default = MESSAGES[503]
        text = escape(message or default)
        body, status = f"<!doctype html><title>{title}</title><h1>{title}</h1><p>{text}</p>", 503
    return current_app.make_response((body, status))
