"""Erasure on request (GDPR art. 17): an anonymised "Former user", messages kept or deleted."""

from sqlalchemy import delete, select, update

from portal.events import send, user_access_changed
from portal.extensions import db
from portal.infra import audit
from portal.messaging.rendering import FORMER_USER
from portal.messaging.uploads import discard
from portal.models import (
    Attachment,
    HeldReply,
    InboundEmail,
    Mention,
    Message,
    MessageRevision,
    Participant,
    PushSubscription,
    ReadState,
    Room,
)
from portal.models.base import utcnow
from portal.people import links
from portal.people.sessions import revoke_sessions

KEEP, DELETE = "keep", "delete"


class EraseError(ValueError):
    """A refused erasure, with a message for the page."""


def erase_person(user, actor, messages, now=None):
    """Anonymise `user` ("Former user"), end their sessions and links, take them out of
    every room, and keep or delete their messages; recorded in the audit trail."""
    if messages not in (KEEP, DELETE):
        raise EraseError("Choose whether to keep or delete their messages.")
    if user.id == actor.id:
        raise EraseError("You can't erase your own account.")
    if user.is_admin:
        raise EraseError(f"{user.name} is an admin. Remove admin first, then erase.")
    now = now or utcnow()
    files = _delete_messages(user, actor, now) if messages == DELETE else []
    written = db.session.scalar(
        select(db.func.count(Message.id)).where(Message.author_id == user.id)
    )
    revoke_sessions(user)
    links.revoke_links(user, now=now)
    # Memberships, read state, and what their browsers and mail left with us: push
    # subscriptions, replies held for confirmation (the raw email), inbound records.
    for model in (Participant, ReadState, InboundEmail, HeldReply, PushSubscription):
        db.session.execute(delete(model).where(model.user_id == user.id))
    # A room keeps its creator as a participant: an erased creator must not come back.
    db.session.execute(
        update(Room)
        .where(Room.created_by_id == user.id)
        .values(created_by_id=None)
        .execution_options(synchronize_session=False)
    )
    kind = user.kind
    user.name, user.email = FORMER_USER, f"former-user-{user.id}@erased.invalid"
    user.password_hash, user.time_zone, user.recap = None, None, None
    user.active = user.is_admin = user.access_all_rooms = user.email_notifications = False
    kept = "deleted" if messages == DELETE else "kept"
    summary = (
        f"Erased person {user.id} ({kind}): name, email, password, sessions and memberships "
        f"removed; their {written} messages {kept}"
    )
    audit.record(actor, "user.erased", user=user, summary=summary, now=now)
    db.session.commit()
    discard(files)
    send(user_access_changed, user=user)


def _delete_messages(user, actor, now):
    """Tombstone every message `user` wrote, with its files, mentions and edit history's
    words; returns the attachments whose stored files go once this commits."""
    theirs = select(Message.id).where(Message.author_id == user.id)
    files = list(db.session.scalars(select(Attachment).where(Attachment.message_id.in_(theirs))))
    for attachment in files:
        db.session.expunge(attachment)
    db.session.execute(delete(Attachment).where(Attachment.message_id.in_(theirs)))
    db.session.execute(delete(Mention).where(Mention.message_id.in_(theirs)))
    db.session.execute(
        update(MessageRevision)
        .where(MessageRevision.message_id.in_(theirs))
        .values(previous_body="")
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(Message)
        .where(Message.author_id == user.id, Message.deleted_at.is_(None))
        .values(body="", deleted_at=now, deleted_by_id=actor.id)
        .execution_options(synchronize_session=False)
    )
    return files
