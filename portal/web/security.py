"""Security headers on every response, and the per-request nonce for our one inline style.

The Content-Security-Policy allows scripts only from our own origin (no inline scripts,
no eval — htmx runs with `allowEval: false`), so markup that slipped past escaping still
could not run. Responses that set their own policy (file downloads) keep it.
"""

import secrets

from flask import g, request, session

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


_POLICY = (
    "default-src 'self'; script-src 'self'; "
    "{style}; img-src 'self' data:; connect-src 'self'; font-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
#: The policy of every response that uses no nonce (most of them), built once.
POLICY = _POLICY.format(style="style-src 'self'")

#: Endpoints whose response empties the browser's cache of our pages (see web/etags.py).
CLEAR_CACHE_ENDPOINTS = frozenset({"auth.logout"})


def content_security_policy():
    if "csp_nonce" in g:
        return _POLICY.format(style=f"style-src 'self' 'nonce-{g.csp_nonce}'")
    return POLICY


def _add_headers(response):
    headers = response.headers
    # The names set already, read once (a missed lookup in Werkzeug's Headers raises and
    # catches an exception: `setdefault` per header cost more than the headers).
    present = {name.lower() for name, _value in headers.items()}
    for name, value in HEADERS.items():
        if name.lower() not in present:
            headers.add(name, value)
    if "content-security-policy" not in present:
        headers.add("Content-Security-Policy", content_security_policy())
    if "cache-control" not in present and session.get("sid"):
        # Pages for a logged-in user stay out of every cache (shared or the browser's);
        # the room lists opt in to `private, no-cache` with an ETag (web/etags.py).
        headers["Cache-Control"] = "no-store"
    if request.endpoint in CLEAR_CACHE_ENDPOINTS:
        headers["Clear-Site-Data"] = '"cache"'
    return response
