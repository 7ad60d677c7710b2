"""The stream's login check: the rules of `portal.people.sessions`, in one Core query.

A stream connect asks one question: is this login session live (not revoked, expired or
idle) and may its user log in (active and activated)? Flask-Login's `current_user`
answers it by loading a `User` through the ORM — a Session, the identity map, a pool
checkout per request — which was most of a connect's cost. Here the same conditions are
one prebuilt Core statement on a pooled connection, returning three columns.

The session's activity record (`last_seen_at`, touched at most once per
`sessions.TOUCH_EVERY`) is left to the full login path: when a touch is due, the caller
asks `current_user` as every page does, so a stream connect still counts as activity.
"""

from datetime import timedelta
from functools import cache

from flask import current_app
from sqlalchemy import bindparam, func, select

from portal.extensions import db
from portal.models import LoginSession, User
from portal.models.base import UTCDateTime, utcnow
from portal.people.sessions import TOUCH_EVERY

#: The session is live and its user may log in.
ALLOWED = "allowed"
#: No live session of this user with this token, or the user may not log in.
DENIED = "denied"
#: Allowed, and the session's activity is due a touch (the full login path records it).
TOUCH = "touch"


@cache
def _statement():
    """Built once per process: the user id, the token and both time limits are parameters."""
    last_seen = func.coalesce(LoginSession.last_seen_at, LoginSession.created_at)
    return (
        select(User.active, User.activated_at, last_seen)
        .join(LoginSession, LoginSession.user_id == User.id)
        .where(
            User.id == bindparam("user_id"),
            LoginSession.token == bindparam("token"),
            LoginSession.revoked_at.is_(None),
            LoginSession.created_at > bindparam("born_after", type_=UTCDateTime()),
            last_seen > bindparam("seen_after", type_=UTCDateTime()),
        )
    )


def check(user_id, token, now=None):
    """ALLOWED, DENIED or TOUCH for the session `token` claimed by `user_id`."""
    if user_id is None or not token:
        return DENIED
    now = now or utcnow()
    config = current_app.config
    limits = {
        "user_id": user_id,
        "token": token,
        "born_after": now - timedelta(hours=config["SESSION_LIFETIME_HOURS"]),
        "seen_after": now - timedelta(hours=config["SESSION_IDLE_HOURS"]),
    }
    with db.engine.connect() as connection:
        row = connection.execute(_statement(), limits).first()
    if row is None:
        return DENIED
    active, activated_at, last_seen = row
    if not active or activated_at is None:  # `User.is_active`
        return DENIED
    last_seen = UTCDateTime().process_result_value(last_seen, None) if last_seen else now
    return TOUCH if now - last_seen >= TOUCH_EVERY else ALLOWED
