"""A person's data on request (GDPR art. 15): everything held about one user as a ZIP."""

import json

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from portal.extensions import db
from portal.infra import audit
from portal.infra.zipstream import zip_stream
from portal.messaging.storage import get_storage
from portal.messaging.transcripts import file_path
from portal.models import (
    Attachment,
    AuditEvent,
    Invitation,
    LoginSession,
    Message,
    NotificationLog,
    Participant,
    ReadState,
    Room,
    User,
)
from portal.models.base import utcnow


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
    return {
        "email_notifications": user.email_notifications,
        "recap": user.recap,
        "time_zone": user.time_zone,
    }


def _owned(model, user, **fields):
    """The user's rows of `model` in id order, each as {name: the plain value of its column}."""
    rows = db.session.scalars(select(model).where(model.user_id == user.id).order_by(model.id))
    return [{name: _plain(getattr(row, column)) for name, column in fields.items()} for row in rows]


def _sessions(user):
    return _owned(
        LoginSession,
        user,
        started_at="created_at",
        last_seen_at="last_seen_at",
        ended_at="revoked_at",
    )


def _links(user):
    return _owned(
        Invitation,
        user,
        purpose="purpose",
        sent_at="created_at",
        expires_at="expires_at",
        used_at="used_at",
        revoked_at="revoked_at",
    )


def _emails(user):
    return _owned(
        NotificationLog, user, kind="kind", room_id="room_id", status="status", sent_at="sent_at"
    )


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
