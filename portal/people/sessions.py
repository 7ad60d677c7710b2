"""Logins as server-side records: logout, password change and deactivation end them.

Three readers ask whether a login session is live, all with `live_session_conditions`:
every page (Flask-Login's user loader, through the ORM), the live publisher, and a
stream connect (`stream_verdict`: one prebuilt Core statement on the stream checks' own
autocommit connections — loading a `User` through the ORM was half of a connect's
instructions). A revoked session is announced after commit (`sessions_revoked`), and
live delivery ends its streams.
"""

import hashlib
import logging
import secrets
from datetime import timedelta
from functools import cache

from flask import current_app, session
from flask_login import current_user, login_user, logout_user
from sqlalchemy import bindparam, event, func, select, update
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from portal.events import send, sessions_revoked
from portal.extensions import db, login_manager
from portal.infra.database import check_engine
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
    if row is None or not row[0].may_log_in:
        return None, None
    user, last_seen = row
    return user, _as_time(last_seen, now)


def _as_time(last_seen, now):
    return UTCDateTime().process_result_value(last_seen, None) if last_seen else now


def session_user(user_id, token, now=None):
    """The user of a live login session (not revoked, not expired, not idle), else None."""
    return _session_row(user_id, token, now or utcnow())[0]


#: A stream's verdicts: the session is live and its user may log in; it is not; it is,
#: and its activity is due a touch (which the caller records through the full login path).
ALLOWED, DENIED, TOUCH = "allowed", "denied", "touch"


@cache
def _stream_statement():
    """Built once per process: the user id, the token and both time limits are parameters."""
    return (
        select(User.may_log_in, _last_seen())
        .join(LoginSession, LoginSession.user_id == User.id)
        .where(*live_session_conditions())
    )


def stream_verdict(user_id, token, now=None):
    """ALLOWED, DENIED or TOUCH for the login session `token` claimed by `user_id`."""
    if user_id is None or not token:
        return DENIED
    now = now or utcnow()
    row = _first_row(
        _stream_statement(), {"user_id": user_id, "token": token, **session_limits(now)}
    )
    if row is None or not row[0]:
        return DENIED
    return TOUCH if now - _as_time(row[1], now) >= TOUCH_EVERY else ALLOWED


def _first_row(statement, params):
    """The first row; on a database error, once more on a fresh connection (the failed
    one is discarded: the database may have dropped it, and nothing pinged it first)."""
    engine = check_engine(current_app)
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
    _announce_revoked(user_id, only=token)


def revoke_sessions(user, keep_current=False):
    """End `user`'s sessions everywhere (optionally keeping the one making this request)."""
    query = update(LoginSession).where(
        LoginSession.user_id == user.id, LoginSession.revoked_at.is_(None)
    )
    keep = session.get("sid") if keep_current else None
    if keep:
        query = query.where(LoginSession.token != keep)
    db.session.execute(query.values(revoked_at=utcnow()))
    _announce_revoked(user.id, keep=keep)


def session_key(token):
    """The public name of a login session: a digest of its token."""
    if not token:
        return None
    return hashlib.sha256(token.encode()).hexdigest()[:32]


_REVOKED = "portal_revoked_sessions"


def _announce_revoked(user_id, only=None, keep=None):
    """After the next commit, announce that `user_id`'s session `only` (or all but `keep`)
    ended. Keys, never tokens, leave this module."""
    if user_id is not None:
        revoked = {"user_id": user_id, "only": session_key(only), "keep": session_key(keep)}
        db.session.info.setdefault(_REVOKED, []).append(revoked)


@event.listens_for(Session, "after_commit")
def _announce_after_commit(db_session):
    for revoked in db_session.info.pop(_REVOKED, ()):
        send(sessions_revoked, **revoked)


@event.listens_for(Session, "after_soft_rollback")
def _forget_after_rollback(db_session, _previous_transaction):
    db_session.info.pop(_REVOKED, None)
