"""Verbs on rooms: create, rename, archive, change participants, list for a user."""

from functools import cache

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite

from portal.access import may_join, prepared
from portal.events import participants_changed, room_changed, send
from portal.extensions import db
from portal.infra import audit
from portal.messaging.reading import unread_by_room
from portal.messaging.rendering import FORMER_USER, excerpt
from portal.models import Attachment, Message, Participant, Room, User
from portal.models.base import utcnow
from portal.models.rooms import CHAT, KINDS, TITLE_MAX, RoomFacts
from portal.text import clean_name


class RoomError(ValueError):
    """A refused change, with a message for the page and the form field it is about."""

    def __init__(self, message, field="title"):
        super().__init__(message)
        self.field = field


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


def clean_kind(kind):
    """`chat` (also for an empty value) or `announcement`; anything else is refused."""
    kind = (kind or CHAT).strip()
    if kind not in KINDS:
        raise RoomError("Choose a chat room or an announcement.", "kind")
    return kind


def ensure_may_join(room, users):
    """Refuse, naming them, people who may not be participants (clients in a team-only room)."""
    refused = sorted(u.name for u in users if not may_join(u, room))
    if refused:
        raise RoomError(
            "A team-only conversation is for internal users: no client can be added "
            f"({', '.join(refused)}). Remove them or untick Team only.",
            "participant_ids",
        )


def create_room(creator, title, participant_ids=(), now=None, kind=CHAT, team_only=False):
    """Create a room of `kind` (team-only: internal users only); the creator is always a
    participant."""
    now = now or utcnow()
    room = Room(title=clean_title(title), created_by_id=creator.id, created_at=now)
    room.kind, room.team_only = clean_kind(kind), bool(team_only)
    room.last_activity_at = now
    chosen = selectable_users(set(participant_ids))
    ensure_may_join(room, chosen)
    db.session.add(room)
    db.session.flush()
    people = {u.id: u for u in chosen}
    members = set(people) | {creator.id}
    for user_id in sorted(members):
        db.session.add(Participant(room_id=room.id, user_id=user_id, added_by_id=creator.id))
    audit.record(creator, "room.created", room=room, summary=f"Created “{room.title}”", now=now)
    _audit_participants(room, creator, [people[i] for i in sorted(people) if i != creator.id], [])
    db.session.commit()
    send(participants_changed, room=room, added=members, removed=set())
    return room


def participant_ids(room):
    return set(
        db.session.scalars(select(Participant.user_id).where(Participant.room_id == room.id))
    )


def set_participants(room, actor, wanted_ids, shown_ids=None, team_only=None):
    """Make the room's participants `wanted_ids` (the creator stays); returns (added, removed).

    With `shown_ids` (who the form showed as participants), only the differences the user
    made are applied: someone removed or added by another person meanwhile stays so.
    `team_only` (True/False; None keeps it) switches the room to or from team only: it is
    refused while a client would stay in it.
    """
    if room.is_archived:
        raise RoomError(
            "This conversation is archived. Unarchive it to change participants.",
            "participant_ids",
        )
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
    switched = team_only is not None and bool(team_only) != room.team_only
    if switched:
        room.team_only = bool(team_only)
    if room.team_only:
        try:
            ensure_may_join(room, users_of(wanted))
        except RoomError:
            db.session.rollback()
            raise
    added, removed = wanted - current, current - wanted
    _insert_participants(room, actor, added)
    _audit_participants(room, actor, users_of(added), users_of(removed))
    if removed:
        db.session.execute(
            delete(Participant).where(
                Participant.room_id == room.id, Participant.user_id.in_(removed)
            )
        )
    db.session.commit()
    if added or removed:
        send(participants_changed, room=room, added=added, removed=removed)
    if switched:
        send(room_changed, room=room)
    return added, removed


def users_of(ids):
    """The users with these ids, by id (deactivated ones too)."""
    if not ids:
        return []
    return list(db.session.scalars(select(User).where(User.id.in_(ids)).order_by(User.id)))


def _audit_participants(room, actor, added, removed):
    """One audit row per person added or removed, naming them and the room as they are now."""
    for action, people, verb in (
        ("participant.added", added, "Added"),
        ("participant.removed", removed, "Removed"),
    ):
        for person in people:
            summary = f"{verb} {person.name} <{person.email}> ({person.kind}) in “{room.title}”"
            audit.record(actor, action, user=person, room=room, summary=summary)


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


