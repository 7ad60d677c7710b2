"""Verbs on rooms: create, rename, archive, change participants, list for a user."""

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite

from portal.access import visible_rooms
from portal.events import participants_changed, room_changed, send
from portal.extensions import db
from portal.messaging.reading import unread_counts
from portal.models import Message, Participant, Room, User
from portal.models.base import utcnow
from portal.models.rooms import TITLE_MAX
from portal.web.text import clean_name


class RoomError(ValueError):
    """A refused change, with a message for the page."""


def clean_title(title):
    title = clean_name(title)
    if not title:
        raise RoomError("Give the conversation a title.")
    if len(title) > TITLE_MAX:
        raise RoomError(f"The title can be at most {TITLE_MAX} characters.")
    return title


def selectable_users(ids):
    """The active-or-invited users among `ids` (deactivated people can't be added)."""
    if not ids:
        return []
    return list(db.session.scalars(select(User).where(User.id.in_(ids), User.active.is_(True))))


def create_room(creator, title, participant_ids=(), now=None):
    """Create a room; the creator is always a participant."""
    now = now or utcnow()
    room = Room(title=clean_title(title), created_by_id=creator.id, created_at=now)
    room.last_activity_at = now
    db.session.add(room)
    db.session.flush()
    members = {u.id for u in selectable_users(set(participant_ids))} | {creator.id}
    for user_id in sorted(members):
        db.session.add(Participant(room_id=room.id, user_id=user_id, added_by_id=creator.id))
    db.session.commit()
    send(participants_changed, room=room, added=members, removed=set())
    return room


def participant_ids(room):
    return set(
        db.session.scalars(select(Participant.user_id).where(Participant.room_id == room.id))
    )


def set_participants(room, actor, wanted_ids, shown_ids=None):
    """Make the room's participants `wanted_ids` (the creator stays); returns (added, removed).

    With `shown_ids` (who the form showed as participants), only the differences the user
    made are applied: someone removed or added by another person meanwhile stays so.
    """
    if room.is_archived:
        raise RoomError("This conversation is archived. Unarchive it to change participants.")
    current = participant_ids(room)
    wanted_ids = set(wanted_ids)
    if shown_ids is not None:
        shown_ids = set(shown_ids)
        wanted_ids = (current | (wanted_ids - shown_ids)) - (shown_ids - wanted_ids)
    wanted = {u.id for u in selectable_users(wanted_ids)}
    # Deactivated participants stay listed unless explicitly dropped from the form.
    wanted |= {uid for uid in current & wanted_ids}
    if room.created_by_id:
        wanted.add(room.created_by_id)
    added, removed = wanted - current, current - wanted
    _insert_participants(room, actor, added)
    if removed:
        db.session.execute(
            delete(Participant).where(
                Participant.room_id == room.id, Participant.user_id.in_(removed)
            )
        )
    db.session.commit()
    if added or removed:
        send(participants_changed, room=room, added=added, removed=removed)
    return added, removed


def _insert_participants(room, actor, user_ids):
    """Add participants; one already added by a concurrent request is left as it is."""
    if not user_ids:
        return
    now = utcnow()
    rows = [
        {
            "room_id": room.id,
            "user_id": uid,
            "added_by_id": actor.id,
            "added_at": now,
            "muted": False,
        }
        for uid in sorted(user_ids)
    ]
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    insert = dialect.insert(Participant).values(rows)
    db.session.execute(insert.on_conflict_do_nothing(index_elements=["room_id", "user_id"]))


def rename_room(room, title):
    if room.is_archived:
        raise RoomError("This conversation is archived. Unarchive it to rename it.")
    room.title = clean_title(title)
    db.session.commit()
    send(room_changed, room=room)


def archive_room(room, now=None):
    room.archived_at = now or utcnow()
    db.session.commit()
    send(room_changed, room=room)


def unarchive_room(room):
    room.archived_at = None
    db.session.commit()
    send(room_changed, room=room)


def room_list(user):
    """The rooms `user` may view, newest activity first, with unread count and last message.

    Three queries whatever the number of rooms: rooms, unread counts, last messages.
    """
    rooms = list(
        db.session.scalars(
            visible_rooms(user).order_by(Room.last_activity_at.desc(), Room.id.desc())
        )
    )
    ids = [room.id for room in rooms]
    unread = unread_counts(user, ids)
    last_ids = (
        select(func.max(Message.id)).where(Message.room_id.in_(ids)).group_by(Message.room_id)
    )
    last = (
        {
            m.room_id: m
            for m in db.session.scalars(
                select(Message)
                .where(Message.id.in_(last_ids))
                .options(db.joinedload(Message.author), db.selectinload(Message.attachments))
            )
        }
        if ids
        else {}
    )
    return [RoomSummary(room, unread.get(room.id, 0), last.get(room.id)) for room in rooms]


class RoomSummary:
    __slots__ = ("room", "unread", "last_message")

    def __init__(self, room, unread, last_message):
        self.room, self.unread, self.last_message = room, unread, last_message


def unread_by_room(user):
    """{room_id: unread count} over every room `user` may view (the layouts' totals)."""
    ids = list(db.session.scalars(visible_rooms(user).with_only_columns(Room.id)))
    return unread_counts(user, ids)
