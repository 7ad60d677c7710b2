"""Read positions shown in a room: "Seen by" for staff, a plain "Seen" for clients.

Internal viewers see every other participant's last-read message (initials, full names
on hover). A client sees "Seen" on their own latest message once any internal
participant has read it: never which member of staff did.
"""

from functools import cache

from sqlalchemy import bindparam, func, select

from portal.extensions import db
from portal.messaging.grouping import initials
from portal.models import Message, Participant, ReadState, User
from portal.models.users import INTERNAL


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


def _latest_own(room_id, user_id):
    return db.session.scalar(
        select(func.max(Message.id)).where(Message.room_id == room_id, Message.author_id == user_id)
    )


class Person:
    """A participant as the room page shows them, with their read marker (0: none)."""

    __slots__ = ("id", "name", "kind", "active", "activated_at", "last_read")

    def __init__(self, row):
        self.id, self.name, self.kind, self.active, self.activated_at, self.last_read = row

    is_internal, is_client, status = User.is_internal, User.is_client, User.status


@cache
def _people_statement():
    """Built once per process: every room page runs it."""
    _users, _participants, _reads = User.__table__.c, Participant.__table__.c, ReadState.__table__.c
    return (
        select(
            _users.id,
            _users.name,
            _users.kind,
            _users.active,
            _users.activated_at,
            func.coalesce(_reads.last_read_message_id, 0),
        )
        .select_from(
            Participant.__table__.join(
                User.__table__, _users.id == _participants.user_id
            ).outerjoin(
                ReadState.__table__,
                (_reads.user_id == _participants.user_id)
                & (_reads.room_id == _participants.room_id),
            )
        )
        .where(_participants.room_id == bindparam("room_id"))
        .order_by(_users.kind.desc(), _users.name)
    )


class RoomReads:
    """One statement for what the room page shows of its people: the participants (internal
    users first, then by name), everyone's read marker, and what "Seen" derives from them."""

    def __init__(self, room_id):
        rows = db.session.connection().execute(_people_statement(), {"room_id": room_id})
        self.people = [Person(row) for row in rows]
        # As staff_read_through: the furthest any internal participant has read.
        self.staff_through = max(
            (p.last_read for p in self.people if p.kind == INTERNAL), default=0
        )

    def marker(self, user_id):
        """The read marker of `user_id` (0 if none or not a participant)."""
        return next((p.last_read for p in self.people if p.id == user_id), 0)

    def seen(self, room_id, viewer, messages):
        """{message id: [people]} for staff: where every other active participant read
        up to, sorted by name; for a client {their latest message id: []} once staff
        read it, else {}. `messages` are the page's rows, in id order."""
        ids = [m.id for m in messages]
        if not ids:
            return {}
        if viewer.is_internal:
            markers = {}
            readers = sorted((p for p in self.people if p.active and p.last_read > 0), key=_by_name)
            for person in readers:
                spot = _place(ids, person.last_read)
                if person.id != viewer.id and spot is not None:
                    markers.setdefault(spot, []).append(person)
            return markers
        own = [m.id for m in messages if m.author_id == viewer.id]
        if not own or own[-1] > self.staff_through:
            return {}
        if own[-1] == _latest_own(room_id, viewer.id):
            return {own[-1]: []}
        return {}


def _by_name(person):
    return person.name


def seen_events(room, viewer):
    """The read positions this viewer may see, shaped as the live `seen` events
    (portal/live/seen.py): per participant for staff, `staff_through` for clients."""
    if not viewer.is_internal:
        return [{"room_id": room.id, "staff_through": staff_read_through(room.id)}]
    readers = sorted(RoomReads(room.id).people, key=_by_name)
    return [
        {
            "room_id": room.id,
            "user_id": person.id,
            "name": person.name,
            "initials": initials(person.name),
            "through": person.last_read,
        }
        for person in readers
        if person.active and person.last_read > 0 and person.id != viewer.id
    ]
