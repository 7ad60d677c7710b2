"""Security headers on every response, the per-request nonce for our one inline style, and
which proxies' forwarded headers are believed.

The Content-Security-Policy allows scripts only from our own origin (no inline scripts,
no eval — htmx runs with `allowEval: false`), so markup that slipped past escaping still
could not run. Responses that set their own policy (file downloads) keep it.
"""

import ipaddress
import secrets

from flask import g, request, session
from werkzeug.middleware.proxy_fix import ProxyFix

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


def trust_proxies(app):
    """Behind TRUSTED_PROXIES proxies, take the client's address and scheme from their
    X-Forwarded-For/-Proto — but only on requests that came through them.

    Anyone who reaches the web port directly could otherwise send any X-Forwarded-For
    and pose as a new address at every login attempt (dodging the per-address limits).
    A request is proxied when the peer, and every hop the trusted proxies appended before
    it, is in TRUSTED_PROXY_IPS; any other request keeps its own peer address.
    """
    hops = app.config["TRUSTED_PROXIES"]
    if hops:
        networks = proxy_networks(app.config["TRUSTED_PROXY_IPS"])
        app.wsgi_app = TrustedProxyFix(app.wsgi_app, hops, networks)


def proxy_networks(setting):
    """The networks of TRUSTED_PROXY_IPS ("127.0.0.1, ::1, 10.0.0.0/8"); ValueError if bad."""
    networks = []
    for entry in (part.strip() for part in setting.split(",")):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(
                f"TRUSTED_PROXY_IPS: {entry!r} is not an IP address or network"
            ) from None
    return tuple(networks)


class TrustedProxyFix:
    """Werkzeug's ProxyFix for requests from the trusted proxies; the bare app otherwise."""

    def __init__(self, wsgi_app, hops, networks):
        self.direct = wsgi_app
        self.proxied = ProxyFix(wsgi_app, x_for=hops, x_proto=hops)
        self.hops, self.networks = hops, networks

    def __call__(self, environ, start_response):
        if self.through_proxies(environ):
            return self.proxied(environ, start_response)
        return self.direct(environ, start_response)

    def through_proxies(self, environ):
        forwarded = [
            part.strip()
            for part in environ.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        # The peer is the last proxy; the hops-1 entries nearest the end are the others.
        proxies = [environ.get("REMOTE_ADDR", "")] + forwarded[::-1][: self.hops - 1]
        return len(proxies) == self.hops and all(self.trusted(a) for a in proxies)

    def trusted(self, address):
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.networks)
