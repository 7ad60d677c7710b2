"""A person's data on request (GDPR art. 15 and 17): everything held about one user as a
ZIP, and erasure (an anonymised "Former user", their messages kept or deleted)."""

import json

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import selectinload

from portal.events import send, user_access_changed
from portal.extensions import db
from portal.infra import audit
from portal.infra.zipstream import zip_stream
from portal.messaging.rendering import FORMER_USER
from portal.messaging.storage import get_storage
from portal.messaging.transcripts import file_path
from portal.messaging.uploads import discard
from portal.models import (
    Attachment,
    AuditEvent,
    InboundEmail,
    Invitation,
    LoginSession,
    Mention,
    Message,
    MessageRevision,
    NotificationLog,
    Participant,
    ReadState,
    Room,
    User,
)
from portal.models.base import utcnow
from portal.people import links
from portal.people.sessions import revoke_sessions

KEEP, DELETE = "keep", "delete"


class EraseError(ValueError):
    """A refused erasure, with a message for the page."""


# --- export ---------------------------------------------------------------------------


def export_person(user, actor, now=None):
    """Record the export, then return the ZIP's bytes as a generator (streamed)."""
    now = now or utcnow()
    summary = f"Exported the data held about {user.name} <{user.email}> (person {user.id})"
    audit.record(actor, "export.made", user=user, summary=summary, now=now)
    db.session.commit()
    return zip_stream(_entries(user.id, now))


def export_name(user, now):
    return f"person-{user.id}-{now:%Y%m%d}.zip"


def _entries(user_id, now):
    """The archive, one part at a time: JSON documents, then the person's files."""
    user = db.session.get(User, user_id)
    documents = {
        "profile.json": _profile(user),
        "memberships.json": _memberships(user),
        "messages.json": _messages(user),
        "read_state.json": _read_state(user),
        "preferences.json": _preferences(user),
        "sessions.json": _sessions(user),
        "links.json": _links(user),
        "emails_sent.json": _emails(user),
        "audit.json": _audit_rows(user),
    }
    yield "README.txt", _README.format(name=user.name, id=user.id, now=_iso(now)), now
    for name, document in documents.items():
        yield name, json.dumps(document, indent=2, ensure_ascii=False), now
    for attachment in _attachments(user):
        yield _file_path(attachment), _opener(attachment.storage_name), attachment.created_at


_README = """Everything {name} (person {id}) has in this portal, exported {now}.

profile.json       the account
memberships.json   conversations they take part in
messages.json      messages they wrote (deleted ones without their text)
files/             the files attached to those messages
read_state.json    how far they have read in each conversation
preferences.json   email and per-conversation notification choices
sessions.json      logins (no secrets)
links.json         invitation and password-reset links sent (no secrets)
emails_sent.json   notification and reminder emails sent to them
audit.json         audit-trail rows about them or by them
"""


def _iso(moment):
    return moment.isoformat() if moment is not None else None


def _profile(user):
    fields = ("id", "kind", "name", "email", "is_admin", "access_all_rooms", "active")
    profile = {field: getattr(user, field) for field in fields}
    profile.update(
        status=user.status,
        time_zone=user.time_zone,
        created_at=_iso(user.created_at),
        invited_at=_iso(user.invited_at),
        activated_at=_iso(user.activated_at),
    )
    return profile


def _memberships(user):
    rows = db.session.execute(
        select(Room.id, Room.title, Participant.added_at, Participant.muted)
        .join(Participant, Participant.room_id == Room.id)
        .where(Participant.user_id == user.id)
        .order_by(Room.id)
    )
    return [
        {"room_id": r.id, "title": r.title, "added_at": _iso(r.added_at), "muted": r.muted}
        for r in rows
    ]


def _messages(user):
    rows = db.session.execute(
        select(Message, Room.title)
        .join(Room, Room.id == Message.room_id)
        .where(Message.author_id == user.id)
        .options(selectinload(Message.attachments))
        .order_by(Message.id)
    )
    return [
        {
            "id": m.id,
            "room_id": m.room_id,
            "room": title,
            "sent_at": _iso(m.created_at),
            "edited_at": _iso(m.edited_at),
            "deleted_at": _iso(m.deleted_at),
            "body": m.body,
            "files": [_file_path(a) for a in m.attachments],
        }
        for m, title in rows
    ]


def _read_state(user):
    rows = db.session.scalars(select(ReadState).where(ReadState.user_id == user.id))
    columns = [c.key for c in ReadState.__table__.columns if c.key != "user_id"]
    return [{c: _plain(getattr(row, c)) for c in columns} for row in rows]


def _plain(value):
    return _iso(value) if hasattr(value, "isoformat") else value


def _preferences(user):
    return {"email_notifications": user.email_notifications, "time_zone": user.time_zone}


def _sessions(user):
    rows = db.session.scalars(
        select(LoginSession).where(LoginSession.user_id == user.id).order_by(LoginSession.id)
    )
    return [
        {
            "started_at": _iso(s.created_at),
            "last_seen_at": _iso(s.last_seen_at),
            "ended_at": _iso(s.revoked_at),
        }
        for s in rows
    ]


def _links(user):
    rows = db.session.scalars(
        select(Invitation).where(Invitation.user_id == user.id).order_by(Invitation.id)
    )
    return [
        {
            "purpose": i.purpose,
            "sent_at": _iso(i.created_at),
            "expires_at": _iso(i.expires_at),
            "used_at": _iso(i.used_at),
            "revoked_at": _iso(i.revoked_at),
        }
        for i in rows
    ]


def _emails(user):
    rows = db.session.scalars(
        select(NotificationLog)
        .where(NotificationLog.user_id == user.id)
        .order_by(NotificationLog.id)
    )
    return [
        {"kind": n.kind, "room_id": n.room_id, "status": n.status, "sent_at": _iso(n.sent_at)}
        for n in rows
    ]


def _audit_rows(user):
    rows = db.session.scalars(
        select(AuditEvent)
        .where(or_(AuditEvent.user_id == user.id, AuditEvent.actor_id == user.id))
        .order_by(AuditEvent.at, AuditEvent.id)
    )
    return [
        {
            "at": _iso(r.at),
            "who": r.actor_label,
            "action": r.action,
            "summary": r.summary,
            "room_id": r.room_id,
            "message_id": r.message_id,
            "ip": r.ip,
        }
        for r in rows
    ]


def _attachments(user):
    return db.session.scalars(
        select(Attachment)
        .join(Message, Message.id == Attachment.message_id)
        .where(Message.author_id == user.id, Message.deleted_at.is_(None))
        .order_by(Attachment.id)
    )


def _file_path(attachment):
    return file_path(attachment.id, attachment.filename)


def _opener(storage_name):
    return lambda: get_storage().open(storage_name)


# --- erasure ---------------------------------------------------------------------------


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
    for model in (Participant, ReadState, InboundEmail):
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
    user.password_hash, user.time_zone = None, None
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
