"""Instructions per send (an htmx POST of a message, CSRF and the rate limit on), counted
by callgrind (independent of the machine's load), with its SQL statements and Redis
round trips.

    valgrind --tool=callgrind --dump-before='os_getppid*' \\
        --callgrind-out-file=/tmp/send.cg .venv/bin/python bench/send_instructions.py 40
    grep -h '^summary:' /tmp/send.cg.2

Runs 10 warm-up sends, then N measured ones between two `os.getppid()` calls (callgrind
dumps its counters at each): part .2 holds the measured sends; divide its total by N.
Then prints the SQL statements and Redis round trips of one send (outside the measured
part). Seeds `bench/room_page.py`'s 10 rooms on a temporary SQLite database, or on
DATABASE_URL (its tables are DROPPED); REDIS_URL as for the tests.
"""

import os
import re
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
import redis  # noqa: E402
from harness import reset_database  # noqa: E402
from sqlalchemy import event  # noqa: E402

from bench.room_page import PASSWORD, seed  # noqa: E402
from portal.extensions import db  # noqa: E402


def make_app(tmp):
    """Like a deployment: CSRF and the send limit on (counted, a Redis hit, never reached)."""
    return harness.make_app(
        tmp,
        WTF_CSRF_ENABLED=True,
        RATELIMIT_ENABLED=True,
        MESSAGE_LIMIT="1000000 per minute",
    )


def sender(app, room_id):
    """A function posting one message into the room as the bench's staff user."""
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    client.post(
        "/login", data={"email": "bench@example.test", "password": PASSWORD, "csrf_token": token}
    )
    page = client.get(f"/app/rooms/{room_id}").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    count = [0]

    def send():
        count[0] += 1
        response = client.post(
            f"/app/rooms/{room_id}/messages",
            data={"body": f"send {count[0]}", "client_msg_id": f"bench-send-{count[0]:08d}"},
            headers={"HX-Request": "true", "X-CSRFToken": token},
        )
        assert response.status_code == 200, response.status_code

    return send


def counted(app, send):
    """(SQL statements, Redis round trips) of one send."""
    statements, trips = [0], [0]

    def statement(*_args):
        statements[0] += 1

    original = redis.connection.Connection.send_packed_command

    def round_trip(self, *args, **kwargs):
        trips[0] += 1
        return original(self, *args, **kwargs)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", statement)
    redis.connection.Connection.send_packed_command = round_trip
    try:
        send()
    finally:
        redis.connection.Connection.send_packed_command = original
        event.remove(engine, "before_cursor_execute", statement)
    return statements[0], trips[0]


def main(requests):
    tmp = tempfile.mkdtemp(prefix="portal-bench-")
    app = make_app(tmp)
    with app.app_context():
        reset_database(db.engine.url)  # what `bench/sends.py` or migrations left there too
        db.create_all()
    room_id, _newest = seed(app, 10, 100)
    send = sender(app, room_id)
    for _ in range(10):
        send()
    os.getppid()  # callgrind dumps here: the measured sends start
    for _ in range(requests):
        send()
    os.getppid()
    statements, trips = counted(app, send)
    print(f"one send: {statements} SQL statements, {trips} Redis round trips")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 40)
