"""Instructions per request for the room page, its 304, the catch-up fragment and a bare
Flask hello, counted by callgrind (independent of the machine's load).

    valgrind --tool=callgrind --dump-before='os_getppid*' \\
        --callgrind-out-file=/tmp/room.cg .venv/bin/python bench/room_page_instructions.py 40
    grep -h '^summary:' /tmp/room.cg.2 /tmp/room.cg.4 /tmp/room.cg.6 /tmp/room.cg.8

Each case runs 10 warm-up requests, then N measured ones between two `os.getppid()` calls
(callgrind dumps its counters at each): parts .2, .4, .6 and .8 hold the measured room page,
304, catch-up and hello; divide their totals by N. Seeds 10 rooms (100 messages in the
measured one) on a temporary SQLite database, or on the PostgreSQL database given as a
second argument (`postgresql+psycopg://…/throwaway`; its tables are dropped: callgrind
counts this process only, not the server's work); REDIS_URL as for the tests.
"""

import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from flask import Flask  # noqa: E402

from bench.room_page import PASSWORD, make_app, seed  # noqa: E402
from portal.extensions import db  # noqa: E402


def main(requests, database_url=None):
    tmp = tempfile.mkdtemp(prefix="portal-bench-")
    app = make_app(tmp, database_url or f"sqlite:///{tmp}/bench.sqlite3")
    with app.app_context():
        db.drop_all()
        db.create_all()
    room_id, newest = seed(app, 10, 100)
    client = app.test_client()
    client.post("/login", data={"email": "bench@example.test", "password": PASSWORD})
    page = f"/app/rooms/{room_id}"
    client.get(page)  # opening it marks the newest messages read: the page settles
    bare = Flask("hello")
    bare.add_url_rule("/", "hello", lambda: "hello")
    cases = [
        (client, page, {}),
        (client, page, {"If-None-Match": client.get(page).headers["ETag"]}),
        (client, f"{page}/messages?after={newest}", {"HX-Request": "true"}),
        (bare.test_client(), "/", {}),
    ]
    for case_client, url, headers in cases:
        for _ in range(10):
            case_client.get(url, headers=headers)
        os.getppid()  # callgrind dumps here: the measured requests start
        for _ in range(requests):
            assert case_client.get(url, headers=headers).status_code in (200, 304)
        os.getppid()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 40, *sys.argv[2:3])
