"""Verbs that change a posted message: edit (history kept) and delete (a tombstone)."""

from datetime import timedelta
from functools import cache

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import aliased

from portal import events
from portal.events import message_changed
from portal.extensions import db
from portal.infra import audit
from portal.messaging.messages import MessageError, clean_body
from portal.messaging.uploads import discard
from portal.models import Message, MessageRevision
from portal.models.base import UTCDateTime, utcnow

#: The refusal an edit gets when the message was deleted first (or while it was saved).
DELETED = "This message was deleted."
#: Rounds of read-and-compare before a change gives up (each lost round means another
#: edit of the same message committed in between).
ATTEMPTS = 5


def edit_message(message, editor, body, now=None):
    """Replace the text, keeping the previous one for audit; unchanged text changes nothing.

    Refused with DELETED when the message is (or becomes, in a race) deleted: a deletion
    always wins, so "This message was deleted" means its text is gone from the database.
    """
    body = clean_body(body)
    if not body.strip() and not message.attachments:
        raise MessageError("A message can't be empty. Delete it instead.")
    now = now or utcnow()
    for _attempt in range(ATTEMPTS):
        if message.is_deleted:
            raise MessageError(DELETED)
        previous = message.body
        if body == previous:
            return message
        if _change(message, previous, body=body, edited_at=now):
            break
    else:
        raise MessageError("This message changed while you edited it. Please try again.")
    _revise(message, "edit", editor, previous, now)
    _after_body_change(message)
    db.session.commit()
    events.send(message_changed, message=message)
    return message


def delete_message(message, actor, now=None):
    """Tombstone the message for everyone: text and files gone, who and when recorded.

    Deleting a message someone else deleted first changes nothing (it is deleted)."""
    now = now or utcnow()
    for _attempt in range(ATTEMPTS):
        if message.is_deleted:
            return message
        previous = message.body
        if _change(message, previous, body="", deleted_at=now, deleted_by_id=actor.id):
            break
    else:
        raise MessageError("This message changed while you deleted it. Please try again.")
    files = list(message.attachments)
    _revise(message, "delete", actor, previous, now)
    if message.author_id != actor.id:
        _audit_deletion(message, actor, now)
    message.attachments.clear()
    message.mentions.clear()
    db.session.commit()
    discard(files)
    events.send(message_changed, message=message)
    return message


def _change(message, seen, **values):
    """Set `values` on the message only if it is still undeleted and still reads `seen`.

    A compare-and-set in one UPDATE: both databases evaluate its WHERE on the row as last
    committed (PostgreSQL re-checks it after waiting for a racing writer's row lock, SQLite
    takes its write lock first), so of an edit and a delete in flight together exactly one
    wins and the other learns it. A loss ends the transaction and reloads the message.
    """
    parameters = {f"new_{name}": value for name, value in values.items()}
    result = db.session.execute(
        _change_statement(tuple(values)),
        {"message_id": message.id, "seen": seen, **parameters},
        execution_options={"synchronize_session": False},
    )
    if result.rowcount == 1:
        db.session.expire(message, list(values))
        return True
    db.session.rollback()
    return False


@cache
def _change_statement(names):
    """Built once per set of columns (two: the edit's and the delete's)."""
    columns = Message.__table__.c
    return (
        update(Message)
        .where(
            Message.id == bindparam("message_id"),
            Message.deleted_at.is_(None),
            Message.body == bindparam("seen"),
        )
        .values({name: bindparam(f"new_{name}", type_=columns[name].type) for name in names})
    )


def _revise(message, action, actor, previous, now):
    """The revision row an edit or a deletion leaves: who, when, and the words it replaced."""
    db.session.add(
        MessageRevision(
            message_id=message.id,
            action=action,
            actor_id=actor.id,
            previous_body=previous,
            created_at=now,
        )
    )


def _audit_deletion(message, actor, now):
    """A message deleted by someone other than its author: who, whose, where (its words stay
    in the message's revisions, for Message audit; the trail does not copy them)."""
    author = message.author.name if message.author is not None else "a former user"
    when = message.created_at.strftime("%Y-%m-%d %H:%M UTC")
    summary = f"Deleted message {message.id} by {author} ({when}) in “{message.room.title}”"
    audit.record(
        actor,
        "message.deleted",
        user=message.author_id,
        room=message.room_id,
        message=message,
        summary=summary,
        now=now,
    )


def _after_body_change(message):
    """Re-read mentions from the new text (the search index follows by trigger)."""
    from portal.messaging.mentions import sync_mentions

    sync_mentions(message)


# --- catch-up: what a page that missed `update` events must replay ---------------------

#: A revision row is committed within this long of its `created_at`; a cursor only moves
#: past rows at least this old, so a row that commits after a later id is never skipped.
SETTLE_SECONDS = 60
#: At most this many changed messages per catch-up (a page shows far fewer).
CATCH_UP_MAX = 1000


