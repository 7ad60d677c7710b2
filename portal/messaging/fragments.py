"""The message fragment, rendered once per process and reused while its inputs stay equal.

`rooms/_message.html` depends only on the fields in `_key`, among them the reader's time
zone (times show in it for pages without JavaScript). Pages, catch-up fragments and live
events all go through here, so a message is rendered once per zone, not once per page
view (rendering dominated a room page's CPU).

A message's files and mentions are fixed when it is posted and change only with an edit
(`edited_at`) or a delete (`deleted_at`), so the key names those instead of the rows:
a page can build keys from plain rows (`messages.message_rows`) and load the ORM
message with its files and mentions only for the fragments it must render.
"""

import contextlib
from collections import OrderedDict

from flask import current_app, render_template
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.extensions import db
from portal.messaging.grouping import day_label, group_classes, initials, page_group_classes
from portal.models import Message
from portal.models.base import utcnow
from portal.people.time_zones import reader_zone  # the zone `| datetime` renders in

#: Fragments kept per process (a few KiB each).
CACHE_SIZE = 4000

DIVIDER = Markup('<li class="unread-divider" id="new-messages"><span>New messages</span></li>')


def init_app(app):
    app.extensions["message_fragments"] = OrderedDict()
    app.jinja_env.globals["message_fragment"] = message_fragment
    app.jinja_env.globals["message_list"] = message_list


def _key(message, group, today, zone, author_name):
    return (
        group,
        today,  # "Today" / "Yesterday" in the day separator move with the calendar
        message.id,
        message.created_at,
        message.edited_at,
        message.deleted_at,
        message.room_id,
        message.body,
        message.author_id,
        author_name,
        zone,
    )


def _orm_key(message, group, today, zone):
    author = message.author
    return _key(message, group, today, zone, author.name if author is not None else None)


def _zone_and_today():
    zone = reader_zone()
    return zone, day_label(utcnow(), zone=zone)


def message_fragment(message, previous=None, first=False):
    """The `_message.html` fragment of `message` (Markup), from the cache when unchanged.

    `previous` and `first` place it in a page (grouping classes); a lone fragment has none.
    """
    zone, today = _zone_and_today()
    key = _orm_key(message, group_classes(message, previous, first, zone=zone), today, str(zone))
    return _cached(key) or _render(key, message, previous, first)


def message_list(rows, first_unread_id=None, seen=None):
    """The `<li>`s of a page of messages (rows or ORM messages, in id order): fragments,
    the "New messages" divider before `first_unread_id`, and "Seen" markers from `seen`
    ({message id: [readers]}). Only fragments missing from the cache load ORM messages."""
    zone, today = _zone_and_today()
    zone_name, keys = str(zone), []
    for row, group in zip(rows, page_group_classes(rows, zone), strict=True):
        if isinstance(row, Message):
            keys.append(_orm_key(row, group, today, zone_name))
        else:
            keys.append(_key(row, group, today, zone_name, row.author_name))
    cache = current_app.extensions["message_fragments"]
    html = [_cached(key, cache) for key in keys]
    missing = [n for n, fragment in enumerate(html) if fragment is None]
    if missing:
        loaded = _load([rows[n] for n in missing])
        for n in missing:
            previous = loaded.get(rows[n - 1].id, rows[n - 1]) if n else None
            html[n] = _render(keys[n], loaded[rows[n].id], previous, n == 0)
    parts = []
    for row, fragment in zip(rows, html, strict=True):
        if row.id == first_unread_id:
            parts.append(DIVIDER)
        parts.append(fragment)
        if seen and row.id in seen:
            parts.append(seen_marker(row.id, seen[row.id]))
    # Every part is already safe HTML (Markup): joined as text, not escaped again.
    return Markup("".join(parts))  # noqa: S704


def seen_marker(message_id, readers):
    """A "Seen by" line under a message (staff: initials of each reader; a client: "Seen").
    Viewer-specific, so never inside the cached fragment."""
    if not readers:
        label = Markup("Seen")
    else:
        label = Markup("Seen by ") + Markup(" ").join(
            Markup('<abbr data-user-id="{}" title="{}">{}</abbr>').format(
                user.id, user.name, initials(user.name)
            )
            for user in readers
        )
    return Markup('<li class="seen-by" data-seen-for="{}">{}</li>').format(message_id, label)


def _load(rows):
    """{id: Message} with author, files and mentions, for rows (ORM messages pass through)."""
    found = {row.id: row for row in rows if isinstance(row, Message)}
    ids = [row.id for row in rows if row.id not in found]
    if ids:
        query = (
            select(Message)
            .where(Message.id.in_(ids))
            .options(
                selectinload(Message.author),
                selectinload(Message.attachments),
                selectinload(Message.mentions),
            )
        )
        found.update((message.id, message) for message in db.session.scalars(query))
    return found


def _cached(key, cache=None):
    if cache is None:
        cache = current_app.extensions["message_fragments"]
    html = cache.get(key)
    if html is not None:
        with contextlib.suppress(KeyError):  # evicted meanwhile by another thread
            cache.move_to_end(key)
    return html


def _render(key, message, previous, first):
    cache = current_app.extensions["message_fragments"]
    # Autoescaped template output: already safe HTML.
    html = Markup(  # noqa: S704
        render_template("rooms/_message.html", message=message, previous=previous, first=first)
    )
    cache[key] = html
    if len(cache) > CACHE_SIZE:
        with contextlib.suppress(KeyError):
            cache.popitem(last=False)
    return html
