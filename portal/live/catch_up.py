"""Event ids and the stream's own catch-up after a reconnect (`Last-Event-ID`).

An event's id is the newest message id its stream has told of (a stream whose first event
is not a message starts from the newest message id then; its connect asks nothing): a reconnecting
EventSource sends it back as `Last-Event-ID`, and the stream first replays the messages
after it in the rooms the user may see now, as the live events would have carried them.
Pages still catch up on their own with `?after=` (a page may have opened after the
stream, or missed more than the replay holds); both paths add a message once.
"""

import functools

from flask_sse import Message as SSEMessage
from sqlalchemy import bindparam, func, select

from portal.access import prepared
from portal.extensions import db
from portal.live.inbox import Event
from portal.messaging.fragments import message_fragment
from portal.models import Message, Room

#: At most this many messages are replayed; past it the pages' `?after=` does the rest.
REPLAY_LIMIT = 100


def last_event_id(header):
    """The id a reconnecting EventSource sent back, or None (absent, or not ours)."""
    header = (header or "").strip()
    if header.isascii() and header.isdigit() and len(header) < 19:
        return int(header)
    return None


@functools.cache
def _newest_statement():
    return select(func.max(Message.id))


def newest_message_id():
    """Where a new stream's ids start: everything before is the page's own catch-up."""
    return db.session.scalar(_newest_statement()) or 0


@prepared
def _replay_statement(_viewer, visible):
    rooms = visible.with_only_columns(Room.id).scalar_subquery()
    return (
        select(Message)
        .where(Message.id > bindparam("after"), Message.room_id.in_(rooms))
        .order_by(Message.id)
        .limit(bindparam("limit"))
    )


def replay(user, after):
    """[Event] for the messages after `after` that `user` may see now, oldest first."""
    statement = _replay_statement(user)
    params = {"viewer_id": user.id, "after": after, "limit": REPLAY_LIMIT}
    events = []
    for message in db.session.scalars(statement, params):
        data = {"room_id": message.room_id, "message_id": message.id}
        data["html"] = str(message_fragment(message))
        events.append(Event(SSEMessage(data, type="message")))
        if message.author_id != user.id:
            unread = {"room_id": message.room_id, "increment": 1}
            events.append(Event(SSEMessage(unread, type="unread")))
    return events


def with_id(event, last_id):
    """The event's text with its `id:` line, and the stream's new last id."""
    if event.type == "message":
        last_id = max(last_id or 0, event.data.get("message_id") or 0)
    return f"id: {last_id}\n{event.text}", last_id
