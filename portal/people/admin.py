"""Verbs for Settings → Invite & Manage Users: list people, edit one."""

from sqlalchemy import select

from portal.events import send, user_access_changed
from portal.extensions import db
from portal.models import User
from portal.models.base import one_line
from portal.models.users import CLIENT, INTERNAL, NAME_MAX, active_admin_count
from portal.people import links
from portal.people.sessions import revoke_sessions


class UserUpdateError(ValueError):
    """A refused change, with a message for the page (and the form field it is about)."""

    def __init__(self, message, field=None):
        super().__init__(message)
        self.field = field


def people_by_kind():
    """(internal users, clients), each sorted by name."""
    people = db.session.scalars(select(User).order_by(User.name, User.id)).all()
    return (
        [u for u in people if u.kind == INTERNAL],
        [u for u in people if u.kind == CLIENT],
    )


def update_user(user, actor, *, name, is_admin, access_all_rooms, active, now=None):
    """Apply the pencil-icon form; admin and all-rooms only ever apply to internal users."""
    name = one_line(name)
    if not name:
        raise UserUpdateError("Enter a name.", "name")
    if len(name) > NAME_MAX:
        raise UserUpdateError(f"The name can be at most {NAME_MAX} characters.", "name")
    if user.is_client:
        is_admin = access_all_rooms = False
    _ensure_an_admin_remains(user, actor, is_admin, active)

    access_changed = user.active != active or user.access_all_rooms != access_all_rooms
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


def _ensure_an_admin_remains(user, actor, is_admin, active):
    if not (user.is_admin and user.active) or (is_admin and active):
        return
    if active_admin_count() > 1:
        return
    who = "You are" if user.id == actor.id else f"{user.name} is"
    field = "is_admin" if not is_admin else "active"
    raise UserUpdateError(
        f"{who} the last active admin. Make someone else an admin first, so someone can "
        "still manage users.",
        field,
    )
