"""Notification emails, built from a NotificationLog row and what is still unread now."""

from itertools import groupby

from sqlalchemy.orm import selectinload

from portal.extensions import db
from portal.messaging.rendering import author_name
from portal.models import Message, Participant, Room, User
from portal.models.base import one_line
from portal.notify.preferences import unsubscribe_token
from portal.notify.recipients import may_email, unread
from portal.notify.replies import reply_headers
from portal.people.links import absolute_url
from portal.people.users import side_of

CLIENT_NOTIFICATION = "client_notification"
REMINDER = "reminder"
MAX_LISTED = 20


class RoomDigest:
    """One room's part of an email: the room, its link and the messages to list."""

    def __init__(self, room, url, messages):
        self.room, self.url = room, url
        self.messages = messages[:MAX_LISTED]
        self.more = len(messages) - len(self.messages)


def room_url(user, room_id):
    """The room's page for this user: the client portal or the workspace."""
    return absolute_url(f"{side_of(user).prefix}/rooms/{room_id}")


def build_email_for(row):
    """`send_email` arguments for the row, or None when nothing it covers is still unread."""
    user = db.session.get(User, row.user_id)
    if user is None or not may_email(user):
        return None
    if row.kind == CLIENT_NOTIFICATION and row.room_id is None:
        return None
    conditions = [
        Participant.user_id == user.id,
        Message.id.between(row.first_message_id, row.last_message_id),
    ]
    if row.kind == CLIENT_NOTIFICATION:
        conditions.append(Participant.room_id == row.room_id)
    query = (
        unread((Message,), *conditions)
        .options(
            selectinload(Message.author),
            selectinload(Message.attachments),
            selectinload(Message.room),
        )
        .order_by(Message.room_id, Message.id)
    )
    messages = list(db.session.scalars(query))
    if not messages:
        return None
    digests = [
        RoomDigest(room_messages[0].room, room_url(user, room_id), room_messages)
        for room_id, group in groupby(messages, key=lambda m: m.room_id)
        for room_messages in [list(group)]
    ]
    digests.sort(key=lambda d: d.messages[-1].id, reverse=True)
    unsubscribe_url = absolute_url(f"/unsubscribe/{unsubscribe_token(user)}")
    return {
        "to": user.email,
        "subject": _subject(row.kind, digests, len(messages)),
        "template": row.kind,
        "headers": {
            "List-Unsubscribe": f"<{unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Auto-Submitted": "auto-generated",
            "X-Portal-Notification": row.kind,
            **reply_headers(user, digests),
        },
        "recipient_name": one_line(user.name),
        "rooms": digests,
        "total": len(messages),
        "unsubscribe_url": unsubscribe_url,
        "preferences_url": absolute_url("/preferences/notifications"),
    }


def _subject(kind, digests, total):
    plural = "s" if total != 1 else ""
    if kind == CLIENT_NOTIFICATION:
        digest = digests[0]
        senders = _names(digest.messages)
        return f"New message{plural} from {senders} in “{_title(digest.room)}”"
    where = f"“{_title(digests[0].room)}”" if len(digests) == 1 else f"{len(digests)} conversations"
    return f"Reminder: {total} unread message{plural} in {where}"


def _names(messages):
    names = list(dict.fromkeys(sender_name(m) for m in messages))
    if len(names) <= 2:
        return " and ".join(names)
    return f"{names[0]}, {names[1]} and {len(names) - 2} more"


def sender_name(message):
    return one_line(author_name(message))


def _title(room: Room):
    # Header-safe: no line breaks can reach a header from a name or title.
    return one_line(room.title)
