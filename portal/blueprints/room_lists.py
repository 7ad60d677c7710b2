"""The room list pages (`GET /app/rooms`, `GET /portal/rooms`): one page of rooms, with 304s.

`?page=N` (from 1) pages through the rooms, ROOM_LIST_PAGE at a time, newest activity
first. The page's ETag covers every value it shows (see portal/web/etags.py), so the
live refresh that follows each new message costs a few indexed queries and no render
when nothing the viewer sees changed.
"""

from flask import render_template, request
from flask_login import current_user

from portal.blueprints.room_view import SHOWN_BRAND
from portal.infra import settings
from portal.messaging.reading import unread_by_room
from portal.messaging.rooms import room_list
from portal.web.etags import conditional

#: Highest page number taken from the query string (past it: the last page's emptiness).
MAX_PAGE = 10_000


def page_number():
    """`?page=` as a page number from 1; anything odd (or missing) is page 1."""
    value = request.args.get("page", "")
    if not (value.isascii() and value.isdigit()) or len(value) > 5:
        return 1
    return min(max(int(value), 1), MAX_PAGE)


def render_room_list(template, archived_last=False):
    """Render (or answer 304 for) one page of the viewer's room list with `template`."""
    page = page_number()
    summaries, more = room_list(current_user, page, archived_last=archived_last)
    unread = sorted(unread_by_room(current_user).items())
    viewer = current_user._get_current_object()
    shown = (viewer.name, viewer.kind, viewer.is_admin, getattr(viewer, "time_zone", None))
    brand = [settings.value(name) for name in SHOWN_BRAND]
    parts = (template, page, more, unread, [s.key() for s in summaries], shown, brand)
    return conditional(
        parts,
        lambda: render_template(template, summaries=summaries, page=page, more=more),
    )
