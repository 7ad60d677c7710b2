"""Settings → Activity: the audit trail read back, newest first, filtered, paged by keyset,
and exported as CSV."""

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import and_, or_, select, tuple_

from portal.extensions import db
from portal.infra.audit import KINDS
from portal.models.audit import AuditEvent

#: Rows per Activity page.
PAGE = 50
#: Rows fetched per statement while a CSV export streams.
CSV_BATCH = 1000
CSV_HEADER = ("When (UTC)", "Who", "What", "Summary", "Person id", "Room id", "Message id", "IP")
# A spreadsheet reads a cell starting with these as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Filters:
    """What the Activity page shows: ids, an action and a date range (inclusive days)."""

    person: int | None = None
    room: int | None = None
    kind: str | None = None
    since: date | None = None
    until: date | None = None

    @classmethod
    def from_args(cls, args, parse_id):
        kind = args.get("kind") or None
        return cls(
            person=parse_id(args.get("person")),
            room=parse_id(args.get("room")),
            kind=kind if kind in KINDS else None,
            since=_day(args.get("since")),
            until=_day(args.get("until")),
        )

    def as_args(self):
        """The query string of these filters (for links and the CSV export)."""
        values = {
            "person": self.person,
            "room": self.room,
            "kind": self.kind,
            "since": self.since and self.since.isoformat(),
            "until": self.until and self.until.isoformat(),
        }
        return {k: v for k, v in values.items() if v is not None}

    def conditions(self):
        """Everything but `person`, which the statements apply one column at a time."""
        found = []
        if self.room is not None:
            found.append(AuditEvent.room_id == self.room)
        if self.kind is not None:
            found.append(AuditEvent.action == self.kind)
        if self.since is not None:
            found.append(AuditEvent.at >= _midnight(self.since))
        if self.until is not None:
            found.append(AuditEvent.at < _midnight(self.until + timedelta(days=1)))
        return found


def _day(value):
    try:
        return date.fromisoformat((value or "").strip()) if value else None
    except ValueError:
        return None


def _midnight(day):
    return datetime.combine(day, time(), tzinfo=UTC)


def activity_page(filters, after=None, limit=PAGE):
    """(up to `limit` rows older than row `after`, newest first; the id to page on, or None)."""
    rows = _rows(filters, _cursor(after), limit + 1)
    rows, more = rows[:limit], len(rows) > limit
    return rows, (rows[-1].id if more and rows else None)


def _cursor(after):
    """The keyset position of row `after`: (at, id), or None for the newest page."""
    if after is None:
        return None
    at = db.session.scalar(select(AuditEvent.at).where(AuditEvent.id == after))
    return (at, after) if at is not None else None


def _rows(filters, cursor, limit):
    """Rows matching `filters` below `cursor`, newest first. A person is an actor or the
    subject: two index-ordered statements merged, so neither needs a sort of the whole
    trail (an OR across two columns would)."""
    columns = [AuditEvent.actor_id, AuditEvent.user_id] if filters.person else [None]
    found = {}
    for column in columns:
        statement = select(*_COLUMNS).where(*filters.conditions())
        if column is not None:
            statement = statement.where(column == filters.person)
        if cursor is not None:
            statement = statement.where(_older_than(*cursor))
        statement = statement.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit)
        found.update((row.id, row) for row in db.session.execute(statement))
    return sorted(found.values(), key=lambda r: (r.at, r.id), reverse=True)[:limit]


#: Plain rows, not ORM objects: nothing piles up in the session while a long export streams.
_COLUMNS = (
    AuditEvent.id,
    AuditEvent.at,
    AuditEvent.actor_id,
    AuditEvent.actor_label,
    AuditEvent.action,
    AuditEvent.user_id,
    AuditEvent.room_id,
    AuditEvent.message_id,
    AuditEvent.summary,
    AuditEvent.ip,
)


def _older_than(at, row_id):
    """Below the cursor in (at, id) order. The plain `at <=` comes first so every database
    starts its index walk at the cursor (SQLite scanned from the newest row without it)."""
    if db.engine.dialect.name == "postgresql":
        # A row comparison PostgreSQL walks the (…, at, id) indexes with.
        return tuple_(AuditEvent.at, AuditEvent.id) < tuple_(at, row_id)
    return and_(
        AuditEvent.at <= at,
        or_(AuditEvent.at < at, and_(AuditEvent.at == at, AuditEvent.id < row_id)),
    )


def csv_lines(filters):
    """The filtered trail as CSV text, a line at a time, fetched CSV_BATCH rows at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(values):
        writer.writerow([neutralise(v) for v in values])
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    yield "\ufeff" + line(CSV_HEADER)  # a BOM, so spreadsheets read UTF-8
    cursor = None
    while True:
        rows = _rows(filters, cursor, CSV_BATCH)
        for row in rows:
            yield line(_csv_row(row))
        if len(rows) < CSV_BATCH:
            return
        cursor = (rows[-1].at, rows[-1].id)


def _csv_row(row):
    when = row.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    return (
        when,
        row.actor_label,
        KINDS.get(row.action, row.action),
        row.summary,
        row.user_id,
        row.room_id,
        row.message_id,
        row.ip,
    )


def neutralise(value):
    """A cell a spreadsheet shows as text: one starting like a formula gets a leading quote."""
    if value is None:
        return ""
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text
