"""The audit trail's one writer: `record(actor, action, ..., summary)` adds a row to the
session of the change it records, so both commit (or roll back) together."""

from datetime import timedelta

from flask import has_request_context, request
from sqlalchemy import delete

from portal.extensions import db
from portal.models.audit import EMAIL, SYSTEM, AuditEvent
from portal.models.base import utcnow

__all__ = ["EMAIL", "SYSTEM", "KINDS", "record", "purge_expired"]

#: Every action the trail records, with how the Activity page names it.
KINDS = {
    "invitation.sent": "Invitation sent",
    "invitation.accepted": "Invitation accepted",
    "user.activated": "Account activated",
    "user.deactivated": "Account deactivated",
    "admin.granted": "Admin granted",
    "admin.removed": "Admin removed",
    "all_rooms.on": "Access to all chat rooms switched on",
    "all_rooms.off": "Access to all chat rooms switched off",
    "participant.added": "Participant added",
    "participant.removed": "Participant removed",
    "room.created": "Conversation created",
    "room.renamed": "Conversation renamed",
    "room.archived": "Conversation archived",
    "room.unarchived": "Conversation unarchived",
    "message.deleted": "Message deleted by someone else",
    "login.throttled": "Logins throttled",
    "session.locked_out": "Logged out after wrong passwords",
    "password.changed": "Password changed",
    "password.reset": "Password reset",
    "login_link.issued": "Login link issued",
    "login_link.used": "Login link used",
    "settings.changed": "Settings changed",
    "reply.refused": "Emailed reply refused",
    "export.made": "Export made",
    "user.erased": "Person erased",
}

SUMMARY_MAX = 2000


def record(actor, action, *, user=None, room=None, message=None, summary, ip=None, now=None):
    """Add one audit row to the current session (committed with the change it records).

    `actor` is a User, or SYSTEM / EMAIL; `user`, `room`, `message` are the subjects
    (objects or ids); `ip` defaults to the client address of the current request, if any.
    """
    if action not in KINDS:
        raise ValueError(f"unknown audit action {action!r}")
    if isinstance(actor, str):
        actor_id, label = None, actor
    else:
        actor_id, label = actor.id, actor.name
    if ip is None and has_request_context():
        ip = request.remote_addr
    row = AuditEvent(
        at=now or utcnow(),
        actor_id=actor_id,
        actor_label=(label or "")[:120],
        action=action,
        user_id=_id(user),
        room_id=_id(room),
        message_id=_id(message),
        summary=" ".join(summary.split())[:SUMMARY_MAX],
        ip=(ip or None) and ip[:45],
    )
    db.session.add(row)
    return row


def _id(subject):
    return subject if subject is None or isinstance(subject, int) else subject.id


def purge_expired(days, now=None):
    """The retention job's delete: rows older than `days` days; returns how many."""
    horizon = (now or utcnow()) - timedelta(days=days)
    result = db.session.execute(delete(AuditEvent).where(AuditEvent.at < horizon))
    db.session.commit()
    return result.rowcount
