"""Notification preferences: email on/off, muted rooms, and signed unsubscribe links."""

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select, update

from portal.extensions import db
from portal.models import Participant, Room, User
from portal.people.time_zones import DEFAULT, is_zone

_SALT = "portal.unsubscribe"


class UnsubscribeError(ValueError):
    """An unsubscribe link that can't be used, with what to tell the visitor."""


def _serializer():
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def unsubscribe_token(user):
    """A signed token naming the user, for the no-login unsubscribe link."""
    return _serializer().dumps({"u": user.id, "e": user.email})


def user_for_unsubscribe_token(token):
    """The user the token was issued to; UnsubscribeError when expired, tampered or stale."""
    max_age = current_app.config["UNSUBSCRIBE_MAX_AGE_SECONDS"]
    try:
        data = _serializer().loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise UnsubscribeError(
            "This unsubscribe link has expired. Log in to change your notification settings."
        ) from exc
    except BadSignature as exc:
        raise UnsubscribeError(
            "This unsubscribe link is not valid. Log in to change your notification settings."
        ) from exc
    user = db.session.get(User, data.get("u")) if isinstance(data, dict) else None
    if user is None or user.email != data.get("e"):
        raise UnsubscribeError("This unsubscribe link is no longer valid.")
    return user


def room_mutes(user):
    """[(room, muted)] for every room the user is a participant of, by title."""
    rows = db.session.execute(
        select(Room, Participant.muted)
        .join(Participant, Participant.room_id == Room.id)
        .where(Participant.user_id == user.id)
        .order_by(Room.title, Room.id)
    )
    return [(room, muted) for room, muted in rows]


def update_notification_settings(user, email_notifications, muted_room_ids, time_zone=None):
    """Save email on/off, the time zone, and mute exactly `muted_room_ids` of the user's rooms."""
    muted = {int(room_id) for room_id in muted_room_ids or ()}
    user.email_notifications = bool(email_notifications)
    if time_zone is not None:
        if not is_zone(time_zone):
            raise ValueError(f"unknown time zone {time_zone!r}")
        user.time_zone = None if time_zone == DEFAULT else time_zone
    mine = Participant.user_id == user.id
    db.session.execute(update(Participant).where(mine).values(muted=False))
    if muted:
        db.session.execute(
            update(Participant).where(mine, Participant.room_id.in_(muted)).values(muted=True)
        )
    db.session.commit()


def turn_off_email(user):
    """The unsubscribe link's action: no more notification or reminder emails."""
    user.email_notifications = False
    db.session.commit()
