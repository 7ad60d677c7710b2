"""Read state and the one unread rule: the room list, the badges and the emails count with it.

A message is unread for a reader when someone else (or a former user) wrote it after the
reader's read marker. Counts cover the room's whole history (someone added to a room sees
it all, PRODUCT §2); email covers only what was posted since the reader joined.
"""

from functools import cache

from flask import g, has_request_context
from sqlalchemy import bindparam, func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from portal.access import prepared
from portal.events import room_read, send
from portal.extensions import db
from portal.models import Message, Participant, ReadState, Room, User
from portal.models.base import utcnow


def unread_by(reader_id, last_read):
    """The unread rule as SQL: a message by someone else, after the reader's read marker."""
    return (Message.id > func.coalesce(last_read, 0)) & (
        (Message.author_id != reader_id) | Message.author_id.is_(None)
    )


def unread_since_joining(columns, *conditions):
    """A SELECT of `columns`, one row per (participant, unread message posted since joining)."""
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
            Message.created_at >= Participant.added_at,
            unread_by(Participant.user_id, ReadState.last_read_message_id),
            *conditions,
        )
    )


#: Unread counts stop here: a badge past it reads "99+" (`unread_label`), and a room with
#: a million unread messages costs what a room with a hundred does.
UNREAD_CAP = 100


def _unread_in_room(user_id):
    """Correlated count of `user_id`'s unread messages in the enclosing query's Room.

    It walks the (room_id, id) index from the read marker on and stops at UNREAD_CAP, so
    the cost follows the unread messages (at most UNREAD_CAP), not the room's history.
    """
    # Explicit correlation: auto-correlation only reaches the immediately enclosing SELECT.
    last_read = (
        select(ReadState.last_read_message_id)
        .where(ReadState.user_id == user_id, ReadState.room_id == Room.id)
        .correlate(Room)
        .scalar_subquery()
    )
    unread = (
        select(Message.id)
        .where(Message.room_id == Room.id, unread_by(user_id, last_read))
        .limit(UNREAD_CAP)
        .correlate(Room)
        .subquery()
    )
    return select(func.count()).select_from(unread).correlate(Room).scalar_subquery()


def unread_label(count):
    """A badge's text: the count, or "99+" once it reaches UNREAD_CAP."""
    return f"{UNREAD_CAP - 1}+" if count >= UNREAD_CAP else str(count)


def unread_counts(user, room_ids):
    """{room_id: unread count} for one user across rooms (rooms with none left out)."""
    if not room_ids:
        return {}
    rows = db.session.execute(
        select(Room.id, _unread_in_room(user.id)).where(Room.id.in_(room_ids))
    )
    return {room_id: count for room_id, count in rows if count}


def unread_by_room(user):
    """{room_id: unread count} over every room `user` may view (the layouts' totals).

    One statement whatever the number of rooms, and computed once per request: the
    layout and the room list share it (a read marker that moves forgets it).
    """
    if not has_request_context():
        return _unread_by_room(user)
    memo = g.get("unread_by_room")
    if memo is None or memo[0] != user.id:
        memo = g.unread_by_room = (user.id, _unread_by_room(user))
    return memo[1]


def _unread_by_room(user):
    statement = _unread_by_room_statement(user)
    rows = db.session.connection().execute(statement, {"viewer_id": user.id})
    return {room_id: count for room_id, count in rows if count}


@prepared
def _unread_by_room_statement(viewer, visible):
    # Zero counts are dropped in Python: a wrapping `WHERE n > 0` makes SQLite count twice.
    return visible.with_only_columns(Room.id, _unread_in_room(viewer.id))


def unread_counts_for_users(room_id, user_ids):
    """{user_id: unread count} for a few users in one room (the live badge after a read)."""
    return {
        user_id: db.session.scalar(
            select(_unread_in_room(user_id)).select_from(Room).where(Room.id == room_id)
        )
        or 0
        for user_id in user_ids
    }


def ensure_read_state(user_id, room_id):
    """Create the user's ReadState for the room if missing (an upsert: racers can't collide)."""
    insert = postgresql_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    db.session.execute(
        insert(ReadState)
        .values(user_id=user_id, room_id=room_id, last_read_message_id=0, updated_at=utcnow())
        .on_conflict_do_nothing(index_elements=["user_id", "room_id"])
    )


def advance_read(user_id, room_id, through_id):
    """Move the read marker forward (never back), uncommitted; True when it moved.

    One upsert (the row is created at `through_id` when missing, as `ensure_read_state`
    then a move would leave it), so two tabs reading at once can't collide.
    """
    parameters = {"user_id": user_id, "room_id": room_id, "through": through_id, "now": utcnow()}
    moved = db.session.execute(_advance(db.engine.dialect.name), parameters)
    # A row comes back when it was inserted or moved (not when the WHERE kept it).
    if moved.first() is None:
        return False
    if has_request_context():
        g.pop("unread_by_room", None)  # this request's totals are out of date now
    return True


@cache
def _advance(dialect):
    """`advance_read`'s upsert, built once per dialect (every send and page view runs it)."""
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    through, now = bindparam("through"), bindparam("now")
    table = ReadState.__table__
    statement = insert(table).values(
        user_id=bindparam("user_id"),
        room_id=bindparam("room_id"),
        last_read_message_id=through,
        updated_at=now,
    )
    return statement.on_conflict_do_update(
        index_elements=["user_id", "room_id"],
        set_={"last_read_message_id": through, "updated_at": now},
        where=table.c.last_read_message_id < through,
    ).returning(table.c.last_read_message_id)


def first_unread_id(user, room, messages):
    """The id of the first of `messages` that is unread for `user` (someone else's), or None."""
    last_read = db.session.scalar(
        select(ReadState.last_read_message_id).where(
            ReadState.user_id == user.id, ReadState.room_id == room.id
        )
    )
    unread = (m.id for m in messages if m.id > (last_read or 0) and m.author_id != user.id)
    return next(unread, None)


def mark_read(user, room, through_id=None):
    """Mark the room read for `user` up to `through_id` (default: its newest message)."""
    newest, marker = _newest_and_marker(user.id, room.id)
    through_id = min(through_id or newest or 0, newest or 0)
    if not through_id or through_id <= (marker or 0):
        return  # nothing moves: no write (a room page GET stays read-only)
    if advance_read(user.id, room.id, through_id):
        db.session.commit()
        send(room_read, room=room, user_id=user.id, last_read_message_id=through_id)


def _newest_and_marker(user_id, room_id):
    """(newest message id, the user's read marker) of a room, in one statement."""
    newest = (
        select(Message.id)
        .where(Message.room_id == room_id)
        .order_by(Message.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    marker = (
        select(ReadState.last_read_message_id)
        .where(ReadState.user_id == user_id, ReadState.room_id == room_id)
        .scalar_subquery()
    )
    return db.session.execute(select(newest, marker)).one()
