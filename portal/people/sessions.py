"""Logins as server-side records: logout, password change and deactivation end them."""

import secrets

from flask import session
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select, update

from portal.extensions import db, login_manager
from portal.live.revocations import note_revoked
from portal.models import LoginSession, User
from portal.models.base import utcnow


def init_app(app):
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to continue."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"


@login_manager.user_loader
def _load_user(user_id):
    token = session.get("sid")
    if not token or not str(user_id).isdigit():
        return None
    return session_user(int(user_id), token)


def session_user(user_id, token):
    """The user of a login session that is not revoked, while they may log in; else None."""
    user = db.session.scalar(
        select(User)
        .join(LoginSession, LoginSession.user_id == User.id)
        .where(
            User.id == user_id,
            LoginSession.token == token,
            LoginSession.revoked_at.is_(None),
        )
    )
    return user if user is not None and user.is_active else None


def start_session(user):
    """Log `user` in with a fresh session cookie and a server-side record."""
    session.clear()
    token = secrets.token_urlsafe(32)
    db.session.add(LoginSession(user_id=user.id, token=token))
    db.session.commit()
    login_user(user)
    session["sid"] = token


def end_session():
    """Log out and revoke this session on the server, so a copied cookie stops working."""
    token = session.get("sid")
    if token:
        user_id = _current_user_id()  # before the revocation hides the user
        db.session.execute(
            update(LoginSession)
            .where(LoginSession.token == token, LoginSession.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
        note_revoked(db.session, user_id, only=token)
        db.session.commit()
    logout_user()
    session.clear()


def _current_user_id():
    """The logged-in user's id, or None."""
    return current_user.id if current_user.is_authenticated else None


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
