from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.base import UTCDateTime, utcnow
from portal.models.users import User

TITLE_MAX = 120

#: Kinds of room (PRODUCT.md §1b): everyone writes in a chat room; in an announcement
#: only internal users do, clients read.
CHAT, ANNOUNCEMENT = "chat", "announcement"
KINDS = (CHAT, ANNOUNCEMENT)


class RoomFacts:
    """What a room's columns say about it, for the model and for plain room-list rows."""

    __slots__ = ()

    @property
    def is_archived(self):
        return self.archived_at is not None

    @property
    def is_announcement(self):
        return self.kind == ANNOUNCEMENT


class Room(RoomFacts, db.Model):
    __tablename__ = "rooms"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Newest activity first in room lists: bumped by every message.
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(20), default=CHAT, server_default=CHAT)
    # Internal users only: no client is ever added, and no client's portal lists it.
    team_only: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    created_by: Mapped[User | None] = relationship()
    participants: Mapped[list["Participant"]] = relationship(
        back_populates="room", cascade="all, delete-orphan"
    )

    def __repr__(self):
        return f"<Room {self.id} {self.title!r}>"


class Participant(db.Model):
    __tablename__ = "participants"
    __table_args__ = (UniqueConstraint("room_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    muted: Mapped[bool] = mapped_column(Boolean, default=False)
    # Internal users: only mentions in this room are emailed (no reminders, no recaps).
    mentions_only: Mapped[bool] = mapped_column(Boolean, default=False)

    room: Mapped[Room] = relationship(back_populates="participants")
    user: Mapped[User] = relationship(foreign_keys=[user_id])
