"""Pooled connections: pinged only after sitting idle; on PostgreSQL, reads in autocommit
(no BEGIN/ROLLBACK round trips) and writes in a transaction (portal/infra/connections.py)."""

import os
import time

import psycopg
import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.exc import OperationalError

from portal.extensions import db
from portal.infra import connections
from portal.models import User

postgresql = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="PostgreSQL only (DATABASE_URL)",
)


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT users.id FROM users WHERE users.id = %(id)s",
        "  select count(*) from messages",
        "SELECT rooms.id, (SELECT count(*) FROM messages WHERE messages.room_id = rooms.id)"
        " FROM rooms",
        "SELECT 1",
    ],
)
def test_plain_selects_may_run_in_autocommit(statement):
    assert connections.reads_only(statement)


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO users (name) VALUES (%(name)s)",
        "UPDATE rooms SET title = 'x'",
        "DELETE FROM messages",
        "WITH gone AS (DELETE FROM messages RETURNING id) SELECT count(*) FROM gone",
        "SAVEPOINT sa_savepoint_1",
        "CREATE TABLE t (id int)",
        "SELECT users.id FROM users WHERE users.id = 1 FOR UPDATE",
        "SELECT rooms.id FROM rooms FOR NO KEY UPDATE OF rooms",
        "SELECT users.id FROM users FOR SHARE",
        "SELECT pg_advisory_xact_lock(42)",
        "SELECT set_config('app.x', 'y', false)",
        "SELECT nextval('users_id_seq')",
        "SELECT pg_notify('c', 'p')",
    ],
)
def test_anything_else_runs_in_a_transaction(statement):
    assert not connections.reads_only(statement)


@pytest.fixture
def fake_clock(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(connections, "clock", lambda: now[0])
    return now


def _only_connection(app):
    """Empty the pool, then open one connection and return it to the pool: its backend pid."""
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
        pid = db.session.scalar(text("SELECT pg_backend_pid()"))
        db.session.remove()
    return pid


def _terminate(app, pid):
    """End that backend from outside, as a PostgreSQL restart would, and wait until it has."""
    with app.app_context():
        url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        for _ in range(500):  # waiting for a state, not timing anything
            if not admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone():
                return
            time.sleep(0.01)
    raise AssertionError(f"backend {pid} still alive")


@postgresql
def test_idle_connection_the_server_dropped_is_replaced_unseen(app, client, fake_clock):
    pid = _only_connection(app)
    _terminate(app, pid)
    fake_clock[0] += app.config["DATABASE_IDLE_PING_SECONDS"]

    response = client.get("/healthz")

    assert response.status_code == 200, response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(text("SELECT pg_backend_pid()")) != pid
        db.session.remove()


@postgresql
def test_connection_back_from_a_request_just_now_is_not_pinged(app, fake_clock):
    """No round trip per checkout: a connection used a moment ago goes out unpinged — so
    one that died in that moment fails its statement once, and is then discarded."""
    pid = _only_connection(app)
    _terminate(app, pid)
    fake_clock[0] += app.config["DATABASE_IDLE_PING_SECONDS"] - 1

    with app.app_context():
        with pytest.raises(OperationalError):
            db.session.scalar(text("SELECT 1"))
        db.session.remove()
        assert db.session.scalar(text("SELECT pg_backend_pid()")) != pid
        db.session.remove()


@postgresql
def test_reads_run_outside_a_transaction_and_writes_inside_one(app, make_user):
    idle, in_transaction = psycopg.pq.TransactionStatus.IDLE, psycopg.pq.TransactionStatus.INTRANS
    with app.app_context():
        raw = db.session.connection().connection.dbapi_connection
        db.session.scalar(select(User.id))
        assert raw.info.transaction_status == idle  # no BEGIN sent, nothing to roll back

        db.session.execute(insert(User).values(email="t@example.test", name="T", kind="internal"))
        assert raw.info.transaction_status == in_transaction
        assert db.session.scalar(select(User.id).where(User.email == "t@example.test"))
        db.session.rollback()
        assert raw.info.transaction_status == idle
        assert db.session.scalar(select(User.id).where(User.email == "t@example.test")) is None

        db.session.scalar(select(User.id).with_for_update())  # row locks need a transaction
        assert raw.info.transaction_status == in_transaction
        db.session.remove()


@postgresql
def test_hot_statements_get_prepared_across_requests(app):
    """psycopg prepares a statement after 5 uses — unless a ROLLBACK, which makes it
    forget them all, ends every request (as it did: nothing was ever prepared)."""
    _only_connection(app)
    statement = select(User.id).where(User.email == "nobody@example.test")
    with app.app_context():
        for _ in range(6):
            db.session.scalar(statement)
            db.session.remove()  # a request's end
        prepared = db.session.scalars(text("SELECT statement FROM pg_prepared_statements")).all()
        db.session.remove()
    assert any("users.email" in s for s in prepared), prepared


@postgresql
def test_a_connection_with_its_own_isolation_level_keeps_it(app):
    """Alembic's `autocommit_block` (e.g. CREATE INDEX CONCURRENTLY) asks for AUTOCOMMIT:
    a write there must not open a transaction."""
    with app.app_context(), db.engine.connect() as connection:
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        raw = connection.connection.dbapi_connection
        connection.execute(text("SET application_name = 'autocommit block'"))
        assert raw.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        connection.execute(text("RESET application_name"))


def test_postgresql_pool_keeps_a_workers_requests_connections():
    config = {
        "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://postgres@127.0.0.1/test",
        "DATABASE_POOL_SIZE": 10,
        "DATABASE_POOL_OVERFLOW": 5,
    }
    connections.size_pool(config)
    assert config["SQLALCHEMY_ENGINE_OPTIONS"] == {"pool_size": 10, "max_overflow": 5}


def test_explicit_engine_options_and_sqlite_are_left_alone():
    explicit = {
        "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://postgres@127.0.0.1/test",
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 3},
        "DATABASE_POOL_SIZE": 10,
        "DATABASE_POOL_OVERFLOW": 5,
    }
    connections.size_pool(explicit)
    assert explicit["SQLALCHEMY_ENGINE_OPTIONS"] == {"pool_size": 3, "max_overflow": 5}
    sqlite = {"SQLALCHEMY_DATABASE_URI": "sqlite:///x.sqlite3", "DATABASE_POOL_SIZE": 10}
    connections.size_pool(sqlite)
    assert "SQLALCHEMY_ENGINE_OPTIONS" not in sqlite


@postgresql
def test_the_apps_postgresql_engine_uses_the_pool_setting(app):
    with app.app_context():
        assert db.engine.pool.size() == app.config["DATABASE_POOL_SIZE"]
