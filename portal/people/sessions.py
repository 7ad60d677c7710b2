"""Logins as server-side records: logout, password change and deactivation end them."""

import logging
import secrets
from datetime import timedelta
from functools import cache

from flask import current_app, session
from flask_login import current_user, login_user, logout_user
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.exc import OperationalError

from portal.extensions import db, login_manager
from portal.live.revocations import note_revoked
from portal.models import LoginSession, User
from portal.models.base import UTCDateTime, utcnow

log = logging.getLogger(__name__)


def init_app(app):
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to continue."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"


#: How often a request bumps its session's last_seen_at (the idle timeout's resolution).
TOUCH_EVERY = timedelta(minutes=1)


@login_manager.user_loader
def _load_user(user_id):
    token = session.get("sid")
    if not token or not str(user_id).isascii() or not str(user_id).isdigit():
        return None
    now = utcnow()
    user, last_seen = _session_row(int(user_id), token, now)
    if user is not None and now - last_seen >= TOUCH_EVERY:
        _touch(token, now)
    return user


def _last_seen():
    return func.coalesce(LoginSession.last_seen_at, LoginSession.created_at)


def live_session_conditions():
    """WHERE clauses of a login session that is not revoked, expired or idle, claimed by a
    user: the user id, the token and the two time limits (`session_limits`) are parameters."""
    return (
        User.id == bindparam("user_id"),
        LoginSession.token == bindparam("token"),
        LoginSession.revoked_at.is_(None),
        LoginSession.created_at > bindparam("born_after", type_=UTCDateTime()),
        _last_seen() > bindparam("seen_after", type_=UTCDateTime()),
    )


def session_limits(now):
    """The time-limit parameters of `live_session_conditions` at `now`."""
    config = current_app.config
    return {
        "born_after": now - timedelta(hours=config["SESSION_LIFETIME_HOURS"]),
        "seen_after": now - timedelta(hours=config["SESSION_IDLE_HOURS"]),
    }


@cache
def _live_session_statement():
    """User and last activity of a live login session (built once per process: every
    request runs it)."""
    return (
        select(User, _last_seen())
        .join(LoginSession, LoginSession.user_id == User.id)
        .where(*live_session_conditions())
    )


def _session_row(user_id, token, now):
    """(user, last seen) of a live login session whose user may log in, else (None, None)."""
    row = db.session.execute(
        _live_session_statement(), {"user_id": user_id, "token": token, **session_limits(now)}
    ).first()
    if row is None or not row[0].is_active:
        return None, None
    user, last_seen = row
    return user, UTCDateTime().process_result_value(last_seen, None) if last_seen else now


def session_user(user_id, token, now=None):
    """The user of a live login session (not revoked, not expired, not idle), else None."""
    return _session_row(user_id, token, now or utcnow())[0]


def _touch(token, now):
    """Record activity in its own short transaction (at most once per TOUCH_EVERY).

    Best effort: a busy database only delays the next touch, it never fails the request.
    """
    try:
        with db.engine.begin() as connection:
            connection.execute(
                update(LoginSession.__table__)
                .where(LoginSession.token == token)
                .values(last_seen_at=now)
            )
    except OperationalError:
        log.warning("could not record session activity (database busy)")


def start_session(user):
    """Log `user` in with a fresh session cookie and a server-side record.

    A session this browser already had is revoked: logging in again never leaves the
    earlier login usable (by whoever copied its cookie).
    """
    previous = session.get("sid")
    if previous:
        _revoke(previous, _current_user_id())
    session.clear()
    token = secrets.token_urlsafe(32)
    now = utcnow()
    db.session.add(LoginSession(user_id=user.id, token=token, created_at=now, last_seen_at=now))
    db.session.commit()
    login_user(user)
    session["sid"] = token


def end_session():
    """Log out and revoke this session on the server, so a copied cookie stops working."""
    token = session.get("sid")
    if token:
        _revoke(token, _current_user_id())  # the id before the revocation hides the user
        db.session.commit()
    logout_user()
    session.clear()


def _current_user_id():
    """The logged-in user's id, or None."""
    return current_user.id if current_user.is_authenticated else None


def _revoke(token, user_id):
    """Revoke one login session; its streams end once this commits."""
    db.session.execute(
        update(LoginSession)
        .where(LoginSession.token == token, LoginSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    note_revoked(db.session, user_id, only=token)


def revoke_sessions(user, keep_current=False):
    """End `user`'s sessions everywhere (optionally keeping the one making this request)."""
    query = update(LoginSession).where(
        LoginSession.user_id == user.id, LoginSession.revoked_at.is_(None)
    )
    keep = session.get("sid") if keep_current else None
    if keep:
        query = query.where(LoginSession.token != keep)
    db.session.execute(query.values(revoked_at=utcnow()))
    note_revoked(db.session, user.id, keep=keep)
