"""Who may view a room changed: announced to the hubs before the change commits, and after.

Each web process's hub caches a room's viewers (`portal.live.hub`), so a message costs no
query per event. A cache must never outlive the state it was read from: a participant
removed — or a user deactivated — must not receive the next message. So whenever a
transaction writes a row that decides viewers (a participant, a room's creator, a user's
active/activated/kind/all-rooms), this module publishes `pending` on the room's channel
while the transaction is still open, and `settled` once it commits or rolls back.

Redis delivers a connection's publishes in order, and a message is published only after
its own commit. So a message committed after the change is always heard after `pending`:
from then until `settled` the hubs resolve that room's viewers from the database for
every event (as before the cache), and what they cache after `settled` already includes
the change. An unknown room (bulk statements, user changes) is room 0: every room.
"""

import json
import logging
import secrets

import redis
from flask import current_app
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from portal.live.viewers import ALL_ROOMS
from portal.models import Participant, Room, User

log = logging.getLogger(__name__)

#: Columns whose change can change who may view a room, per table.
DECIDING = {
    Participant.__tablename__: {"room_id", "user_id"},
    Room.__tablename__: {"created_by_id", "team_only"},
    User.__tablename__: {"active", "activated_at", "kind", "access_all_rooms"},
}
_ANNOUNCED = "portal_viewers_pending"


def _announce(session, rooms):
    """Publish `pending` for the rooms not yet announced in this transaction."""
    announced = session.info.setdefault(_ANNOUNCED, {})
    fresh = set(rooms) - set(announced)
    if ALL_ROOMS in announced or not fresh:
        return
    for room_id in fresh:
        announced[room_id] = secrets.token_hex(8)
    _publish({room_id: announced[room_id] for room_id in fresh}, "pending")


def _publish(marks, state):
    """One marker per room on its channel; a failure is logged (the cache's time limit
    then bounds how long a hub may use what it read before)."""
    if not current_app.config.get("LIVE_ANNOUNCE", True):
        return  # `make run` seeding the demo before anything serves
    try:
        live = current_app.extensions["live"]
        pipe = live.redis.pipeline(transaction=False)
        for room_id, mark in marks.items():
            text = json.dumps({"viewers": state, "mark": mark})
            pipe.publish(live.hub.room_channel(room_id), text)
        pipe.execute()
    except (redis.RedisError, OSError, KeyError, RuntimeError) as exc:
        log.error("live: could not announce a viewers change (%s): %s", state, exc)


def _rooms_of(session):
    """Rooms whose viewers this flush may change (ALL_ROOMS for a user's change)."""
    rooms = set()
    for obj in (*session.new, *session.deleted):
        if isinstance(obj, Participant):
            rooms.add(inspect(obj).dict.get("room_id") or ALL_ROOMS)
        elif isinstance(obj, Room):
            rooms.add(inspect(obj).dict.get("id") or ALL_ROOMS)
        elif isinstance(obj, User):
            rooms.add(ALL_ROOMS)
    for obj in session.dirty:
        if isinstance(obj, Participant | Room | User) and _deciding_change(obj):
            rooms.add(obj.id if isinstance(obj, Room) else ALL_ROOMS)
    return rooms


def _deciding_change(obj):
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in DECIDING[obj.__tablename__])


@event.listens_for(Session, "after_flush")
def _after_flush(session, _context):
    rooms = _rooms_of(session)
    if rooms:
        _announce(session, rooms)


@event.listens_for(Session, "do_orm_execute")
def _before_bulk(orm_execute_state):
    """`update(...)`, `delete(...)` and `insert(...)` statements skip the flush."""
    if not (
        orm_execute_state.is_update or orm_execute_state.is_delete or orm_execute_state.is_insert
    ):
        return
    table = getattr(orm_execute_state.statement, "table", None)
    columns = DECIDING.get(getattr(table, "name", None))
    if columns is None:
        return
    if orm_execute_state.is_update:
        values = getattr(orm_execute_state.statement, "_values", None) or {}
        if not columns & {getattr(key, "key", key) for key in values}:
            return
    _announce(orm_execute_state.session, {ALL_ROOMS})


@event.listens_for(Session, "after_commit")
def _after_commit(session):
    _settle(session)


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session, previous_transaction):
    if not previous_transaction.nested:  # a savepoint's rollback leaves the rest pending
        _settle(session)


def _settle(session):
    announced = session.info.pop(_ANNOUNCED, None)
    if announced:
        _publish(announced, "settled")
