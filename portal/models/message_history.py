from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.models.base import UTCDateTime, owned_key, utcnow


class MessageRevision(db.Model):
    """An edit or a deletion, with the words it replaced: the audit trail for admins."""

    __tablename__ = "message_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[str] = mapped_column(String(16))  # "edit" or "delete"
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    previous_body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Mention(db.Model):
    """A participant named with `@First Last` in a message."""

    __tablename__ = "mentions"

    message_id: Mapped[int] = owned_key("messages.id")
    user_id: Mapped[int] = owned_key("users.id", index=True)
    name: Mapped[str] = mapped_column(String(120))
