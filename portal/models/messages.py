from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.base import UTCDateTime, owned_key, utcnow
from portal.models.rooms import Room
from portal.models.users import User

if TYPE_CHECKING:
    from portal.models.message_history import Mention


class Message(db.Model):
    __tablename__ = "messages"
    __table_args__ = (
        # A double-submitted form carries the same client_msg_id: one message.
        UniqueConstraint("author_id", "client_msg_id"),
        Index("ix_messages_room_id_id", "room_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text, default="")
    client_msg_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A deleted message stays as a tombstone: body emptied, files gone, who and when kept.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    room: Mapped[Room] = relationship()
    author: Mapped[User | None] = relationship(foreign_keys=[author_id])
    attachments: Mapped[list["Attachment"]] = relationship(
        back_populates="message", cascade="all, delete-orphan", order_by="Attachment.id"
    )

    mentions: Mapped[list["Mention"]] = relationship(
        cascade="all, delete-orphan", order_by="Mention.user_id"
    )

    @property
    def is_deleted(self):
        return self.deleted_at is not None

    def __repr__(self):
        return f"<Message {self.id} room={self.room_id}>"


class Attachment(db.Model):
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(255))
    storage_name: Mapped[str] = mapped_column(String(128), unique=True)
    content_type: Mapped[str] = mapped_column(String(128))
    size: Mapped[int] = mapped_column(Integer)
    is_image: Mapped[bool] = mapped_column(Boolean, default=False)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    thumb_name: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    message: Mapped[Message] = relationship(back_populates="attachments")


class ReadState(db.Model):
    """Per user and room: what was read, and what email already covered."""

    __tablename__ = "read_states"

    user_id: Mapped[int] = owned_key("users.id")
    room_id: Mapped[int] = owned_key("rooms.id", index=True)
    last_read_message_id: Mapped[int] = mapped_column(Integer, default=0)
    notified_through_message_id: Mapped[int] = mapped_column(Integer, default=0)
    reminded_through_message_id: Mapped[int] = mapped_column(Integer, default=0)
    # When the last client email covering this room was recorded (reminders skip it a while).
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
