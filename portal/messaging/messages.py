"""Verbs on messages: post and page through (reading lives in `reading`)."""

import re

from flask import current_app, has_request_context
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value

from portal.events import message_posted, send
from portal.extensions import db
from portal.messaging import reading, uploads
from portal.messaging.mentions import new_mentions
from portal.models import Message, Room
from portal.models.base import utcnow
from portal.people import quotas
from portal.web.text import is_blank, neutralize_bidi

BODY_MAX = 10_000
PAGE_SIZE = 50
CLIENT_MSG_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


class MessageError(ValueError):
    """A refused message, with what to tell the sender (and the HTTP status to answer with)."""

    status = 422

    def __init__(self, message, status=None):
        super().__init__(message)
        if status is not None:
            self.status = status


class MessageRateError(MessageError):
    """The sender posted too many messages in a short time (answered with 429)."""

    status = 429


def count_message(author):
    """Count one message by `author` against MESSAGE_LIMIT (web requests only)."""
    if not has_request_context():
        return
    if not quotas.take("MESSAGE_LIMIT", "messages", f"user:{author.id}"):
        limit = current_app.config["MESSAGE_LIMIT"]
        raise MessageRateError(
            f"You are sending messages very fast (the limit is {limit}). Wait a moment and "
            "send it again — your draft is kept."
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
    count_message(author)
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
    db.session.execute(update(Room).where(Room.id == room.id).values(last_activity_at=now))
    reading.advance_read(author.id, room.id, message.id)
    _commit_keeping_loaded()
    set_committed_value(room, "last_activity_at", now)
    send(message_posted, message=message)
    return message, True


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


def messages_page(room, before=None, after=None, limit=PAGE_SIZE):
    """Up to `limit` messages in id order: the newest, those before an id, or after an id.

    Keyset pagination on (room_id, id): never OFFSET.
    """
    query = (
        select(Message)
        .where(Message.room_id == room.id)
        .options(
            selectinload(Message.author),
            selectinload(Message.attachments),
            selectinload(Message.mentions),
        )
    )
    if after is not None:
        return list(
            db.session.scalars(query.where(Message.id > after).order_by(Message.id).limit(limit))
        )
    if before is not None:
        query = query.where(Message.id < before)
    newest_first = list(db.session.scalars(query.order_by(Message.id.desc()).limit(limit)))
    return newest_first[::-1]


def messages_around(room, message_id, limit=PAGE_SIZE):
    """About `limit` messages with `message_id` in the middle (a search hit's context)."""
    half = limit // 2
    before = messages_page(room, before=message_id + 1, limit=half + 1)
    return before + messages_page(room, after=message_id, limit=limit - len(before))


def has_newer(room, last_id):
    return (
        last_id is not None
        and db.session.scalar(
            select(Message.id).where(Message.room_id == room.id, Message.id > last_id).limit(1)
        )
        is not None
    )


def has_older(room, first_id):
    return (
        first_id is not None
        and db.session.scalar(
            select(Message.id).where(Message.room_id == room.id, Message.id < first_id).limit(1)
        )
        is not None
    )
