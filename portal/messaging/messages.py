"""Verbs on messages: post and page through (reading lives in `reading`)."""

import re
from functools import cache

from flask import current_app, has_request_context
from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from portal.events import message_posted, send
from portal.extensions import db
from portal.infra import quotas
from portal.messaging import reading, uploads
from portal.messaging.mentions import new_mentions
from portal.models import Message, Room, User
from portal.models.base import utcnow
from portal.text import is_blank, neutralize_bidi

BODY_MAX = 10_000
PAGE_SIZE = 50
CLIENT_MSG_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


class MessageError(ValueError):
    """A refused message, with what to tell the sender (and the HTTP status to answer with)."""

    status = 422
    #: Seconds after which sending again may succeed (a Retry-After header), if known.
    retry_after = None

    def __init__(self, message, status=None):
        super().__init__(message)
        if status is not None:
            self.status = status


class MessageRateError(MessageError):
    """The sender posted too many messages in a short time (answered with 429)."""

    status = 429

    def __init__(self, message, retry_after):
        super().__init__(message)
        self.retry_after = retry_after


def count_message(author, now=None):
    """Count one message by `author` against MESSAGE_LIMIT (web requests only)."""
    if not has_request_context():
        return
    key = f"user:{author.id}"
    if not quotas.take("MESSAGE_LIMIT", "messages", key):
        limit = current_app.config["MESSAGE_LIMIT"]
        wait = quotas.retry_after("MESSAGE_LIMIT", "messages", key, (now or utcnow()).timestamp())
        raise MessageRateError(
            f"You are sending messages very fast (the limit is {limit}). Wait a moment and "
            "send it again — your draft is kept.",
            retry_after=wait,
        )


def clean_body(body):
    """Line endings normalised, trailing space trimmed, bidi overrides dropped; refuses
    oversized bodies. A body of only invisible characters is empty."""
    body = neutralize_bidi(body).replace("\r\n", "\n").replace("\r", "\n").rstrip()
    if is_blank(body):
        body = ""
    if len(body) > BODY_MAX:
        raise MessageError(
            f"That message is {len(body):,} characters long; the limit is {BODY_MAX:,}."
        )
    return body


def post_message(room, author, body, client_msg_id=None, files=(), attachments=(), now=None):
    """Store a message with its uploaded `files`, then announce it.

    A repeated `client_msg_id` returns the first message. `attachments` are unsaved
    Attachment objects already on disk. Whatever fails, none of the files stays stored.
    The message counts against the sender's MESSAGE_LIMIT before any file is processed.
    """
    count_message(author, now)
    try:
        stored = uploads.store_files(files, author.id)
    except uploads.UploadError as exc:
        raise MessageError(str(exc), exc.status) from exc
    attachments = [*attachments, *stored]
    try:
        message, stored_now = _post(room, author, body, client_msg_id, attachments, now)
    except BaseException:
        uploads.discard(stored)
        raise
    if not stored_now:
        # A repeated client_msg_id returns the first message: these files belong to nothing.
        uploads.discard(stored)
    return message


def _post(room, author, body, client_msg_id, attachments, now):
    """(the message, True) once stored; (the first one, False) for a repeated client_msg_id.

    Five statements: the INSERTs of the message (and its attachments or mentions, if
    any), the room's activity, the author's read marker (one upsert) and the commit. A
    repeat is found by the unique (author, client_msg_id) index, not by a SELECT first.
    """
    body = clean_body(body)
    if not body.strip() and not attachments:
        raise MessageError("Write a message or attach a file before sending.")
    if client_msg_id and not CLIENT_MSG_ID.match(client_msg_id):
        client_msg_id = None
    now = now or utcnow()
    message = Message(
        room_id=room.id,
        author_id=author.id,
        body=body,
        client_msg_id=client_msg_id,
        created_at=now,
        attachments=list(attachments),
        # Built before the insert: assigning after it would first load the (empty) list.
        mentions=new_mentions(room.id, body, author.id),
    )
    db.session.add(message)
    try:
        db.session.flush()
    except IntegrityError:
        # The same form sent again (a retry, or a double submit racing the first).
        db.session.rollback()
        existing = _find_duplicate(author, client_msg_id) if client_msg_id else None
        if existing is None:
            raise
        return existing, False
    db.session.connection().execute(_room_activity_statement(), {"room_id": room.id, "now": now})
    reading.advance_read(author.id, room.id, message.id)
    _commit_keeping_loaded()
    set_committed_value(room, "last_activity_at", now)
    send(message_posted, message=message)
    return message, True


@cache
def _room_activity_statement():
    """Built once per process and run as Core (statement building, and the ORM's sync of
    the session's rooms, cost more than the UPDATE itself; the room is set after the commit)."""
    rooms = Room.__table__
    return (
        update(rooms)
        .where(rooms.c.id == bindparam("room_id"))
        .values(last_activity_at=bindparam("now"))
    )


def _commit_keeping_loaded():
    """Commit without expiring the session's objects: the message just stored, its author
    and room answer the request and feed the publish; re-reading them after the commit
    (the default) cost three SELECTs per send."""
    session = db.session()
    expire = session.expire_on_commit
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = expire


def _find_duplicate(author, client_msg_id):
    return db.session.scalar(
        select(Message).where(
            Message.author_id == author.id, Message.client_msg_id == client_msg_id
        )
    )


@cache
def _rows_statements():
    """(newest, before an id, after an id): the columns a message fragment depends on (see
    `fragments`), read as plain rows; built once per process."""
    m, u = Message.__table__.c, User.__table__.c
    rows = (
        select(
            m.id,
            m.room_id,
            m.author_id,
            m.body,
            m.created_at,
            m.edited_at,
            m.deleted_at,
            u.name.label("author_name"),
        )
        .select_from(Message.__table__.outerjoin(User.__table__, u.id == m.author_id))
        .where(m.room_id == bindparam("room_id"))
        .limit(bindparam("limit"))
    )
    newest = rows.order_by(m.id.desc())
    return (
        newest,
        newest.where(m.id < bindparam("edge")),
        rows.where(m.id > bindparam("edge")).order_by(m.id),
    )


def message_rows(room_id, before=None, after=None, limit=PAGE_SIZE):
    """(rows, more): up to `limit` messages in id order — the newest, those before an id,
    or those after an id — as plain rows (no ORM objects; the statements are built once).
    `more` says whether messages exist beyond the page on its open side (older ones, or
    newer ones with `after`). Rows carry `author_name` (None: a former user).

    Keyset pagination on (room_id, id): never OFFSET."""
    newest, older, newer = _rows_statements()
    if after is not None:
        statement, edge = newer, after
    elif before is not None:
        statement, edge = older, before
    else:
        statement, edge = newest, None
    params = {"room_id": room_id, "limit": limit + 1, "edge": edge}
    rows = db.session.connection().execute(statement, params).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return (rows, more) if after is not None else (rows[::-1], more)


def message_rows_around(room_id, message_id, limit=PAGE_SIZE):
    """(rows, older, newer) of about `limit` messages with `message_id` in the middle."""
    half = limit // 2
    before, older = message_rows(room_id, before=message_id + 1, limit=half + 1)
    after, newer = message_rows(room_id, after=message_id, limit=limit - len(before))
    return before + after, older, newer
