"""What the pages behind emailed links share: private headers and one 'invalid link' page."""

from functools import wraps

from flask import make_response, render_template


def token_page(view):
    """Keep the token out of Referer headers and caches."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        response = make_response(view(*args, **kwargs))
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"
        return response

    return wrapped


def invalid_link():
    """One page for used, expired, superseded and tampered links alike."""
    return render_template("auth/invalid_link.html"), 404
