"""Search latency against the number of messages, with a bare-Flask baseline.

    .venv/bin/python bench/search.py [--messages 200000] [--rooms 1000] [--requests 100]
                                     [--reuse]

Builds the schema with the migrations (the search index is migration DDL) on a temporary
SQLite database, or on DATABASE_URL (its tables are dropped first: use a throwaway one).
Seeds `--messages` messages of Zipf-distributed words across `--rooms` rooms, then times
`GET /app/search?q=` (and `/portal/search`) for common, rare, prefix and two-word queries
as three people: all-rooms staff, staff in 10% of the rooms, a client in one room.
Prints p50/p95 per query and a bare Flask page of 30 items as the floor. `--reuse` keeps
a database this bench already seeded at the same size (PostgreSQL: DATABASE_URL) instead
of seeding again. `make bench` calls `measure()` (bench/stack.py `--search-messages`).
"""

import argparse
import os
import random
import statistics
import sys
import time
from datetime import timedelta

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import bare_page, make_app, migrate, redis, scratch  # noqa: E402
from sqlalchemy import insert, select, text  # noqa: E402

from portal.extensions import db  # noqa: E402
from portal.messaging.search import search  # noqa: E402
from portal.models import Message, Participant, Room, User  # noqa: E402
from portal.models.base import utcnow  # noqa: E402
from portal.people.users import create_user  # noqa: E402

PASSWORD = "bench password 1"
COMMON_TEXT = (
    "the to and a of in is for you on it that this we with please can be have are "
    "will your invoice tax form thanks send attached document meeting call payment "
    "account return review signed copy question update date deadline report contract bank"
)
COMMON = COMMON_TEXT.split()
QUERIES = ["invoice", "zanzibar", "contr", "tax invoice", "quarterly zanzibar"]
BATCH = 5_000


