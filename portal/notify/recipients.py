"""Who may be emailed about a room, and which messages are unread for them."""

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.models import Message, Participant, ReadState, User

# Deactivated users, invited-but-not-active portal accounts and opted-out users get nothing.
EMAILABLE = (
    User.active.is_(True) & User.activated_at.is_not(None) & User.email_notifications.is_(True)
)


def may_email(user):
    return bool(user.active and user.activated_at and user.email_notifications)


def unread(columns, *conditions):
    """A SELECT of `columns` over unread messages in rooms their reader may be emailed about.

    One row per (participant, message): by someone else, posted since the participant
    joined, newer than their read marker, in an unmuted room, reader emailable.
    """
    return (
        select(*columns)
        .select_from(Participant)
        .join(User, User.id == Participant.user_id)
        .join(Message, Message.room_id == Participant.room_id)
        .outerjoin(
            ReadState,
            (ReadState.user_id == Participant.user_id) & (ReadState.room_id == Participant.room_id),
        )
        .where(
            EMAILABLE,
            Participant.muted.is_(False),
            Message.created_at >= Participant.added_at,
            or_(Message.author_id.is_(None), Message.author_id != Participant.user_id),
            Message.id > func.coalesce(ReadState.last_read_message_id, 0),
            *conditions,
        )
    )


def ensure_read_state(user_id, room_id):
    """Create the user's ReadState for the room if missing (another job may race us)."""
    if db.session.get(ReadState, (user_id, room_id)) is not None:
        return
    db.session.add(
        ReadState(
            user_id=user_id,
            room_id=room_id,
            last_read_message_id=0,
            notified_through_message_id=0,
            reminded_through_message_id=0,
        )
    )
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()


def advance(column, user_id, room_id, old, new, **also):
    """UPDATE a watermark from `old` to `new` (and `also`); matches no row if another job did."""
    return (
        update(ReadState)
        .where(ReadState.user_id == user_id, ReadState.room_id == room_id, column == old)
        .values({column.key: new, **also})
    )
