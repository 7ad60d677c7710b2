from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.models.base import UTCDateTime

#: What an audit row's `actor_label` says when no person acted.
SYSTEM, EMAIL = "system", "email"


class AuditEvent(db.Model):
    """One row of the audit trail: who did what to whom, and from where.

    Append-only: written in the transaction of the change it records, never updated, deleted
    only by the retention job. Subject ids carry no foreign key, so erasing or deleting the
    subject leaves the row (and its summary, written at the time) as it was.
    """

    __tablename__ = "audit_events"
    # Newest first under every filter: each index ends in (at, id), the keyset order.
    __table_args__ = (
        Index("ix_audit_events_at_id", "at", "id"),
        Index("ix_audit_events_actor", "actor_id", "at", "id"),
        Index("ix_audit_events_user", "user_id", "at", "id"),
        Index("ix_audit_events_room", "room_id", "at", "id"),
        Index("ix_audit_events_action", "action", "at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    # The actor's name at the time, or "system" / "email".
    actor_label: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(40))
    user_id: Mapped[int | None] = mapped_column(Integer)
    room_id: Mapped[int | None] = mapped_column(Integer)
    message_id: Mapped[int | None] = mapped_column(Integer)
    summary: Mapped[str] = mapped_column(Text)
    ip: Mapped[str | None] = mapped_column(String(45))
