"""Conditional GET for logged-in pages: a weak ETag over what the page shows, and 304s.

`conditional(parts, render)` hashes `parts` — every value the page shows, computed cheaply
(Core rows, counts) — together with who is asking and how the page is built, and answers
`304 Not Modified` when the browser's `If-None-Match` carries the same tag; otherwise it
calls `render()` and tags the response. The expensive part of a page (the template) is
skipped, the queries that decide what it shows are not.

What goes into every tag, besides `parts`:
- the viewer (id, name, kind, admin, time zone) and this login's session id and CSRF
  secret: a tag is never valid for another user or another login, and a page replayed
  from the browser's cache carries a CSRF token that still works;
- the release (every template file's name, size and modification time) and the brand
  settings, so a deploy that changes the markup changes every tag.

Not tagged (rendered and sent with `no-store` as before): a page with flashed messages
waiting (they show once), and pages that use a CSP nonce (the 304's header would carry a
new nonce the cached body doesn't have) — don't call `conditional` for those.

Cache policy of a tagged page: `Cache-Control: private, no-cache` — only the browser may
keep it, and it must ask us (If-None-Match) before every reuse, so it never shows a stale
list; logout answers `Clear-Site-Data: "cache"` so nothing stays behind in the browser.
"""

import hashlib
import os

from flask import current_app, make_response, request, session
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

CACHE_CONTROL = "private, no-cache"


def conditional(parts, render):
    """A 304 when the browser's copy is current, else `render()` tagged with a weak ETag."""
    if "_flashes" in session:
        return make_response(render())  # flashes show once: never replay this page
    tag = etag(parts)
    if tag in _if_none_match():
        response = current_app.response_class(status=304)
    else:
        response = make_response(render())
    response.headers["ETag"] = f'W/"{tag}"'
    response.headers["Cache-Control"] = CACHE_CONTROL
    return response


def etag(parts):
    """The tag (hex) of `parts` for this viewer, this login and this release."""
    generate_csrf()  # the page will carry this login's CSRF token: make sure it exists
    user = current_user._get_current_object()
    viewer = (user.id, user.name, user.kind, user.is_admin, getattr(user, "time_zone", None))
    login = (session.get("sid"), session.get("csrf_token"))
    digest = hashlib.blake2b(digest_size=16)
    digest.update(repr((release(), viewer, login, parts)).encode())
    return digest.hexdigest()


def _if_none_match():
    """The entity tags in If-None-Match, weak or strong alike (as the weak comparison does)."""
    return {value.strip().removeprefix("W/").strip('"') for value in _header_values()}


def _header_values():
    header = request.headers.get("If-None-Match", "")
    return header.split(",") if header else []


def release():
    """This deploy's markup and brand, as a short string (computed once per process)."""
    cached = current_app.extensions.get("portal_release")
    if cached is None:
        cached = current_app.extensions["portal_release"] = _release(current_app)
    return cached


def _release(app):
    digest = hashlib.blake2b(digest_size=8)
    digest.update(repr((app.config["PORTAL_NAME"], app.config["PORTAL_ACCENT"])).encode())
    root = os.path.join(app.root_path, app.template_folder)
    for folder, _dirs, files in sorted(os.walk(root)):
        for name in sorted(files):
            stat = os.stat(os.path.join(folder, name))
            digest.update(f"{folder}/{name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()
