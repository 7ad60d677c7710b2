"""Weak ETags for logged-in pages and fragments, and the 304 that answers a match.

A page's ETag is a keyed hash (SECRET_KEY) of everything it shows, given as cheap
values the view reads anyway (ids, edit and delete times, read markers, unread counts),
plus the viewer: their user id, login session, CSRF secret and time zone, so one user's
copy never validates for another. `BUILD` (a hash of the code, templates and static files)
changes the tags of every page when a deploy changes what a page looks like.

A page with a flash waiting is never tagged (the flash shows once; a 304 would replay
it): `page_etag` gives None and the page renders as usual.

Such responses are `Cache-Control: private, no-cache`: only the browser may keep them
and it must ask before each use; a 304 has no body. The CSP nonce of the page rides in
its tag (see `not_modified`), so the stored page and a 304's headers agree on it.
"""

import hashlib
import hmac
from pathlib import Path

from flask import current_app, g, make_response, request, session
from flask_wtf.csrf import generate_csrf

CACHE_CONTROL = "private, no-cache"


def _build_id():
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.blake2b(digest_size=8)
    for path in sorted(root.rglob("*")):
        if path.suffix in {".py", ".html", ".js", ".css"}:
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


BUILD = _build_id()


def conditional(parts, render):
    """A 304 when the browser's copy of the page made of `parts` is current, else
    `render()` (a string) answered with its tag."""
    digest = page_etag(*parts)
    unchanged = not_modified(digest)
    if unchanged is not None:
        return unchanged
    return validated(make_response(render()), digest)


def page_etag(*parts):
    """The weak validator of a response built from `parts`, for this viewer and build
    (None while a flash waits: such a page is never tagged)."""
    if "_flashes" in session:
        return None
    if "csrf_token" not in session:
        # The page carries this login's CSRF token: make sure it exists, so it is in the
        # tag (once there, signing a token here would be wasted on a 304).
        generate_csrf()
    viewer = (
        BUILD,
        request.full_path,
        session.get("_user_id"),
        session.get("sid"),
        session.get("csrf_token"),
    )
    return _keyed(repr((viewer, parts)))[:32]


def _keyed(text):
    key = current_app.config["SECRET_KEY"]
    key = key.encode() if isinstance(key, str) else key
    return hmac.new(key, text.encode(), hashlib.blake2b).hexdigest()


def not_modified(digest):
    """A 304 when the request's If-None-Match holds a tag of `digest` and nothing is
    flashed (a flash shows once, in a rendered page); else None.

    A page's tag carries the CSP nonce its body was rendered with (and a MAC over both):
    the 304 repeats that nonce in its policy, since a browser takes the 304's headers
    into the copy it keeps. Every rendered page still gets a fresh nonce."""
    if digest is None:
        return None
    for tag in request.if_none_match.as_set(include_weak=True):
        found, nonce = _parse(tag)
        if found == digest:
            if nonce:
                g.csp_nonce = nonce
            return validated(make_response("", 304), digest)
    return None


def validated(response, digest):
    """`response` with the tag of `digest` and the revalidate-every-time policy (as it is
    when `digest` is None)."""
    if digest is None:
        return response
    nonce = g.get("csp_nonce")
    tag = f"{digest}.{nonce}.{_keyed(f'{digest}.{nonce}')[:12]}" if nonce else digest
    response.set_etag(tag, weak=True)
    response.headers["Cache-Control"] = CACHE_CONTROL
    return response


def _parse(tag):
    """(digest, nonce or None) of a tag we made; (None, None) for anything else."""
    digest, _, rest = tag.partition(".")
    if not rest:
        return digest, None
    nonce, _, mac = rest.partition(".")
    if nonce.isascii() and hmac.compare_digest(mac, _keyed(f"{digest}.{nonce}")[:12]):
        return digest, nonce
    return None, None
