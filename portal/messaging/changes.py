"""Verbs that change a posted message: edit (history kept) and delete (a tombstone)."""

from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select

from portal.events import message_changed
from portal.extensions import db
from portal.messaging.messages import MessageError, clean_body
from portal.messaging.uploads import discard
from portal.models import Message, MessageRevision
from portal.models.base import utcnow


def edit_message(message, editor, body, now=None):
    """Replace the text, keeping the previous one for audit; unchanged text changes nothing."""
    body = clean_body(body)
    if not body.strip() and not message.attachments:
        raise MessageError("A message can't be empty. Delete it instead.")
    if body == message.body:
        return message
    now = now or utcnow()
    db.session.add(
        MessageRevision(
            message_id=message.id,
            action="edit",
            actor_id=editor.id,
            previous_body=message.body,
            created_at=now,
        )
    )
    message.body, message.edited_at = body, now
    _after_body_change(message)
    db.session.commit()
    message_changed.send(current_app._get_current_object(), message=message)
    return message


def delete_message(message, actor, now=None):
    """Tombstone the message for everyone: text and files gone, who and when recorded."""
    now = now or utcnow()
    files = list(message.attachments)
    db.session.add(
        MessageRevision(
            message_id=message.id,
            action="delete",
            actor_id=actor.id,
            previous_body=message.body,
            created_at=now,
        )
    )
    message.body, message.deleted_at, message.deleted_by_id = "", now, actor.id
    message.attachments.clear()
    message.mentions.clear()
    db.session.commit()
    discard(files)
    message_changed.send(current_app._get_current_object(), message=message)
    return message


def _after_body_change(message):
    """Re-read mentions from the new text (the search index follows by trigger)."""
    from portal.messaging.mentions import sync_mentions

    sync_mentions(message)


# --- catch-up: what a page that missed `update` events must replay ---------------------

#: A revision row is committed within this long of its `created_at`; a cursor only moves
#: past rows at least this old, so a row that commits after a later id is never skipped.
SETTLE_SECONDS = 60
#: At most this many changed messages per catch-up (a page shows far fewer).
CATCH_UP_MAX = 1000


def settled_cursor(after=0, now=None):
    """The highest revision id ≥ `after` that is safely committed (`after` if none newer).

    Revision ids are allocated in order but may commit out of order; ids are only passed
    once their row is SETTLE_SECONDS old. Replaying a newer change twice is harmless.
    """
    horizon = (now or utcnow()) - timedelta(seconds=SETTLE_SECONDS)
    found = db.session.scalar(
        select(func.max(MessageRevision.id)).where(
            MessageRevision.id > after, MessageRevision.created_at <= horizon
        )
    )
    return max(after, found or 0)


def changed_since(room, cursor, first, through, now=None):
    """(messages of `room` with ids in [first, through] edited or deleted after revision
    `cursor`, oldest change first; the cursor to send next time)."""
    ids = db.session.scalars(
        select(MessageRevision.message_id)
        .join(Message, Message.id == MessageRevision.message_id)
        .where(
            MessageRevision.id > cursor,
            Message.room_id == room.id,
            Message.id.between(first, through),
        )
        .group_by(MessageRevision.message_id)
        .order_by(func.max(MessageRevision.id))
        .limit(CATCH_UP_MAX)
    ).all()
    found = {m.id: m for m in db.session.scalars(select(Message).where(Message.id.in_(ids)))}
    return [found[mid] for mid in ids if mid in found], settled_cursor(cursor, now)


def catch_up(room, viewer, cursor, first, through, now=None):
    """The events a page missed since `cursor`, as the live stream would have sent them:
    `update` (the message partial) for edits and deletions in the page's range, `seen`
    (read positions, as seen.py shows them to this viewer) and the next cursor."""
    from portal.messaging.fragments import message_fragment
    from portal.messaging.seen import seen_events

    changed, cursor = changed_since(room, cursor, first, through, now)
    updates = [
        {"room_id": room.id, "message_id": m.id, "html": str(message_fragment(m))}
        for m in changed
    ]
    return {"cursor": cursor, "updates": updates, "seen": seen_events(room, viewer)}
