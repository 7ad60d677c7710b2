"""Database connections that cost as few round trips per request as possible.

On PostgreSQL every round trip is paid twice on a shared box: by the web worker (send,
wait, wake) and by the server's backend (wake, parse or bind, answer). A read-only page
used to cost three round trips beyond its SELECTs:

- `pool_pre_ping`: an empty query at every pool checkout, to catch connections the server
  dropped (a PostgreSQL restart). Now only a connection that sat in the pool at least
  `DATABASE_IDLE_PING_SECONDS` is pinged, and a dead one is replaced before the request
  sees it (SQLAlchemy's documented pattern: a `checkout` hook raising
  `DisconnectionError`). A connection that dies while busy fails that one statement and is
  discarded by SQLAlchemy, as before.
- `BEGIN`, sent by psycopg on its own before the first statement, and
- `ROLLBACK`, ending the request. Worse, psycopg forgets its prepared statements at every
  `ROLLBACK`, so a statement never reached the 5 uses (`prepare_threshold`) after which
  it is prepared: the server parsed and planned every statement of every request again.

On psycopg, a connection now stays in autocommit while it only reads: a plain SELECT runs
outside a transaction. Under PostgreSQL's READ COMMITTED (the only level the app uses)
each statement of a transaction takes its own snapshot anyway, so a SELECT sees the same
thing inside a transaction or outside one. The first statement that needs a transaction
— any write, DDL or SAVEPOINT, a data-modifying WITH, a SELECT that locks rows (`FOR
UPDATE`/`SHARE`) or calls a function with effects (`pg_advisory_xact_lock`,
`set_config`, `nextval`, `pg_notify`, …; the app's own SELECTs call none) — turns
autocommit off just before it is sent, so psycopg begins the transaction with it; commit
or rollback end it as before, and the next statement on an idle connection reads in
autocommit again. A read-only request so costs its SELECTs and nothing else, ends with
no ROLLBACK to send, and its hot statements get prepared.
"""

import re
import time
from functools import lru_cache

from sqlalchemy import event, exc
from sqlalchemy.pool import StaticPool

#: Seconds since checkin; injectable for tests (a clock that never sleeps).
clock = time.monotonic

#: Statements that may run outside a transaction: a SELECT that takes no row locks and
#: calls none of PostgreSQL's functions with effects beyond the statement.
_SELECT = re.compile(r"\s*SELECT\b", re.IGNORECASE)
_NEEDS_TRANSACTION = re.compile(
    r"\bFOR\s+(?:NO\s+KEY\s+)?(?:UPDATE|SHARE|KEY\s+SHARE)\b"
    r"|\b(?:pg_advisory\w*|pg_try_advisory\w*|set_config|nextval|setval|pg_notify"
    r"|txid_current|pg_current_xact_id|lo_\w+)\s*\(",
    re.IGNORECASE,
)


@lru_cache(maxsize=2048)
def reads_only(statement):
    """True if `statement` has the same effect in autocommit as in a transaction.

    Cached: the app's statements are a few hundred texts, compiled once each (SQLAlchemy's
    cache hands back the same string), and the search costs ~0.2 M instructions on each
    long one — more than the rest of this module's work on a page."""
    return bool(_SELECT.match(statement)) and not _NEEDS_TRANSACTION.search(statement)


def size_pool(config):
    """PostgreSQL: keep as many idle connections as a worker has requests in flight.

    SQLAlchemy's default pool keeps 5 and closes any connection returned while 5 are
    idle; a gevent worker serving 8–10 requests at once (16 clients over 2 workers) so
    closed and reopened connections all the time — each a new backend process on the
    server, `SET jit = off`, and statements prepared again. `DATABASE_POOL_SIZE`
    connections stay open; `DATABASE_POOL_OVERFLOW` more may open at a peak. An explicit
    SQLALCHEMY_ENGINE_OPTIONS wins."""
    if not str(config.get("SQLALCHEMY_DATABASE_URI", "")).startswith("postgresql"):
        return
    options = dict(config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    options.setdefault("pool_size", config["DATABASE_POOL_SIZE"])
    options.setdefault("max_overflow", config["DATABASE_POOL_OVERFLOW"])
    config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def init_app(app):
    """Install the idle ping on every engine, and the autocommit reads on psycopg's."""
    idle_seconds = app.config["DATABASE_IDLE_PING_SECONDS"]
    with app.app_context():
        from portal.extensions import db

        for engine in db.engines.values():
            install(engine, idle_seconds)


def install(engine, idle_seconds):
    if not isinstance(engine.pool, StaticPool):
        _ping_when_idle(engine, idle_seconds)
    if engine.dialect.driver == "psycopg":
        event.listen(engine, "before_cursor_execute", _begin_when_needed)


def _ping_when_idle(engine, idle_seconds):
    @event.listens_for(engine, "checkin")
    def _checked_in(dbapi_connection, record):
        if dbapi_connection is not None:
            record.info["checked_in_at"] = clock()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection, record, _proxy):
        since = record.info.pop("checked_in_at", None)
        if since is None or clock() - since < idle_seconds:
            return  # new, or back in the pool only just now
        try:
            _autocommit_if_idle(dbapi_connection)
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            # The pool discards this connection and checks out a fresh one.
            raise exc.DisconnectionError("idle connection failed its ping") from error


def _begin_when_needed(conn, cursor, statement, _params, _context, _executemany):
    """Between transactions, pick autocommit (reads) or a transaction (anything else)
    for the statement about to be sent; inside a transaction, leave it alone. A
    connection given an isolation level of its own (e.g. Alembic's `autocommit_block`,
    or SERIALIZABLE) keeps exactly what it asked for."""
    if "isolation_level" in conn.get_execution_options():
        return
    dbapi_connection = cursor.connection
    if dbapi_connection.info.transaction_status == _IDLE:
        dbapi_connection.autocommit = reads_only(statement)


def _autocommit_if_idle(dbapi_connection):
    """psycopg: a ping on a connection that isn't in autocommit would open a transaction."""
    info = getattr(dbapi_connection, "info", None)
    if info is not None and getattr(info, "transaction_status", None) == _IDLE:
        dbapi_connection.autocommit = True


try:
    from psycopg.pq import TransactionStatus

    _IDLE = TransactionStatus.IDLE
except ImportError:  # pragma: no cover - SQLite-only installs
    _IDLE = object()
