"""Read positions shown in a room: "Seen by" for staff, a plain "Seen" for clients.

Internal viewers see every other participant's last-read message (initials, full names
on hover). A client sees "Seen" on their own latest message once any internal
participant has read it: never which member of staff did.
"""

from sqlalchemy import func, select

from portal.extensions import db
from portal.messaging.grouping import initials
from portal.models import Message, Participant, ReadState, User


def read_positions(room_id):
    """[(user, last read message id)] of the room's active participants who read anything."""
    rows = db.session.execute(
        select(User, ReadState.last_read_message_id)
        .join(Participant, Participant.user_id == User.id)
        .join(
            ReadState, (ReadState.user_id == User.id) & (ReadState.room_id == Participant.room_id)
        )
        .where(
            Participant.room_id == room_id,
            ReadState.last_read_message_id > 0,
            User.active.is_(True),
        )
        .order_by(User.name)
    )
    return list(rows)


def staff_read_through(room_id):
    """The furthest any internal participant has read in the room (0 if none)."""
    return db.session.scalar(
        select(func.coalesce(func.max(ReadState.last_read_message_id), 0))
        .join(Participant, Participant.user_id == ReadState.user_id)
        .join(User, User.id == ReadState.user_id)
        .where(
            ReadState.room_id == room_id,
            Participant.room_id == room_id,
            User.kind == "internal",
        )
    )


def _place(message_ids, through):
    """The newest shown message at or before `through` (None if none is shown)."""
    shown = [mid for mid in message_ids if mid <= through]
    return max(shown) if shown else None


def seen_markers(room, viewer, messages):
    """{message id: [users]} for staff; {message id: []} on a client's own latest message."""
    ids = [m.id for m in messages]
    if not ids:
        return {}
    if viewer.is_internal:
        markers = {}
        for user, through in read_positions(room.id):
            spot = _place(ids, through)
            if user.id != viewer.id and spot is not None:
                markers.setdefault(spot, []).append(user)
        return markers
    own = [m.id for m in messages if m.author_id == viewer.id]
    latest_own = _latest_own(room.id, viewer.id)
    if own and own[-1] == latest_own and latest_own <= staff_read_through(room.id):
        return {latest_own: []}
    return {}


def _latest_own(room_id, user_id):
    return db.session.scalar(
        select(func.max(Message.id)).where(Message.room_id == room_id, Message.author_id == user_id)
    )


def seen_events(room, viewer):
    """The read positions this viewer may see, shaped as the live `seen` events
    (portal/live/seen.py): per participant for staff, `staff_through` for clients."""
    if not viewer.is_internal:
        return [{"room_id": room.id, "staff_through": staff_read_through(room.id)}]
    return [
        {
            "room_id": room.id,
            "user_id": user.id,
            "name": user.name,
            "initials": initials(user.name),
            "through": through,
        }
        for user, through in read_positions(room.id)
        if user.id != viewer.id
    ]
