"""All database wiring in one place: engine options, connection hooks and the order they
run in, and the stream check's own connections. `install(app)` is the only entry point."""

import os

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import StaticPool

from portal.extensions import db
from portal.infra import connections, sqlite_gevent

#: Connections of the stream checks' engine a process keeps, and may open beyond them.
CHECK_POOL_SIZE, CHECK_MAX_OVERFLOW = 2, 8
_listening = []


def install(app):
    """Size the pool, create the engines and hook them (call before anything queries)."""
    _listen_once()
    connections.size_pool(app.config)  # before the engines exist
    db.init_app(app)
    connections.init_app(app)


def _listen_once():
    """Process-wide hooks on every engine, in this order: SQLite's pragmas (a 10 s busy
    timeout), PostgreSQL's settings, then SQLite under gevent (which replaces that busy
    timeout with its own cooperative wait)."""
    if _listening:
        return
    event.listen(Engine, "connect", _sqlite_pragmas)
    event.listen(Engine, "connect", _postgresql_settings)
    sqlite_gevent.listen()
    _listening.append(True)


def _sqlite_pragmas(dbapi_connection, _record):
    """SQLite: WAL so readers don't block the writer, and wait instead of failing when busy.

    synchronous=NORMAL (SQLite's advice for WAL): a commit no longer waits for an fsync
    while it holds the write lock; the database stays consistent, and only a power loss
    (not a crash of the app) can lose the last commits before a checkpoint.
    """
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def _postgresql_settings(dbapi_connection, _record):
    """PostgreSQL: no JIT compilation. A page's statements are short, but one whose estimate
    crosses `jit_above_cost` (the unread badges over 1,000 rooms) spent ~48 ms compiling
    to run for 5 (docs/performance.md)."""
    if type(dbapi_connection).__module__.startswith("psycopg"):
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True  # a SET inside a rolled-back transaction is undone
        dbapi_connection.execute("SET jit = off")
        dbapi_connection.autocommit = autocommit


def check_engine(app):
    """This process's engine for the stream's login checks: autocommit (one round trip on
    PostgreSQL, no transaction to end) and never pinged (a dropped connection fails its
    check and the check runs once more). The app's own engine for an in-memory SQLite
    database, which no other engine can see."""
    engines = app.extensions.setdefault("stream_checks", {})  # per process:
    engine = engines.get(os.getpid())  # a forked child makes its own
    if engine is None:
        main = db.engine
        if isinstance(main.pool, StaticPool):
            engine = main
        else:
            engine = create_engine(
                main.url,
                isolation_level="AUTOCOMMIT",
                pool_pre_ping=False,
                pool_reset_on_return=None,
                pool_size=CHECK_POOL_SIZE,
                max_overflow=CHECK_MAX_OVERFLOW,
            )
        engine = engines.setdefault(os.getpid(), engine)
    return engine
