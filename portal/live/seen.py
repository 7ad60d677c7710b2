"""Live read positions: staff hear who read up to where; clients hear only that staff did."""

from flask_sse import Message
from sqlalchemy import select

from portal.access import viewer_ids
from portal.extensions import db
from portal.messaging.grouping import initials
from portal.messaging.seen import staff_read_through
from portal.models import Participant, User


def broadcast_seen(room, reader_id, through, publish):
    """After `reader_id` read `room` up to `through`: tell the others who may see it."""
    reader = db.session.get(User, reader_id)
    member = db.session.scalar(
        select(Participant.id).where(
            Participant.room_id == room.id, Participant.user_id == reader_id
        )
    )
    if reader is None or member is None:
        return  # all-rooms staff reading a room they are not in leave no trace
    others = viewer_ids(room.id) - {reader_id}
    kinds = dict(db.session.execute(select(User.id, User.kind).where(User.id.in_(others))).all())
    staff = Message(
        {
            "room_id": room.id,
            "user_id": reader.id,
            "name": reader.name,
            "initials": initials(reader.name),
            "through": through,
        },
        type="seen",
    )
    events = [(uid, staff) for uid, kind in sorted(kinds.items()) if kind == "internal"]
    if reader.is_internal:
        plain = Message(
            {"room_id": room.id, "staff_through": staff_read_through(room.id)}, type="seen"
        )
        events += [(uid, plain) for uid, kind in sorted(kinds.items()) if kind == "client"]
    publish(events)
