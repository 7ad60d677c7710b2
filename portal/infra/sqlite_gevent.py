"""SQLite under gevent: wait for the database lock cooperatively, never inside C.

SQLite's busy timeout sleeps inside the C library; under a gevent worker that freezes
the whole process (every request and stream) while another process holds the write
lock — and while it sleeps, the greenlet of the same process that holds the lock can't
run to release it. Here, in a process gevent has patched:

- writers take turns: the first write statement of a transaction waits (in gevent, in
  arrival order) for this process's one write turn, held until the commit or rollback,
  so two greenlets of one process never contend for SQLite's lock at all;
- the busy timeout is 0: a write that finds the lock held by another process (a second
  web worker, the job worker) sleeps in gevent and retries, up to the usual 10 s.
"""

import random
import sqlite3
import time

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import Pool

from portal.infra.cooperative import cooperative

#: Longest a statement waits for the lock in all (the busy timeout it replaces).
WAIT_SECONDS = 10.0
#: The C-level wait per attempt: none, the loop never sleeps inside SQLite.
BUSY_TIMEOUT_MS = 0
#: Retry pauses (seconds) while another process holds the lock: short, then longer.
FIRST_PAUSE, LONGEST_PAUSE = 0.001, 0.01
#: Statements that make pysqlite open a write transaction (and so take the turn).
WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")
#: Key in the pooled connection's info: this connection holds the process's write turn.
TURN = "sqlite_gevent_turn"
SQLITE_BUSY = 5
SQLITE_BUSY_SNAPSHOT = 517


def _is_sqlite(dbapi_connection):
    return type(dbapi_connection).__module__.startswith("sqlite3")


def _short_busy_timeout(dbapi_connection, _record):
    if _is_sqlite(dbapi_connection) and cooperative():
        dbapi_connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")


class _Turn:
    """This process's one write turn: a gevent semaphore and the greenlet holding it."""

    semaphore = None
    holder = None


def _take_turn(info, statement):
    """Before a connection's first write: wait (in gevent) until no other greenlet of this
    process has a write transaction open. A greenlet already holding the turn through
    another connection goes on (and meets SQLite's lock, as before)."""
    if info.get(TURN) or not statement.lstrip()[:7].upper().startswith(WRITES):
        return
    import gevent
    from gevent.lock import Semaphore

    if _Turn.semaphore is None:
        _Turn.semaphore = Semaphore()
    if _Turn.holder is gevent.getcurrent():
        return
    if not _Turn.semaphore.acquire(timeout=WAIT_SECONDS):
        raise sqlite3.OperationalError("database is locked (no write turn in 10 s)")
    _Turn.holder = gevent.getcurrent()
    info[TURN] = True


def _give_turn(info):
    if info.pop(TURN, False):
        _Turn.holder = None
        _Turn.semaphore.release()


def _execute(run, cursor, statement, context):
    if not _is_sqlite(cursor.connection) or not cooperative():
        return None
    import gevent

    _take_turn(context.root_connection.info, statement)
    deadline = time.monotonic() + WAIT_SECONDS
    pause = FIRST_PAUSE
    while True:
        try:
            run()
            return True
        except sqlite3.OperationalError as exc:
            if not _retryable(exc) or time.monotonic() > deadline:
                raise
            gevent.sleep(random.uniform(pause / 2, pause))
            pause = min(pause * 2, LONGEST_PAUSE)


def _retryable(exc):
    """Busy (another connection holds the lock), not a stale snapshot (retry can't help)."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is None:
        return "locked" in str(exc)
    return code & 0xFF == SQLITE_BUSY and code != SQLITE_BUSY_SNAPSHOT


def _do_execute(cursor, statement, parameters, context):
    return _execute(lambda: cursor.execute(statement, parameters), cursor, statement, context)


def _do_execute_no_params(cursor, statement, context):
    return _execute(lambda: cursor.execute(statement), cursor, statement, context)


def _do_executemany(cursor, statement, parameters, context):
    return _execute(lambda: cursor.executemany(statement, parameters), cursor, statement, context)


def _transaction_ended(connection):
    # Fired just before the DBAPI commit or rollback, which runs without yielding: the
    # next writer of this process starts after it. An invalidated connection (the database
    # dropped it) has no `info` to read — asking raises — and the pool's invalidate event
    # below has given its turn.
    if connection.invalidated:
        return
    _give_turn(connection.info)


def _connection_reset(dbapi_connection, connection_record, reset_state):
    _give_turn(connection_record.info)


def _connection_closed(dbapi_connection, connection_record):
    _give_turn(connection_record.info)


def _connection_invalidated(dbapi_connection, connection_record, exception):
    _give_turn(connection_record.info)


def listen():
    """Install the waits on every engine and pool (once per process, after the connect
    hook that sets SQLite's usual busy timeout: `_short_busy_timeout` replaces it)."""
    event.listen(Engine, "connect", _short_busy_timeout)
    event.listen(Engine, "do_execute", _do_execute)
    event.listen(Engine, "do_execute_no_params", _do_execute_no_params)
    event.listen(Engine, "do_executemany", _do_executemany)
    event.listen(Engine, "commit", _transaction_ended)
    event.listen(Engine, "rollback", _transaction_ended)
    event.listen(Pool, "reset", _connection_reset)
    event.listen(Pool, "close", _connection_closed)
    event.listen(Pool, "invalidate", _connection_invalidated)
