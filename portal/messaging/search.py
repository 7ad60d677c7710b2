"""Full-text search over the rooms a user may see now: bodies, file names, room titles.

The index is dialect-specific DDL kept in step by database triggers in the same
transaction that writes a message (migration `c4a7e1d2f9b3`): SQLite has FTS5 tables
`message_search` (rowid = message id) and `room_search` (rowid = room id); PostgreSQL has
`message_search` (a tsvector per message, GIN-indexed). Deleted messages are not indexed.
"""

import json
import re

from markupsafe import Markup, escape
from sqlalchemy import Integer, case, column, func, literal_column, select, table, text

from portal.access import visible_rooms
from portal.extensions import db
from portal.messaging.rendering import FORMER_USER
from portal.models import Attachment, Message, Room, User

#: Tables the search index owns; the models (and autogenerate) leave them alone.
SEARCH_TABLES = re.compile(r"^(message|room)_search(_\w+)?$")
LIMIT = 30
#: Up to this many visible rooms, SQLite narrows the index by room tokens (see migration).
ROOM_FILTER_MAX = 200
QUERY_MAX = 200
#: PostgreSQL: fetching one match through the GIN index costs about this many times as
#: much as testing one row's document on a newest-first walk (measured at 1,000,000).
FETCH_VS_CHECK = 3
WORD = re.compile(r"\w+", re.UNICODE)
# Highlight markers that cannot occur in escaped text; swapped for <mark> after escaping.
START, STOP = "\x02", "\x03"
MARKERS = re.compile(f"([{START}{STOP}])")
MARK = Markup("<mark>{}</mark>")
#: PostgreSQL's text search configuration (migration a5c2e8f1d7b4): `simple` + unaccent.
CONFIG = "portal_search"
HEADLINE_OPTIONS = f"StartSel={START}, StopSel={STOP}, MaxWords=24, MinWords=10, MaxFragments=2"

# The index's tables, for queries only (created by the migration, not by the models).
MESSAGE_FTS = table("message_search", column("rowid", Integer))
ROOM_FTS = table("room_search", column("rowid", Integer))
PG_INDEX = table(
    "message_search", column("message_id", Integer), column("room_id", Integer), column("document")
)


def is_search_table(name):
    return bool(SEARCH_TABLES.match(name or ""))


#: Indexes the search owns on the models' tables (migration a5c2e8f1d7b4).
SEARCH_INDEXES = {"ix_rooms_title_search"}


def include_object(obj, name, type_, reflected, compare_to):
    """Alembic filter: the search index's tables and indexes are not the models' business."""
    if not reflected or compare_to is not None:
        return True
    if type_ == "table":
        return not is_search_table(name)
    return not (type_ == "index" and name in SEARCH_INDEXES)


def terms(query):
    """The words of a query, at most ten (each matched as a prefix)."""
    return WORD.findall((query or "")[:QUERY_MAX].lower())[:10]


class Hit:
    """A matching message (or room, when `message_id` is None) with its highlighted snippet."""

    __slots__ = ("room_id", "room_title", "message_id", "author_name", "created_at", "snippet")

    def __init__(self, room_id, room_title, message_id, author_name, created_at, snippet):
        self.room_id, self.room_title, self.message_id = room_id, room_title, message_id
        self.author_name, self.created_at, self.snippet = author_name, created_at, snippet


def search(user, query, limit=LIMIT):
    """(rooms whose title matches, messages that match) in rooms `user` may see, newest first."""
    words = terms(query)
    if not words:
        return [], []
    rooms = visible_rooms(user).with_only_columns(Room.id)
    few = _few_rooms(user, rooms)
    if db.engine.dialect.name == "postgresql":
        room_ids, message_rows = _postgresql(words, rooms, limit, few, _share(user, few))
    else:
        room_ids, message_rows = _sqlite(words, rooms, limit, few)
    return _rooms(room_ids), _messages(message_rows)


def _few_rooms(user, rooms):
    """The user's room ids when there are few enough to narrow the index by; else None."""
    if user.is_internal and user.access_all_rooms:
        return None
    ids = db.session.scalars(rooms.limit(ROOM_FILTER_MAX + 1)).all()
    return ids if len(ids) <= ROOM_FILTER_MAX else None


def _sqlite(words, rooms, limit, room_ids=None):
    # \w+ words: nothing in them can break out of the quotes.
    match = "{body files} : (" + " AND ".join(f'"{word}"*' for word in words) + ")"
    if room_ids is not None:
        if not room_ids:
            return [], []
        match += " AND room : (" + " OR ".join(f"r{room_id}" for room_id in room_ids) + ")"
    title = " AND ".join(f'"{word}"*' for word in words)
    # "+ 0": filter the matches, rather than run the MATCH once per visible room.
    room_hits = select(ROOM_FTS.c.rowid).where(
        literal_column("room_search").op("MATCH")(title), (ROOM_FTS.c.rowid + 0).in_(rooms)
    )
    fts = literal_column("message_search")
    message_hits = (
        select(
            MESSAGE_FTS.c.rowid,
            func.snippet(fts, 0, START, STOP, "…", 16),
            func.snippet(fts, 1, START, STOP, "…", 16),
        )
        .join(Message, Message.id == MESSAGE_FTS.c.rowid)
        .where(fts.op("MATCH")(match), Message.room_id.in_(rooms))
        .order_by(MESSAGE_FTS.c.rowid.desc())
        .limit(limit)
    )
    rows = [
        (message_id, body if START in (body or "") or START not in (files or "") else files)
        for message_id, body, files in db.session.execute(message_hits)
    ]
    return db.session.scalars(room_hits).all(), rows


