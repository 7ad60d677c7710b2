"""The stream's login check: the rules of `portal.people.sessions`, in one Core query.

A stream connect asks one question: is this login session live (not revoked, expired or
idle) and may its user log in (active and activated)? Flask-Login's `current_user`
answers it by loading a `User` through the ORM — a Session, the identity map, a pool
checkout per request — which was about half of a connect's instructions. Here the same
conditions are one prebuilt Core statement on a pooled connection, returning three columns.

The connections are the check's own (`_engine`): autocommit, so a check is one round trip
on PostgreSQL (no transaction to end), and not pinged before each use — a connection the
database dropped fails its check, is discarded, and the check runs once more.

The session's activity record (`last_seen_at`, touched at most once per
`sessions.TOUCH_EVERY`) is left to the full login path: when a touch is due, the caller
asks `current_user` as every page does, so a stream connect still counts as activity.
"""

import os
from functools import cache

from flask import current_app
from sqlalchemy import create_engine, func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import StaticPool

from portal.extensions import db
from portal.models import LoginSession, User
from portal.models.base import UTCDateTime, utcnow
from portal.people.sessions import TOUCH_EVERY, live_session_conditions, session_limits

#: The session is live and its user may log in.
ALLOWED = "allowed"
#: No live session of this user with this token, or the user may not log in.
DENIED = "denied"
#: Allowed, and the session's activity is due a touch (the full login path records it).
TOUCH = "touch"
#: Connections of the checks' engine a process keeps, and may open beyond them.
POOL_SIZE, MAX_OVERFLOW = 2, 8


@cache
def _statement():
    """Built once per process: the user id, the token and both time limits are parameters."""
    last_seen = func.coalesce(LoginSession.last_seen_at, LoginSession.created_at)
    return (
        select(User.active, User.activated_at, last_seen)
        .join(LoginSession, LoginSession.user_id == User.id)
        .where(*live_session_conditions())
    )


def check(user_id, token, now=None):
    """ALLOWED, DENIED or TOUCH for the session `token` claimed by `user_id`."""
    if user_id is None or not token:
        return DENIED
    now = now or utcnow()
    limits = {"user_id": user_id, "token": token, **session_limits(now)}
    row = _first(_statement(), limits)
    if row is None:
        return DENIED
    active, activated_at, last_seen = row
    if not active or activated_at is None:  # `User.is_active`
        return DENIED
    last_seen = UTCDateTime().process_result_value(last_seen, None) if last_seen else now
    return TOUCH if now - last_seen >= TOUCH_EVERY else ALLOWED


def _first(statement, params):
    """The first row; on a database error, once more on a fresh connection (the failed
    one is discarded: the database may have dropped it, and nothing pinged it first)."""
    engine = _engine()
    for attempt in (1, 2):
        connection = engine.connect()
        try:
            row = connection.execute(statement, params).first()
        except DBAPIError:
            connection.invalidate()  # closed and discarded: nothing to roll back
            if attempt == 2:
                raise
            continue
        finally:
            if not connection.invalidated:
                connection.close()
        return row
    return None


def _engine():
    """This process's engine for the checks (the app's own for an in-memory SQLite
    database, which no other engine can see)."""
    engines = current_app.extensions.setdefault("stream_signin", {})  # per process:
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
                pool_size=POOL_SIZE,
                max_overflow=MAX_OVERFLOW,
            )
        engine = engines.setdefault(os.getpid(), engine)
    return engine
