"""The message fragment, rendered once per process and reused while its inputs stay equal.

`rooms/_message.html` depends only on the fields in `_key`, among them the reader's time
zone (times show in it for pages without JavaScript). Pages, catch-up fragments and live
events all go through here, so a message is rendered once per zone, not once per page
view (rendering dominated a room page's CPU).
"""

import contextlib
from collections import OrderedDict

from flask import current_app, render_template
from markupsafe import Markup

from portal.models.base import utcnow
from portal.web.templating import (  # the zone `| datetime` renders in
    _reader_zone,
    day_in_reader_zone,
    group_in_reader_zone,
)

#: Fragments kept per process (a few KiB each).
CACHE_SIZE = 4000


def init_app(app):
    app.extensions["message_fragments"] = OrderedDict()
    app.jinja_env.globals["message_fragment"] = message_fragment


def _key(message, group):
    author = message.author
    return (
        group,
        # "Today" / "Yesterday" in the day separator move with the calendar.
        day_in_reader_zone(utcnow()),
        message.id,
        message.created_at,
        message.edited_at,
        message.deleted_at,
        message.room_id,
        message.body,
        _mentions(message),
        message.author_id,
        author.name if author is not None else None,
        tuple(
            (a.id, a.filename, a.is_image, a.width, a.height, a.size) for a in message.attachments
        ),
        str(_reader_zone()),
    )


def _mentions(message):
    """Who the text mentions; without an "@" there is none to load."""
    if "@" not in (message.body or ""):
        return ()
    return tuple(sorted((m.user_id, m.name) for m in message.mentions))


def message_fragment(message, previous=None, first=False):
    """The `_message.html` fragment of `message` (Markup), from the cache when unchanged.

    `previous` and `first` place it in a page (grouping classes); a lone fragment has none.
    """
    cache = current_app.extensions["message_fragments"]
    group = group_in_reader_zone(message, previous, first)
    key = _key(message, group)
    html = cache.get(key)
    if html is not None:
        with contextlib.suppress(KeyError):  # evicted meanwhile by another thread
            cache.move_to_end(key)
        return html
    # Autoescaped template output: already safe HTML.
    html = Markup(  # noqa: S704
        render_template("rooms/_message.html", message=message, previous=previous, first=first)
    )
    cache[key] = html
    if len(cache) > CACHE_SIZE:
        with contextlib.suppress(KeyError):
            cache.popitem(last=False)
    return html
