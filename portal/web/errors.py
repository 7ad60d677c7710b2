"""Error pages in the product's words (and short text for htmx requests)."""

from flask import render_template, request
from flask_wtf.csrf import CSRFError

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
}


def init_app(app):
    for status in MESSAGES:
        app.register_error_handler(status, _render)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(413, _too_large)


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
