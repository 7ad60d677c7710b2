"""SQLite under gevent: wait for the database lock cooperatively, never inside C.

SQLite's busy timeout sleeps inside the C library; under a gevent worker that freezes
the whole process (every request and stream) while another process holds the write
lock. Here, in a process gevent has patched, the busy timeout is short and a statement
that finds the database locked sleeps in gevent and retries, up to the usual 10 s, so
the loop keeps serving meanwhile.
"""

import random
import sqlite3
import sys
import time

from sqlalchemy import event
from sqlalchemy.engine import Engine

#: Longest a statement waits for the lock in all (the busy timeout it replaces).
WAIT_SECONDS = 10.0
#: The C-level wait per attempt: short enough that a stall is not noticed.
BUSY_TIMEOUT_MS = 5
SQLITE_BUSY = 5
SQLITE_BUSY_SNAPSHOT = 517


def cooperative():
    """True in a process whose threads gevent has patched (gunicorn's gevent workers)."""
    if "gevent" not in sys.modules:
        return False
    from gevent import monkey

    return monkey.is_module_patched("threading")


def _is_sqlite(dbapi_connection):
    return type(dbapi_connection).__module__.startswith("sqlite3")


@event.listens_for(Engine, "connect")
def _short_busy_timeout(dbapi_connection, _record):
    if _is_sqlite(dbapi_connection) and cooperative():
        dbapi_connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")


def _execute(run, cursor):
    if not _is_sqlite(cursor.connection) or not cooperative():
        return None
    import gevent

    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        try:
            run()
            return True
        except sqlite3.OperationalError as exc:
            if not _retryable(exc) or time.monotonic() > deadline:
                raise
            gevent.sleep(random.uniform(0.002, 0.01))


def _retryable(exc):
    """Busy (another connection holds the lock), not a stale snapshot (retry can't help)."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is None:
        return "locked" in str(exc)
    return code & 0xFF == SQLITE_BUSY and code != SQLITE_BUSY_SNAPSHOT


@event.listens_for(Engine, "do_execute")
def _do_execute(cursor, statement, parameters, context):
    return _execute(lambda: cursor.execute(statement, parameters), cursor)


@event.listens_for(Engine, "do_execute_no_params")
def _do_execute_no_params(cursor, statement, context):
    return _execute(lambda: cursor.execute(statement), cursor)
