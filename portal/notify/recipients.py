"""Who may be emailed about a room, and moving their email watermarks."""

from sqlalchemy import update

from portal.messaging.reading import unread_since_joining
from portal.models import Message, Participant, ReadState, User

# Deactivated users, invited-but-not-active portal accounts and opted-out users get nothing.
EMAILABLE = User.may_log_in & User.email_notifications.is_(True)


def may_email(user):
    return bool(user.may_log_in and user.email_notifications)


def unread(columns, *conditions, mentions=False):
    """A SELECT of `columns` over unread messages in rooms their reader may be emailed about.

    One row per (participant, message): unread since the participant joined (the rule in
    `messaging.reading`), in a room the reader did not mute, reader emailable; rooms the
    reader follows for mentions only count only for `mentions` (the mention emails).
    """
    # A deleted message is never mentioned again.
    followed = () if mentions else (Participant.mentions_only.is_(False),)
    return unread_since_joining(
        columns,
        EMAILABLE,
        Participant.muted.is_(False),
        *followed,
        Message.deleted_at.is_(None),
        *conditions,
    )


def advance(column, user_id, room_id, old, new, **also):
    """UPDATE a watermark from `old` to `new` (and `also`); matches no row if another job did."""
    return (
        update(ReadState)
        .where(ReadState.user_id == user_id, ReadState.room_id == room_id, column == old)
        .values({column.key: new, **also})
    )
