"""A conversation as one ZIP: a self-contained HTML transcript and the files it links to,
streamed a batch of messages at a time (memory stays flat whatever the room's size)."""

import re

from flask import current_app, render_template
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.extensions import db
from portal.infra import audit
from portal.infra.zipstream import zip_stream
from portal.messaging.rendering import author_name, message_html
from portal.messaging.storage import get_storage
from portal.messaging.uploads import human_size
from portal.models import Attachment, Message, Room
from portal.models.base import utcnow

#: Messages rendered (and attachments listed) per statement.
BATCH = 500
_UNSAFE = re.compile(r"[^\w.\- ]+")


def export_room(room, viewer, now=None):
    """Record the export, then return the ZIP's bytes as a generator (streamed)."""
    now = now or utcnow()
    summary = f"Exported the conversation “{room.title}” with its files"
    audit.record(viewer, "export.made", room=room, summary=summary, now=now)
    db.session.commit()
    return zip_stream(_entries(room.id, viewer.name, now))


def export_name(room, now):
    slug = re.sub(r"[^A-Za-z0-9]+", "-", room.title).strip("-")[:60] or "conversation"
    return f"{slug}-{now:%Y%m%d}.zip"


def file_path(attachment_id, filename):
    """`files/<id>-<name>`: unique, and never a path outside the folder."""
    name = _UNSAFE.sub("_", filename).lstrip(".") or "file"
    return f"files/{attachment_id}-{name}"


def _entries(room_id, exported_by, now):
    room = db.session.get(Room, room_id)
    yield "transcript.html", _transcript(room, exported_by, now), now
    for row in _files(room_id):
        yield file_path(row.id, row.filename), _opener(row.storage_name), row.created_at


def _transcript(room, exported_by, now):
    """The transcript's HTML, a batch of messages at a time."""
    page = render_template(
        "rooms/transcript.html",
        room=room,
        exported_by=exported_by,
        exported_at=now,
        portal_name=current_app.config["PORTAL_NAME"],
    )
    head, _, tail = page.partition("<!-- messages -->")
    yield head
    for batch in _batches(room.id):
        yield _rendered(batch)
    yield tail


def _batches(room_id):
    after = 0
    while True:
        batch = db.session.scalars(
            select(Message)
            .where(Message.room_id == room_id, Message.id > after)
            .options(selectinload(Message.author), selectinload(Message.attachments))
            .order_by(Message.id)
            .limit(BATCH)
        ).all()
        if not batch:
            return
        yield batch
        after = batch[-1].id


def _rendered(batch):
    """One template call per batch: the per-call cost of rendering dwarfs a message's."""
    items = [
        (
            m,
            author_name(m),
            message_html(m.body),
            [(a, file_path(a.id, a.filename), human_size(a.size)) for a in m.attachments],
        )
        for m in batch
    ]
    return render_template("rooms/_transcript_messages.html", items=items)


_FILE_COLUMNS = (Attachment.id, Attachment.filename, Attachment.storage_name, Attachment.created_at)


def _files(room_id):
    """The stored files of the room's standing messages, as plain rows, BATCH at a time."""
    after = 0
    while True:
        rows = db.session.execute(
            select(
                Attachment.id, Attachment.filename, Attachment.storage_name, Attachment.created_at
            )
            .join(Message, Message.id == Attachment.message_id)
            .where(Message.room_id == room_id, Message.deleted_at.is_(None), Attachment.id > after)
            .order_by(Attachment.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        yield from rows
        after = rows[-1].id


def _opener(storage_name):
    return lambda: get_storage().open(storage_name)
