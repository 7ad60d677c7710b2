"""Security headers on every response, and the per-request nonce for our one inline style.

The Content-Security-Policy allows scripts only from our own origin (no inline scripts,
no eval — htmx runs with `allowEval: false`), so markup that slipped past escaping still
could not run. Responses that set their own policy (file downloads) keep it.
"""

import secrets

from flask import g, session

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def init_app(app):
    app.after_request(_add_headers)
    app.context_processor(lambda: {"csp_nonce": csp_nonce})


def csp_nonce():
    """This request's nonce for inline <style> elements."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def content_security_policy():
    style = "style-src 'self'"
    if "csp_nonce" in g:
        style += f" 'nonce-{g.csp_nonce}'"
    return (
        "default-src 'self'; script-src 'self'; "
        f"{style}; img-src 'self' data:; connect-src 'self'; font-src 'self'; "
        "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )


def _add_headers(response):
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    response.headers.setdefault("Content-Security-Policy", content_security_policy())
    if "Cache-Control" not in response.headers and session.get("sid"):
        # Pages for a logged-in user stay out of every cache (shared or the browser's).
        response.headers["Cache-Control"] = "no-store"
    return response
