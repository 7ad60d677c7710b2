"""Verbs on people: create, authenticate."""

from sqlalchemy import select

from portal.extensions import db
from portal.models import User
from portal.models.base import utcnow
from portal.models.users import INTERNAL, KINDS, normalize_email
from portal.text import clean_name

# A real hash to compare against when the email is unknown, so both paths take as long.
_DUMMY_USER = User(email="nobody@invalid")
_DUMMY_USER.set_password("not a real password")


def find_user_by_email(email):
    return db.session.scalar(select(User).where(User.email == normalize_email(email)))


def authenticate(email, password):
    """The user with this email and password who may log in, else None."""
    user = find_user_by_email(email)
    if user is None:
        _DUMMY_USER.check_password(password)
        return None
    if not user.check_password(password) or not user.is_active:
        return None
    return user


def create_user(
    email, name, kind, *, is_admin=False, access_all_rooms=False, password=None, now=None
):
    """Create a user; one created with a password is active at once, else invited."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    if find_user_by_email(email) is not None:
        raise ValueError(f"a user with the email {normalize_email(email)} already exists")
    now = now or utcnow()
    user = User(
        email=email,
        name=clean_name(name),
        kind=kind,
        is_admin=is_admin and kind == INTERNAL,
        access_all_rooms=access_all_rooms and kind == INTERNAL,
        invited_at=now,
    )
    if password:
        user.set_password(password)
        user.activated_at = now
    db.session.add(user)
    db.session.flush()
    return user


def users_by_ids(ids):
    """Users with these ids, internal users first, then by name."""
    if not ids:
        return []
    return list(
        db.session.scalars(
            select(User).where(User.id.in_(ids)).order_by(User.kind.desc(), User.name)
        )
    )


def pickable_users():
    """Everyone who can be added to a room: not deactivated, internal users first."""
    return list(
        db.session.scalars(
            select(User).where(User.active.is_(True)).order_by(User.kind.desc(), User.name)
        )
    )