def settled_cursor(after=0, now=None):
    """The highest revision id ≥ `after` that is safely committed (`after` if none newer).

    Revision ids are allocated in order but may commit out of order; ids are only passed
    once their row is SETTLE_SECONDS old. Replaying a newer change twice is harmless.
    """
    horizon = (now or utcnow()) - timedelta(seconds=SETTLE_SECONDS)
    found = db.session.scalar(_settled_statement(), {"after": after, "horizon": horizon})
    return max(after, found or 0)


@cache
def _settled_statement():
    """Built once (every room page runs it): building it cost more than running it."""
    return select(func.max(MessageRevision.id)).where(
        MessageRevision.id > bindparam("after"),
        MessageRevision.created_at <= bindparam("horizon", type_=UTCDateTime()),
    )


def changed_since(room, cursor, first, through, now=None):
    """(messages of `room` with ids in [first, through] edited or deleted after revision
    `cursor`, oldest change first; the cursor to send next time)."""
    ids = db.session.scalars(
        select(MessageRevision.message_id)
        .join(Message, Message.id == MessageRevision.message_id)
        .where(
            MessageRevision.id > cursor,
            Message.room_id == room.id,
            Message.id.between(first, through),
        )
        .group_by(MessageRevision.message_id)
        .order_by(func.max(MessageRevision.id))
        .limit(CATCH_UP_MAX)
    ).all()
    found = {m.id: m for m in db.session.scalars(select(Message).where(Message.id.in_(ids)))}
    return [found[mid] for mid in ids if mid in found], settled_cursor(cursor, now)


def catch_up(room, viewer, cursor, first, through, now=None):
    """The events a page missed since `cursor`, as the live stream would have sent them:
    `update` (the message partial) for edits and deletions in the page's range, `seen`
    (read positions, as seen.py shows them to this viewer) and the next cursor."""
    from portal.messaging.fragments import message_fragment
    from portal.messaging.seen import seen_events

    changed, cursor = changed_since(room, cursor, first, through, now)
    updates = [
        {"room_id": room.id, "message_id": m.id, "html": str(message_fragment(m))} for m in changed
    ]
    return {"cursor": cursor, "updates": updates, "seen": seen_events(room, viewer)}


# --- audit: the edit history and deletions, for admins (Settings → Message audit) ------

#: Revisions per audit page.
AUDIT_PAGE = 50


class AuditEntry:
    """One edit or deletion: who, when, where, the words it replaced and what followed."""

    __slots__ = (
        "id", "action", "at", "message_id", "room_id", "room_title", "actor_id", "actor_name",
        "author_id", "author_name", "previous", "replacement",
    )  # fmt: skip

    def __init__(self, row):
        for name, value in zip(self.__slots__[:-1], row, strict=True):
            setattr(self, name, value)
        self.replacement = None

    @property
    def moderation(self):
        """A deletion by someone other than the author (an admin moderating)."""
        return self.action == "delete" and self.actor_id != self.author_id


def audit_trail(viewer, before=None, room_id=None, limit=AUDIT_PAGE):
    """(edits and deletions in rooms `viewer` may see now, newest first; the id to pass as
    `before` for the next older page, or None). Optionally one room only."""
    from portal.access import visible_rooms
    from portal.models import Room, User

    actor, author = aliased(User), aliased(User)
    query = (
        select(
            MessageRevision.id,
            MessageRevision.action,
            MessageRevision.created_at,
            Message.id,
            Message.room_id,
            Room.title,
            MessageRevision.actor_id,
            actor.name,
            Message.author_id,
            author.name,
            MessageRevision.previous_body,
        )  # fmt: skip
        .join(Message, Message.id == MessageRevision.message_id)
        .join(Room, Room.id == Message.room_id)
        .outerjoin(actor, actor.id == MessageRevision.actor_id)
        .outerjoin(author, author.id == Message.author_id)
        .where(Message.room_id.in_(visible_rooms(viewer).with_only_columns(Room.id)))
        .order_by(MessageRevision.id.desc())
        .limit(limit + 1)
    )
    if before:
        query = query.where(MessageRevision.id < before)
    if room_id:
        query = query.where(Message.room_id == room_id)
    entries = [AuditEntry(row) for row in db.session.execute(query)]
    older = entries[limit - 1].id if len(entries) > limit else None
    entries = entries[:limit]
    _fill_replacements(entries)
    return entries, older


def _fill_replacements(entries):
    """An edit's new text: the next revision's previous text, else the message's body."""
    edits = [e for e in entries if e.action == "edit"]
    if not edits:
        return
    ids = {e.message_id for e in edits}
    later = db.session.execute(
        select(MessageRevision.message_id, MessageRevision.id, MessageRevision.previous_body)
        .where(MessageRevision.message_id.in_(ids), MessageRevision.id > min(e.id for e in edits))
        .order_by(MessageRevision.id)
    ).all()
    bodies = dict(
        db.session.execute(select(Message.id, Message.body).where(Message.id.in_(ids))).all()
    )
    for entry in edits:
        following = [text for mid, rid, text in later if mid == entry.message_id and rid > entry.id]
        entry.replacement = following[0] if following else bodies[entry.message_id]