def _postgresql(words, rooms, limit, few, share):
    """Newest-first matches, by whichever query shape costs least for these words.

    Walking the messages newest first and testing each costs about `limit / density`
    rows (density: the share of messages that match *and* are visible), and reads the
    whole index when fewer than `limit` visible messages match; walking the visible
    rooms' messages costs one test per message in them. Fetching every match through
    the GIN index costs about one per posting of each word plus FETCH_VS_CHECK per
    match, however few are visible. The planner's estimates of the matches decide; left
    to itself, the planner misjudged the visible share and walked all 1,000,000 rows
    for a rare word (docs/architecture.md, "Search").
    """
    tsquery = func.to_tsquery(CONFIG, " & ".join(word + ":*" for word in words))
    if few is not None:
        if not few:
            return [], []
        rooms = few  # the ids themselves: the planner then knows how many messages are theirs
    # The same expression as the index ix_rooms_title_search (a literal, so it matches).
    title = func.to_tsvector(literal_column(f"'{CONFIG}'::regconfig"), Room.title)
    room_hits = select(Room.id).where(Room.id.in_(rooms), title.op("@@")(tsquery))
    matches, per_word, total = _estimates(words)
    # In "rows tested" units: the index reads each word's postings, then fetches matches.
    fetch = sum(per_word) + FETCH_VS_CHECK * matches
    walk = min(total, limit * total / max(matches * share, 1))
    if fetch <= min(walk, share * total):
        found = (
            select(PG_INDEX.c.message_id, PG_INDEX.c.room_id)
            .where(PG_INDEX.c.document.op("@@")(tsquery))
            .cte("found")
            .prefix_with("MATERIALIZED")  # fetch the matches first, then filter and order
        )
    else:
        found = PG_INDEX
    top = (
        select(found.c.message_id)
        .where(found.c.room_id.in_(rooms))
        .order_by(found.c.message_id.desc())
        .limit(limit)
    )
    if found is PG_INDEX:
        # `@@` as a plain function call: no GIN index, so the planner walks newest first,
        # or the few visible rooms' messages (it knows how many from the explicit ids).
        # Inside CASE, so only visible rooms' documents are tested (the planner would
        # test every document first: it prices the function below the room list).
        visible = PG_INDEX.c.room_id.in_(rooms)
        top = top.where(
            case((visible, func.ts_match_vq(PG_INDEX.c.document, tsquery)), else_=False)
        )
    # The newest `limit` ids first, then their texts: joined earlier, the planner would
    # walk every message newest first to merge with a few matches.
    top = top.cte("top").prefix_with("MATERIALIZED")
    files = (
        select(func.string_agg(Attachment.filename, " "))
        .where(Attachment.message_id == Message.id)
        .scalar_subquery()
    )
    document = Message.body + " " + func.coalesce(files, "")
    headline = func.ts_headline(CONFIG, document, tsquery, HEADLINE_OPTIONS)
    message_hits = (
        select(top.c.message_id, headline)
        .join(Message, Message.id == top.c.message_id)
        .order_by(top.c.message_id.desc())
    )
    return db.session.scalars(room_hits).all(), db.session.execute(message_hits).all()


def _estimates(words):
    """The planner's estimates: (messages matching all words, [matching each word], all)."""
    matches = [_estimate(" & ".join(word + ":*" for word in words))]
    matches += [_estimate(word + ":*") for word in words] if len(words) > 1 else matches
    total = db.session.scalar(
        text("SELECT reltuples FROM pg_class WHERE oid = 'message_search'::regclass")
    )
    return matches[0], matches[1:], max(total or 0, *matches, 1)


def _estimate(query):
    plan = db.session.execute(
        text(
            "EXPLAIN (FORMAT JSON) "
            "SELECT 1 FROM message_search WHERE document @@ to_tsquery(:c, :q)"
        ),
        {"c": CONFIG, "q": query},
    ).scalar()
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return plan[0]["Plan"]["Plan Rows"]


def _share(user, room_ids):
    """The share of all rooms `user` may see (1 for all-rooms staff), to weigh matches."""
    if room_ids is None and user.is_internal and user.access_all_rooms:
        return 1.0
    count = len(room_ids) if room_ids is not None else ROOM_FILTER_MAX
    rooms = db.session.scalar(text("SELECT reltuples FROM pg_class WHERE oid = 'rooms'::regclass"))
    if not rooms or rooms < 1:
        rooms = db.session.scalar(select(func.count(Room.id)))
    return min(1.0, count / max(rooms, 1))


def _rooms(room_ids):
    if not room_ids:
        return []
    rows = db.session.execute(
        select(Room.id, Room.title, Room.last_activity_at)
        .where(Room.id.in_(room_ids))
        .order_by(Room.last_activity_at.desc())
    )
    return [Hit(rid, title, None, None, at, escape(title)) for rid, title, at in rows]


def _messages(rows):
    """Plain columns, not ORM objects: a results page needs little of each message."""
    if not rows:
        return []
    snippets = dict(rows)
    found = db.session.execute(
        select(Message.id, Message.room_id, Room.title, User.name, Message.created_at)
        .join(Room, Room.id == Message.room_id)
        .outerjoin(User, User.id == Message.author_id)
        .where(Message.id.in_(snippets))
        .order_by(Message.id.desc())
    )
    return [
        Hit(room_id, title, mid, author or FORMER_USER, at, highlight(snippets[mid]))
        for mid, room_id, title, author, at in found
    ]


def highlight(snippet):
    """Escape the snippet, then turn the index's markers into <mark> elements."""
    parts, marked = [], False
    for piece in MARKERS.split((snippet or "").replace("\n", " ")):
        if piece in (START, STOP):
            marked = piece == START
            continue
        parts.append(MARK.format(piece) if marked else escape(piece))
    return Markup("").join(parts)
