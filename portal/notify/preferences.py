"""Notification preferences: email on/off, muted rooms, and signed unsubscribe links."""

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select, update

from portal.extensions import db
from portal.models import Participant, Room, User
from portal.people.time_zones import DEFAULT, is_zone

DAILY = "daily"
WEEKLY = "weekly"
RECAP_CHOICES = (DAILY, WEEKLY)

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


#: How often an internal user hears about unread messages: as they come (the reminders), in
#: a daily or weekly recap, or never ("off" is email_notifications off).
AS_THEY_COME = "reminders"
FREQUENCIES = (AS_THEY_COME, *RECAP_CHOICES)


def room_mutes(user):
    """[(room, muted, mentions_only)] for every room the user is a participant of, by title."""
    rows = db.session.execute(
        select(Room, Participant.muted, Participant.mentions_only)
        .join(Participant, Participant.room_id == Room.id)
        .where(Participant.user_id == user.id)
        .order_by(Room.title, Room.id)
    )
    return [tuple(row) for row in rows]


def update_notification_settings(
    user, email_notifications, muted_room_ids, time_zone=None, frequency=None, mentions_only=None
):
    """Save email on/off, the time zone, and mute exactly `muted_room_ids` of the user's rooms.

    Internal users also choose the `frequency` (reminders, daily or weekly recap) and the
    rooms they hear about only when mentioned; None keeps what was saved. Clients keep
    reminders and per-room mute.
    """
    user.email_notifications = bool(email_notifications)
    if time_zone is not None:
        if not is_zone(time_zone):
            raise ValueError(f"unknown time zone {time_zone!r}")
        user.time_zone = None if time_zone == DEFAULT else time_zone
    _only_rooms(user, "muted", muted_room_ids)
    if user.is_internal:
        if frequency is not None:
            if frequency not in FREQUENCIES:
                raise ValueError(f"unknown frequency {frequency!r}")
            user.recap = None if frequency == AS_THEY_COME else frequency
        if mentions_only is not None:
            _only_rooms(user, "mentions_only", mentions_only)
    db.session.commit()


def _only_rooms(user, column, room_ids):
    """Set the participant flag `column` in exactly `room_ids` of the user's rooms."""
    chosen = {int(room_id) for room_id in room_ids or ()}
    mine = Participant.user_id == user.id
    db.session.execute(update(Participant).where(mine).values({column: False}))
    if chosen:
        db.session.execute(
            update(Participant).where(mine, Participant.room_id.in_(chosen)).values({column: True})
        )


def turn_off_email(user):
    """The unsubscribe link's action: no more notification or reminder emails."""
    user.email_notifications = False
    db.session.commit()
