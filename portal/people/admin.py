"""Verbs for Settings → Invite & Manage Users: list people, edit one."""

from sqlalchemy import select, update

from portal.events import send, user_access_changed
from portal.extensions import db
from portal.infra import audit
from portal.models import User
from portal.models.users import CLIENT, INTERNAL, NAME_MAX, active_admin_count
from portal.people import links
from portal.people.sessions import revoke_sessions
from portal.text import clean_name


class UserUpdateError(ValueError):
    """A refused change, with a message for the page (and the form field it is about)."""

    def __init__(self, message, field=None):
        super().__init__(message)
        self.field = field


def _lock_admin_rows():
    """Serialize admin changes: a concurrent demotion waits until this one commits.

    A fresh transaction whose first statement writes every admin row: PostgreSQL locks
    those rows (the other request re-reads them once it gets the lock), SQLite takes its
    write lock before anything is read, so the count that follows is never stale.
    """
    db.session.commit()
    db.session.execute(
        update(User)
        .where(User.is_admin.is_(True))
        .values(is_admin=User.is_admin)
        .execution_options(synchronize_session=False)
    )


def people_by_kind():
    """(internal users, clients), each sorted by name."""
    people = db.session.scalars(select(User).order_by(User.name, User.id)).all()
    return (
        [u for u in people if u.kind == INTERNAL],
        [u for u in people if u.kind == CLIENT],
    )


def update_user(user, actor, *, name, is_admin, access_all_rooms, active, now=None):
    """Apply the pencil-icon form; admin and all-rooms only ever apply to internal users."""
    name = clean_name(name)
    if not name:
        raise UserUpdateError("Enter a name.", "name")
    if len(name) > NAME_MAX:
        raise UserUpdateError(f"The name can be at most {NAME_MAX} characters.", "name")
    if user.is_client:
        is_admin = access_all_rooms = False
    _ensure_an_admin_remains(user, actor, is_admin, active)

    access_changed = user.active != active or user.access_all_rooms != access_all_rooms
    _audit_changes(user, actor, is_admin=is_admin, access_all_rooms=access_all_rooms, active=active)
    deactivated = user.active and not active
    user.name, user.is_admin, user.access_all_rooms, user.active = (
        name,
        is_admin,
        access_all_rooms,
        active,
    )
    if deactivated:
        revoke_sessions(user)
        links.revoke_links(user, now=now)
    db.session.commit()
    if access_changed:
        send(user_access_changed, user=user)


#: Pencil-icon switches the audit trail records: field → (action when on, when off, words).
_AUDITED = {
    "active": ("user.activated", "user.deactivated", "account"),
    "is_admin": ("admin.granted", "admin.removed", "admin"),
    "access_all_rooms": ("all_rooms.on", "all_rooms.off", "Access to all chat rooms"),
}


def _audit_changes(user, actor, **wanted):
    """One audit row per switch the form flips (unchanged ones record nothing)."""
    for field, value in wanted.items():
        if getattr(user, field) == value:
            continue
        on, off, words = _AUDITED[field]
        state = "on" if value else "off"
        if field == "active":
            state = "activated" if value else "deactivated"
        summary = f"{words} {state} for {user.name} <{user.email}>"
        audit.record(actor, on if value else off, user=user, summary=summary)


def _ensure_an_admin_remains(user, actor, is_admin, active):
    """Refuse to demote or deactivate the last active admin; atomic across requests."""
    if not (user.is_admin and user.is_active) or (is_admin and active):
        return
    _lock_admin_rows()
    if active_admin_count(excluding=user.id) >= 1:
        return
    who = "You are" if user.id == actor.id else f"{user.name} is"
    field = "is_admin" if not is_admin else "active"
    raise UserUpdateError(
        f"{who} the last active admin. Make someone else an admin first, so someone can "
        "still manage users.",
        field,
    )
