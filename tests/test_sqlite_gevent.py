"""SQLite under a gevent worker: a write waiting for the lock doesn't stall the process."""

import sqlite3
import threading

import pytest

from portal.extensions import db
from portal.messaging.rooms import create_room
from portal.models import User
from tests.e2e.live_fixtures import GunicornServer, HttpSession

pytestmark = pytest.mark.slow


@pytest.fixture
def server(app, server_env, tmp_path):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("SQLite only: PostgreSQL waits on locks in the socket (cooperatively)")
    gunicorn = GunicornServer(server_env, log_path=tmp_path / "gunicorn.log")
    gunicorn.start()
    yield gunicorn
    gunicorn.stop()


def test_a_send_waiting_for_the_lock_leaves_the_worker_serving(app, people, server):
    with app.app_context():
        staff = db.session.get(User, people["staff"].id)
        room = create_room(staff, "Locked out", []).id
        path = db.engine.url.database
    sender = HttpSession(server.url, "staff@example.test")
    probe = HttpSession(server.url, "staff@example.test")

    holder = sqlite3.connect(path, timeout=1, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    result = {}

    def send():
        response = sender.send(f"/app/rooms/{room}/messages", "Waited for the lock")
        result["status"] = response.status

    thread = threading.Thread(target=send)
    try:
        thread.start()
        # While the send waits for the lock, the same (only) worker still answers.
        for _ in range(5):
            assert probe.opener.open(f"{server.url}/healthz", timeout=5).status == 200
        assert "status" not in result, "the send went through while the lock was held"
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        thread.join(15)
    assert result.get("status") == 200