def rename_room(room, title, actor=audit.SYSTEM):
    if room.is_archived:
        raise RoomError("This conversation is archived. Unarchive it to rename it.")
    before, room.title = room.title, clean_title(title)
    if room.title != before:
        summary = f"Renamed “{before}” to “{room.title}”"
        audit.record(actor, "room.renamed", room=room, summary=summary)
    db.session.commit()
    send(room_changed, room=room)


def archive_room(room, now=None, actor=audit.SYSTEM):
    if room.archived_at is None:
        summary = f"Archived “{room.title}”"
        audit.record(actor, "room.archived", room=room, summary=summary, now=now)
    room.archived_at = now or utcnow()
    db.session.commit()
    send(room_changed, room=room)


def unarchive_room(room, actor=audit.SYSTEM):
    if room.archived_at is not None:
        audit.record(actor, "room.unarchived", room=room, summary=f"Unarchived “{room.title}”")
    room.archived_at = None
    db.session.commit()
    send(room_changed, room=room)


#: Rooms per room-list page: the list's cost stays flat whatever the rooms a user sees.
ROOM_LIST_PAGE = 50


def room_list(user, page=1, archived_last=False):
    """One page of the rooms `user` may view, newest activity first: (summaries, more).

    `archived_last` puts archived rooms after the others (the workspace lists them apart).
    A fixed number of statements (built once per process, run on the connection without
    the ORM) returning plain rows, at most ROOM_LIST_PAGE rooms.
    """
    statement = _room_page_statement(user, archived_last)
    offset = (page - 1) * ROOM_LIST_PAGE
    parameters = {"viewer_id": user.id, "offset": offset}
    rows = db.session.connection().execute(statement, parameters).all()
    rows, more = rows[:ROOM_LIST_PAGE], len(rows) > ROOM_LIST_PAGE
    previews = _previews([row.id for row in rows])
    unread = unread_by_room(user)
    summaries = [RoomSummary(*row, unread.get(row.id, 0), previews.get(row.id)) for row in rows]
    return summaries, more


@prepared
def _room_page_statement(viewer, visible, archived_last):
    order = (Room.last_activity_at.desc(), Room.id.desc())
    if archived_last:
        order = (Room.archived_at.is_not(None), *order)
    return (
        visible.with_only_columns(
            Room.id, Room.title, Room.archived_at, Room.last_activity_at, Room.kind, Room.team_only
        )
        .order_by(*order)
        .limit(ROOM_LIST_PAGE + 1)
        .offset(bindparam("offset"))
    )


class RoomSummary(RoomFacts):
    """A room-list row: plain values (hashable, for the list's ETag), no ORM objects."""

    __slots__ = (
        "id", "title", "archived_at", "last_activity_at", "kind", "team_only", "unread", "preview"
    )  # fmt: skip

    def __init__(self, id, title, archived_at, last_activity_at, kind, team_only, unread, preview):
        self.id, self.title, self.archived_at = id, title, archived_at
        self.last_activity_at, self.kind, self.team_only = last_activity_at, kind, team_only
        self.unread, self.preview = unread, preview

    def key(self):
        """Everything the row shows, as a tuple."""
        return tuple(getattr(self, name) for name in self.__slots__)


def _previews(room_ids):
    """{room_id: "Author: excerpt"} of each room's last message, in one statement."""
    if not room_ids:
        return {}
    rows = db.session.connection().execute(_previews_statement(), {"room_ids": room_ids})
    return {row[0]: _preview(*row[1:]) for row in rows}


@cache
def _previews_statement():
    """Each listed room's last message: body, deleted, author's name, files (built once)."""
    last_ids = (
        select(func.max(Message.id))
        .where(Message.room_id.in_(bindparam("room_ids", expanding=True)))
        .group_by(Message.room_id)
    )
    of_message = Attachment.message_id == Message.id
    files = select(func.count(Attachment.id)).where(of_message).correlate(Message)
    first_file = (
        select(Attachment.filename).where(of_message).order_by(Attachment.id).limit(1)
    ).correlate(Message)
    return (
        select(
            Message.room_id,
            Message.body,
            Message.deleted_at,
            User.name,
            files.scalar_subquery(),
            first_file.scalar_subquery(),
        )
        .outerjoin(User, User.id == Message.author_id)
        .where(Message.id.in_(last_ids))
    )


def _preview(body, deleted_at, author, files, first_file):
    """What the room list says of a last message (as the room page would, in one line)."""
    if deleted_at is not None:
        text = "message deleted"
    elif body:
        text = excerpt(body)
    elif files:
        text = f"sent {first_file}" + (f" and {files - 1} more" if files > 1 else "")
    else:
        text = ""
    return f"{author if author is not None else FORMER_USER}: {text}"
