"""Room page, catch-up fragment and room list cost against history size, with a bare-Flask
baseline.

    .venv/bin/python bench/room_page.py [--requests 200] [--quick]

Runs in-process on a temporary SQLite database (or DATABASE_URL). Prints mean and p95
wall time per request, the CPU time per request (`time.process_time`, which load from
other processes on the machine disturbs far less than wall time), the SQL statements per
request, and the ratio against a bare Flask app rendering 50 list items with Jinja in the
same process — the floor for any page of 50 messages. "room 304" is the room page asked
again with the ETag it gave (If-None-Match); "catch-up" is `…/messages?after=<newest>`
as the page's htmx asks it after a reconnect (nothing new: the common case). `--quick`
runs the 10-room case only.
"""

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import bare_page, make_app, scratch  # noqa: E402
from sqlalchemy import event, func, select  # noqa: E402

from portal.extensions import db  # noqa: E402
from portal.messaging.reading import advance_read  # noqa: E402
from portal.models import Message, Participant, Room  # noqa: E402
from portal.models.base import utcnow  # noqa: E402
from portal.people.users import create_user  # noqa: E402

PASSWORD = "bench password 1"


STATEMENTS = [0]


def timed(client, url, requests, headers=None, status=200):
    """(mean ms, p95 ms, CPU ms per request, SQL statements per request)."""
    for _ in range(10):  # warm up caches and the template compiler
        client.get(url, headers=headers)
    samples = []
    statements, cpu = STATEMENTS[0], time.process_time()
    for _ in range(requests):
        start = time.perf_counter()
        response = client.get(url, headers=headers)
        samples.append((time.perf_counter() - start) * 1000)
        assert response.status_code == status, (url, response.status_code)
    cpu = (time.process_time() - cpu) * 1000 / requests
    statements = (STATEMENTS[0] - statements) / requests
    samples.sort()
    return statistics.mean(samples), samples[int(len(samples) * 0.95) - 1], cpu, statements


def baseline(requests):
    items = [{"id": n, "author": "Someone", "body": f"message {n}"} for n in range(50)]
    page = (
        "<ol>{% for m in items %}"
        "<li id='m{{ m.id }}'>{{ m.author }}: {{ m.body }}</li>"
        "{% endfor %}</ol>"
    )
    return bare_page(page, items, requests, timed)[:3]


def seed(app, rooms, messages_in_big_room):
    with app.app_context():
        staff = create_user("bench@example.test", "Bench Staff", "internal", password=PASSWORD)
        client = create_user("client@example.test", "Bench Client", "client", password=PASSWORD)
        start = utcnow() - timedelta(days=30)
        ids = []
        for n in range(rooms):
            room = Room(title=f"Room {n}", created_by_id=staff.id, created_at=start)
            db.session.add(room)
            db.session.flush()
            db.session.add_all(
                [Participant(room_id=room.id, user_id=u.id) for u in (staff, client)]
            )
            count = messages_in_big_room if n == 0 else 3
            db.session.add_all(
                Message(
                    room_id=room.id,
                    author_id=(staff if i % 2 else client).id,
                    body=f"message {i} in room {n}",
                    created_at=start + timedelta(seconds=i),
                )
                for i in range(count)
            )
            ids.append(room.id)
        db.session.flush()
        # As in real use: everything read but the newest couple of messages per room.
        for room_id in ids:
            newest = db.session.scalar(
                select(func.max(Message.id)).where(Message.room_id == room_id)
            )
            advance_read(staff.id, room_id, newest - 2)
        db.session.commit()
        newest = db.session.scalar(select(func.max(Message.id)).where(Message.room_id == ids[0]))
        return ids[0], newest


def settled_page(app, room_id):
    """(test client logged in as the seeded staff member, the room's page, its ETag) once
    opening it has marked the newest messages read, so the page no longer changes."""
    client = app.test_client()
    client.post("/login", data={"email": "bench@example.test", "password": PASSWORD})
    page = f"/app/rooms/{room_id}"
    client.get(page)
    return client, page, client.get(page).headers["ETag"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="the 10-room case only")
    args = parser.parse_args()
    base_mean, base_p95, base_cpu = baseline(args.requests)
    print(
        f"baseline: bare Flask, 50 items   mean {base_mean:6.2f} ms  p95 {base_p95:6.2f} ms  "
        f"CPU {base_cpu:5.2f} ms"
    )
    sizes = [(10, 100), (100, 2_000), (500, 20_000)]
    for rooms, history in sizes[:1] if args.quick else sizes:
        tmp = scratch()
        app = make_app(tmp)
        with app.app_context():
            db.drop_all()
            db.create_all()
            event.listen(db.engine, "before_cursor_execute", _count)
        room_id, newest = seed(app, rooms, history)
        client, page, etag = settled_page(app, room_id)
        hx = {"HX-Request": "true"}
        for label, url, headers, status in [
            ("room page", page, None, 200),
            ("room 304", page, {"If-None-Match": etag}, 304),
            ("catch-up", f"{page}/messages?after={newest}", hx, 200),
            ("room list", "/app/rooms", None, 200),
        ]:
            mean, p95, cpu, sql = timed(client, url, args.requests, headers, status)
            print(
                f"{label:<9} {rooms:>4} rooms {history:>6} msgs  mean {mean:6.2f} ms  "
                f"p95 {p95:6.2f} ms  CPU {cpu:5.2f} ms  SQL {sql:4.1f}  "
                f"ratio {mean / base_mean:5.1f}x baseline"
            )


def _count(*_args):
    STATEMENTS[0] += 1


if __name__ == "__main__":
    main()
