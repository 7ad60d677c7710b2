"""Notification emails, built from a NotificationLog row and what is still unread now."""

from itertools import groupby
from urllib.parse import quote

from flask import current_app
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import selectinload

from portal.config import sender_domain
from portal.extensions import db
from portal.messaging.rendering import author_name
from portal.models import Message, NotificationLog, Participant, Room, User
from portal.models.base import one_line
from portal.notify.preferences import unsubscribe_token
from portal.notify.recipients import may_email, unread
from portal.notify.replies import reply_headers
from portal.people.links import absolute_url
from portal.people.time_zones import zone_for
from portal.sides import side_of

CLIENT_NOTIFICATION = "client_notification"
REMINDER = "reminder"
MENTION = "mention"
DAILY_RECAP = "daily_recap"
WEEKLY_RECAP = "weekly_recap"
RECAPS = {DAILY_RECAP: "daily", WEEKLY_RECAP: "weekly"}
# How many messages of one room an email quotes (the latest); the rest are "and N more".
LISTED = {CLIENT_NOTIFICATION: 20, REMINDER: 3, MENTION: 20}
# Earlier emails a thread names in References, and how far back to look for them.
THREAD_LENGTH, THREAD_LOOKBACK = 10, 200


class RoomDigest:
    """One room's part of an email: the room, its link, its count and the latest messages."""

    def __init__(self, room, url, messages, listed):
        self.room, self.url = room, url
        self.count = len(messages)
        self.messages = messages[-listed:]
        self.more = self.count - len(self.messages)


def room_url(user, room_id):
    """The room's page for this user: the client portal or the workspace."""
    return absolute_url(f"{side_of(user).prefix}/rooms/{room_id}")


def file_url(attachment):
    """The attachment's download page (it asks for a login); emails link it, never embed it."""
    return absolute_url(f"/files/{attachment.id}/{quote(attachment.filename)}")


def mail_domain():
    """The host part of our Message-IDs: the sender's domain (PORTAL_BASE_URL's host by default)."""
    return sender_domain(current_app.config)


def message_id(row):
    """The email's Message-ID: the same for every attempt at sending the row."""
    return f"<{row.kind}.{row.id}.{row.user_id}@{mail_domain()}>"


def room_headers(user, room):
    """Threading for an email about one room: the emails about it this user was really sent.

    In-Reply-To and References name only Message-IDs that went out (a made-up thread id is a
    reference to nothing, which spam filters count against us); the first email has none.
    """
    rows = db.session.scalars(
        select(NotificationLog)
        .where(NotificationLog.user_id == user.id, NotificationLog.status == "sent")
        .order_by(NotificationLog.id.desc())
        .limit(THREAD_LOOKBACK)
    )
    earlier = [message_id(r) for r in rows if _covers_room(r, room.id)][:THREAD_LENGTH]
    if not earlier:
        return {}
    return {"In-Reply-To": earlier[0], "References": " ".join(reversed(earlier))}


def _covers_room(row, room_id):
    if row.ranges:
        return str(room_id) in row.ranges
    return row.room_id == room_id


def notification_headers(kind, unsubscribe_url):
    """Headers of every notification email: RFC 8058 one-click unsubscribe, auto-generated."""
    return {
        "List-Unsubscribe": f"<{unsubscribe_url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "Auto-Submitted": "auto-generated",
        "X-Auto-Response-Suppress": "All",
        "X-Portal-Notification": kind,
    }


def _covered(row):
    """The SQL condition for the messages the row covers."""
    if row.ranges:
        return or_(
            *(
                and_(Participant.room_id == int(room_id), Message.id.between(first, last))
                for room_id, (first, last) in row.ranges.items()
            )
        )
    condition = Message.id.between(row.first_message_id, row.last_message_id)
    if row.room_id is not None:
        condition = and_(condition, Participant.room_id == row.room_id)
    return condition


def build_email_for(row):
    """`send_email` arguments for the row, or None when nothing it covers is still unread."""
    user = db.session.get(User, row.user_id)
    if user is None or not may_email(user):
        return None
    query = (
        unread(
            (Message,), Participant.user_id == user.id, _covered(row), mentions=row.kind == MENTION
        )
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
    listed = LISTED.get(row.kind, LISTED[REMINDER])
    digests = [
        RoomDigest(room_messages[0].room, room_url(user, room_id), room_messages, listed)
        for room_id, group in groupby(messages, key=lambda m: m.room_id)
        for room_messages in [list(group)]
    ]
    digests.sort(key=lambda d: d.messages[-1].id, reverse=True)
    unsubscribe_url = absolute_url(f"/unsubscribe/{unsubscribe_token(user)}")
    headers = notification_headers(row.kind, unsubscribe_url)
    zone = zone_for(user)
    if len(digests) == 1:
        headers.update(room_headers(user, digests[0].room))
    headers.update(reply_headers(user, digests, row.id))
    return {
        "to": user.email,
        "subject": _subject(row.kind, digests, len(messages)),
        "template": "recap" if row.kind in RECAPS else row.kind,
        "period": RECAPS.get(row.kind),
        "headers": headers,
        "answerable": "Reply-To" in headers,
        "message_id": message_id(row),
        "recipient_name": one_line(user.name),
        "rooms": digests,
        "total": len(messages),
        "zone": zone,
        "zone_name": getattr(zone, "key", "UTC"),
        "file_url": file_url,
        "unsubscribe_url": unsubscribe_url,
        "preferences_url": absolute_url("/preferences/notifications"),
    }


def _subject(kind, digests, total):
    plural = "s" if total != 1 else ""
    if kind == MENTION:
        return f"{_names(digests[0].messages)} mentioned you in “{_title(digests[0].room)}”"
    if kind == CLIENT_NOTIFICATION:
        if len(digests) > 1:
            return f"{total} new messages in {len(digests)} conversations"
        digest = digests[0]
        senders = _names(digest.messages)
        return f"New message{plural} from {senders} in “{_title(digest.room)}”"
    where = f"“{_title(digests[0].room)}”" if len(digests) == 1 else f"{len(digests)} conversations"
    if kind in RECAPS:
        return f"Your {RECAPS[kind]} recap: {total} unread message{plural} in {where}"
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
