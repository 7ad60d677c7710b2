"""CPU per room-list request (and per layout) in-process, at 10 / 100 / 500 rooms.

    .venv/bin/python bench/room_list.py [--requests 200] [--profile]

Runs in-process on a temporary SQLite database (or DATABASE_URL; its tables are dropped)
with the Flask test client, so the figures are CPU milliseconds per request
(`time.process_time`, the best of 10 batches), which a busy machine moves far less than
wall-clock rates (it still inflates them: say the load average next to the figures).
Prints, per room count: the room list for staff (`/app/rooms`) and for a client
(`/portal/rooms`), a conditional GET answered 304, the preferences page (the cost every
logged-in page pays for the layout), and the SQL statements each one runs.
Redis: REDIS_URL (default redis://127.0.0.1:6379/4).
"""

import argparse
import cProfile
import os
import pstats
import sys
import tempfile
import time
from datetime import timedelta

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sqlalchemy import MetaData, event  # noqa: E402

from bench.room_page import make_app  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.messaging.reading import advance_read  # noqa: E402
from portal.models import Message, Participant, Room  # noqa: E402
from portal.models.base import utcnow  # noqa: E402
from portal.people.users import create_user  # noqa: E402

PASSWORD = "bench password 1"


def seed(app, rooms):
    """`rooms` rooms of staff + client, 5 messages each, all read but the newest 2."""
    with app.app_context():
        staff = create_user("bench@example.test", "Bench Staff", "internal", password=PASSWORD)
        client = create_user("client@example.test", "Bench Client", "client", password=PASSWORD)
        start = utcnow() - timedelta(days=30)
        for n in range(rooms):
            room = Room(title=f"Room {n}", created_by_id=staff.id, created_at=start)
            room.last_activity_at = start + timedelta(minutes=n)
            db.session.add(room)
            db.session.flush()
            db.session.add_all(
                [Participant(room_id=room.id, user_id=u.id) for u in (staff, client)]
            )
            db.session.add_all(
                Message(
                    room_id=room.id,
                    author_id=(staff if i % 2 else client).id,
                    body=f"message {i} in room {n}",
                    created_at=start + timedelta(minutes=n, seconds=i),
                )
                for i in range(5)
            )
        db.session.flush()
        for room_id, newest in db.session.execute(
            db.select(Message.room_id, db.func.max(Message.id)).group_by(Message.room_id)
        ):
            advance_read(staff.id, room_id, newest - 2)
            advance_read(client.id, room_id, newest - 2)
        db.session.commit()


class StatementCounter:
    def __init__(self, engine):
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._count)

    def _count(self, *args):
        self.count += 1


def measure(client, url, requests, counter, headers=None, status=200, batches=10):
    """CPU ms per request: the best of `batches` batches (other load only ever adds)."""
    for _ in range(10):  # warm up caches and the template compiler
        client.get(url, headers=headers)
    counter.count = 0
    per_batch = max(requests // batches, 1)
    best = float("inf")
    for _ in range(batches):
        start = time.process_time()
        for _ in range(per_batch):
            response = client.get(url, headers=headers)
            assert response.status_code == status, (url, response.status_code)
        best = min(best, (time.process_time() - start) * 1000 / per_batch)
    return best, counter.count / (per_batch * batches), response


def run(rooms, requests, profile):
    tmp = tempfile.mkdtemp(prefix="portal-bench-")
    app = make_app(tmp)
    with app.app_context():
        existing = MetaData()
        existing.reflect(db.engine)
        existing.drop_all(db.engine)
        db.create_all()
        counter = StatementCounter(db.engine)
    seed(app, rooms)
    staff, client = app.test_client(), app.test_client()
    staff.post("/login", data={"email": "bench@example.test", "password": PASSWORD})
    client.post("/login", data={"email": "client@example.test", "password": PASSWORD})
    cases = [
        ("floor: /healthz (no login, no page)", staff, "/healthz", None, 200),
        ("room list, staff", staff, "/app/rooms", None, 200),
        ("room list, client", client, "/portal/rooms", None, 200),
        ("layout only (change password page)", staff, "/password/change", None, 200),
    ]
    etag = staff.get("/app/rooms").headers.get("ETag")
    if etag:
        cases.append(("room list, 304 (If-None-Match)", staff, "/app/rooms", etag, 304))
    for label, who, url, match, status in cases:
        headers = {"If-None-Match": match} if match else None
        cpu, statements, _ = measure(who, url, requests, counter, headers, status)
        print(f"{rooms:>4} rooms  {label:<34} {cpu:6.2f} ms CPU  {statements:4.1f} SQL")
    if profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(requests):
            staff.get("/app/rooms")
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--rooms", type=int, nargs="*", default=[10, 100, 500])
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    for rooms in args.rooms:
        run(rooms, args.requests, args.profile)


if __name__ == "__main__":
    main()
