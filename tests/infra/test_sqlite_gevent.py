"""SQLite under a gevent worker: a write waiting for the lock doesn't stall the process."""

import sqlite3
import threading

import gevent
import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.infra import sqlite_gevent
from portal.messaging.rooms import create_room
from portal.models import Message, User
from tests.e2e.live_fixtures import GunicornServer, HttpSession


@pytest.fixture
def server(app, server_env, tmp_path):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("SQLite only: PostgreSQL waits on locks in the socket (cooperatively)")
    gunicorn = GunicornServer(server_env, log_path=tmp_path / "gunicorn.log")
    gunicorn.start()
    yield gunicorn
    gunicorn.stop()


@pytest.mark.slow
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


@pytest.mark.slow
def test_sends_queued_behind_another_process_all_land_once_the_lock_is_free(app, people, server):
    """Three sends wait (one for SQLite's lock, two for this worker's write turn) while
    the worker keeps answering; each lands once the other process lets go."""
    with app.app_context():
        staff = db.session.get(User, people["staff"].id)
        room = create_room(staff, "Queued", []).id
        path = db.engine.url.database
    senders = [HttpSession(server.url, "staff@example.test") for _ in range(3)]
    probe = HttpSession(server.url, "staff@example.test")
    holder = sqlite3.connect(path, timeout=1, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    statuses = []

    def send(session, n):
        statuses.append(session.send(f"/app/rooms/{room}/messages", f"Queued {n}").status)

    threads = [threading.Thread(target=send, args=(s, n)) for n, s in enumerate(senders)]
    try:
        for thread in threads:
            thread.start()
        for _ in range(5):
            assert probe.opener.open(f"{server.url}/healthz", timeout=5).status == 200
        assert statuses == [], "a send went through while another process held the lock"
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        for thread in threads:
            thread.join(15)
    assert statuses == [200, 200, 200]
    with app.app_context():
        bodies = db.session.scalars(select(Message.body).where(Message.room_id == room)).all()
    assert sorted(bodies) == ["Queued 0", "Queued 1", "Queued 2"]


# The write turn itself, driven with greenlets in this process (no gunicorn).


@pytest.fixture
def turn_engine(tmp_path, monkeypatch):
    """A SQLite engine whose statements go through the cooperative path."""
    monkeypatch.setattr(sqlite_gevent, "cooperative", lambda: True)
    engine = create_engine(f"sqlite:///{tmp_path / 'turns.sqlite3'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)"))
    yield engine
    engine.dispose()


def test_writers_of_one_process_take_turns_even_when_one_yields_mid_transaction(
    turn_engine, monkeypatch
):
    order, busy = [], []
    retryable = sqlite_gevent._retryable
    monkeypatch.setattr(sqlite_gevent, "_retryable", lambda exc: busy.append(exc) or retryable(exc))

    def writer(name):
        with turn_engine.begin() as connection:
            connection.execute(text("INSERT INTO notes (body) VALUES (:b)"), {"b": name})
            order.append(f"{name} wrote")
            gevent.sleep(0)  # e.g. a Redis call inside the transaction
            order.append(f"{name} commits")

    gevent.joinall([gevent.spawn(writer, "a"), gevent.spawn(writer, "b")], raise_error=True)
    assert order == ["a wrote", "a commits", "b wrote", "b commits"]
    assert busy == [], "the second writer met SQLite's lock instead of waiting for its turn"
    assert sqlite_gevent._Turn.holder is None


def test_reads_never_wait_for_the_write_turn(turn_engine):
    seen = []

    def reader():
        with turn_engine.connect() as connection:
            seen.append(connection.execute(text("SELECT count(*) FROM notes")).scalar())

    with turn_engine.connect() as writer:
        writer.execute(text("INSERT INTO notes (body) VALUES ('held')"))
        assert sqlite_gevent._Turn.holder is gevent.getcurrent()
        gevent.spawn(reader).join()
        assert seen == [0], "the read ran while the write transaction was open"
        writer.rollback()
    assert sqlite_gevent._Turn.holder is None


def test_a_failed_write_gives_the_turn_back(turn_engine):
    with turn_engine.connect() as connection:
        with pytest.raises(IntegrityError):
            connection.execute(text("INSERT INTO notes (id, body) VALUES (1, 'a'), (1, 'b')"))
        connection.rollback()
    assert sqlite_gevent._Turn.holder is None
    with turn_engine.begin() as connection:  # the next writer is not kept waiting
        connection.execute(text("INSERT INTO notes (body) VALUES ('next')"))
    assert sqlite_gevent._Turn.holder is None


def test_a_connection_returned_mid_transaction_gives_the_turn_back(turn_engine):
    connection = turn_engine.connect()
    connection.execute(text("INSERT INTO notes (body) VALUES ('abandoned')"))
    connection.close()  # the pool rolls back on return
    assert sqlite_gevent._Turn.holder is None
    with turn_engine.begin() as connection:
        connection.execute(text("INSERT INTO notes (body) VALUES ('next')"))
