from datetime import UTC, datetime

from sqlalchemy import DateTime, ForeignKey
from sqlalchemy.orm import mapped_column
from sqlalchemy.types import TypeDecorator


def utcnow():
    return datetime.now(UTC)


def one_line(text):
    """White space folded to single spaces, none at either end: names, titles, excerpts."""
    return " ".join((text or "").split())


def owned_key(target, **options):
    """Part of a composite primary key that belongs to `target` ("users.id") and goes with it."""
    return mapped_column(ForeignKey(target, ondelete="CASCADE"), primary_key=True, **options)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every database (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime; use UTC-aware datetimes")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value
