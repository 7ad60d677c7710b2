"""Verbs that change a posted message: edit (history kept) and delete (a tombstone)."""

from flask import current_app

from portal.events import message_changed
from portal.extensions import db
from portal.messaging.messages import MessageError, clean_body
from portal.messaging.uploads import discard
from portal.models import MessageRevision
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