def vocabulary(rng, size=5_000):
    """Common English words first, then made-up ones; "zanzibar" is rare on purpose."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    made_up = {"".join(rng.choices(letters, k=rng.randint(4, 9))) for _ in range(size * 2)}
    words = COMMON + sorted(made_up - set(COMMON))[: size - len(COMMON)]
    words.insert(len(words) // 2, "quarterly")
    words.append("zanzibar")
    return words


def timed(client, url, requests):
    for _ in range(5):
        client.get(url)
    samples = []
    for _ in range(requests):
        start = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def search_only(app, email, query, requests):
    """The domain function alone (queries + snippets), without the page around it."""
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        for _ in range(5):
            search(user, query)
        samples = []
        for _ in range(requests):
            start = time.perf_counter()
            search(user, query)
            samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def baseline(requests):
    items = [{"id": n, "room": "Room", "snippet": f"a <mark>match</mark> {n}"} for n in range(30)]
    page = (
        "<ol>{% for i in items %}<li><a href='#m{{ i.id }}'>{{ i.room }}</a> "
        "{{ i.snippet }}</li>{% endfor %}</ol>"
    )
    return bare_page(page, items, requests, timed)


def seed(app, messages, rooms, rng):
    """People, rooms and `messages` messages; returns the seconds seeding took."""
    words = vocabulary(rng)
    weights = [1 / (rank + 1) for rank in range(len(words))]
    started = time.perf_counter()
    with app.app_context():
        staff_all = create_user("all@example.test", "All Rooms", "internal", password=PASSWORD)
        staff_all.access_all_rooms = True
        staff = create_user("staff@example.test", "Some Rooms", "internal", password=PASSWORD)
        client = create_user("client@example.test", "One Room", "client", password=PASSWORD)
        db.session.commit()
        start = utcnow() - timedelta(days=365)
        room_ids = []
        for n in range(rooms):
            room = Room(title=f"Client {n} quarterly file", created_by_id=staff_all.id)
            db.session.add(room)
            db.session.flush()
            room_ids.append(room.id)
            if n % 10 == 0:
                db.session.add(Participant(room_id=room.id, user_id=staff.id))
        db.session.add(Participant(room_id=room_ids[0], user_id=client.id))
        db.session.commit()
        postgresql = db.engine.dialect.name == "postgresql"
        if postgresql:
            # Bulk load: the per-row trigger is off for the seeding session only, and the
            # index is filled in one statement below (the migration's own backfill).
            db.session.execute(text("SET session_replication_role = replica"))
        for offset in range(0, messages, BATCH):
            rows = [
                {
                    "room_id": rng.choice(room_ids),
                    "author_id": staff_all.id,
                    "body": " ".join(rng.choices(words, weights, k=rng.randint(5, 25))),
                    "created_at": start + timedelta(seconds=offset + i),
                }
                for i in range(min(BATCH, messages - offset))
            ]
            db.session.execute(insert(Message), rows)
            db.session.commit()
        if postgresql:
            db.session.execute(text("SET session_replication_role = DEFAULT"))
            db.session.execute(
                text(
                    "INSERT INTO message_search(message_id, room_id, document) "
                    "SELECT id, room_id, message_search_document(id, body) FROM messages "
                    "ON CONFLICT (message_id) DO NOTHING"
                )
            )
            db.session.commit()
        assert db.session.scalar(select(db.func.count(Message.id))) == messages
        # As autovacuum would have by now: planner statistics (PostgreSQL needs them to
        # choose the GIN index for rare words).
        db.session.execute(text("ANALYZE"))
        db.session.commit()
    return time.perf_counter() - started


PEOPLE = [
    ("all@example.test", "app", "all-rooms staff"),
    ("staff@example.test", "app", "staff, 10% of rooms"),
    ("client@example.test", "portal", "client, 1 room"),
]


def read_up(app):
    """Each person has read every room they see, as people mostly have: the layout's
    unread counts (every page's sidebar) then cost what they do day to day, and the
    figure is search's, not a million unread messages'."""
    with app.app_context():
        for email, _, _ in PEOPLE:
            user = db.session.scalar(select(User).where(User.email == email))
            every = 1 if user.access_all_rooms else 0
            db.session.execute(text("DELETE FROM read_states WHERE user_id = :u"), {"u": user.id})
            db.session.execute(
                text(
                    "INSERT INTO read_states (user_id, room_id, last_read_message_id, "
                    "notified_through_message_id, reminded_through_message_id, updated_at) "
                    "SELECT :u, room_id, max(id), max(id), max(id), :now FROM messages "
                    "WHERE :every = 1 OR room_id IN "
                    "(SELECT room_id FROM participants WHERE user_id = :u) GROUP BY room_id"
                ),
                {"u": user.id, "now": utcnow(), "every": every},
            )
        db.session.commit()


def seeded(app, messages):
    """True when the database already holds this bench's data at this size (`--reuse`)."""
    with app.app_context():
        try:
            count = db.session.scalar(select(db.func.count(Message.id)))
            people = db.session.scalar(
                select(db.func.count(User.id)).where(User.email.in_([p[0] for p in PEOPLE]))
            )
        except Exception:  # no schema yet
            db.session.rollback()
            return False
    return count == messages and people == len(PEOPLE)


def measure(
    messages, rooms=1_000, requests=100, reuse=False, database_url=None, redis_url=None, say=print
):
    """Seed (unless reusing) and time every person × query; returns the rows and baseline.

    Each row: (who, query, page p50, page p95, search() p50, search() p95) in ms; the
    baseline is a bare Flask page of 30 items, (p50, p95) ms, timed the same way.
    """
    base = baseline(requests)
    tmp = scratch()
    app = make_app(tmp, database_url or f"sqlite:///{tmp}/bench.sqlite3", redis_url)
    with app.app_context():
        dialect = db.engine.dialect.name
    if reuse and seeded(app, messages):
        say(f"{dialect}: reusing {messages:,} seeded messages")
    else:
        migrate(app, fresh=True)
        seconds = seed(app, messages, rooms, random.Random(7))
        say(f"{dialect}: seeded {messages:,} messages in {rooms:,} rooms in {seconds:.0f} s")
    read_up(app)
    rows = []
    for email, prefix, who in PEOPLE:
        client = app.test_client()
        client.post("/login", data={"email": email, "password": PASSWORD})
        for query in QUERIES:
            p50, p95 = timed(client, f"/{prefix}/search?q={query}", requests)
            rows.append((who, query, p50, p95, *search_only(app, email, query, requests)))
            say(f"  {who:<20} {query!r:<22} page p50 {p50:6.1f} p95 {p95:6.1f} ms")
    return dialect, rows, base


def stack_rows(results):
    """`make bench` table rows (bench/stack.py): the worst person × query per database."""
    rows = []
    for dialect, messages, timed_rows, (base_p50, base_p95) in results:
        worst = max(timed_rows, key=lambda row: row[3])
        rows.append(
            (
                f"search page at {messages:,} messages ({dialect}): p50 / p95, worst of "
                f"{len(timed_rows)} person × query (here {worst[0]}, {worst[1]!r})",
                f"{worst[2]:,.1f} / {worst[3]:,.1f} ms",
                f"bare Flask 30 items {base_p50:,.1f} / {base_p95:,.1f} ms",
                f"{worst[3] / base_p95:.1f} (p95)",
            )
        )
    return rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--rooms", type=int, default=1_000)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument(
        "--reuse", action="store_true", help="keep a database this bench seeded at this size"
    )
    args = parser.parse_args()
    # REDIS_URL, else an embedded Redis of its own, as `make run` and `make bench` do.
    redis_url, redis_process = redis(scratch("portal-bench-redis-"))
    try:
        dialect, rows, (base_p50, base_p95) = measure(
            args.messages,
            args.rooms,
            args.requests,
            args.reuse,
            os.environ.get("DATABASE_URL"),
            redis_url,
        )
    finally:
        if redis_process:
            redis_process.terminate()
    print(f"baseline: bare Flask, 30 items        p50 {base_p50:6.2f} ms  p95 {base_p95:6.2f} ms")
    print(f"load average after timing: {os.getloadavg()[0]:.1f} (2 cores)")
    for who, query, p50, p95, q50, q95 in rows:
        print(
            f"{who:<20} {query!r:<22} page p50 {p50:6.2f} p95 {p95:6.2f} ms "
            f"({p95 / base_p95:4.1f}x baseline p95) | search() p50 {q50:6.2f} p95 {q95:6.2f} ms"
        )
    worst = max(rows, key=lambda row: row[3])
    print(f"{dialect}: worst page p95 {worst[3]:.1f} ms ({worst[0]}, {worst[1]!r})")


if __name__ == "__main__":
    main()
