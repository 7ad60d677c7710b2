"""Single-use emailed links (invitations, password resets, login links); only a hash of each
token is kept."""

import hashlib
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update

from portal.extensions import db
from portal.infra import settings
from portal.mail import send_email
from portal.models import Invitation
from portal.models.base import utcnow

INVITE = "invite"
RESET = "reset"
LOGIN = "login"
# token_urlsafe(32) is 43 characters; anything much longer was not issued by us.
_MAX_TOKEN_LENGTH = 100


def hash_token(token):
    return hashlib.sha256(token.encode()).hexdigest()


def new_token():
    """A fresh random token and its hash."""
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


def issue_link(user, purpose, ttl_seconds, now=None):
    """Kill the user's open links for `purpose` and store a new one; returns the raw token."""
    now = now or utcnow()
    revoke_links(user, purpose, now=now)
    token, token_hash = new_token()
    db.session.add(
        Invitation(
            user_id=user.id,
            purpose=purpose,
            token_hash=token_hash,
            created_at=now,
            expires_at=now + timedelta(seconds=ttl_seconds),
        )
    )
    return token


def revoke_links(user, purpose=None, now=None):
    """Make every unused link of `user` (for `purpose`, or all) stop working."""
    query = update(Invitation).where(
        Invitation.user_id == user.id,
        Invitation.used_at.is_(None),
        Invitation.revoked_at.is_(None),
    )
    if purpose:
        query = query.where(Invitation.purpose == purpose)
    db.session.execute(query.values(revoked_at=now or utcnow()))


def find_link(token, purpose, now=None):
    """The usable link for `token`, else None (used, expired, superseded, tampered)."""
    if not token or len(token) > _MAX_TOKEN_LENGTH:
        return None
    link = db.session.scalar(
        select(Invitation).where(
            Invitation.token_hash == hash_token(token), Invitation.purpose == purpose
        )
    )
    now = now or utcnow()
    if link is None or link.used_at or link.revoked_at or link.expires_at <= now:
        return None
    if not link.user.active:
        return None
    return link


def use_link(link, now=None):
    """Mark `link` used; False when another request used or revoked it first."""
    result = db.session.execute(
        update(Invitation)
        .where(
            Invitation.id == link.id,
            Invitation.used_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
        .values(used_at=now or utcnow())
    )
    return result.rowcount == 1


#: The emailed links: (page path before the token, TTL setting, subject, email template).
EMAILED = {
    RESET: (
        "/password/reset/",
        "PASSWORD_RESET_TTL_SECONDS",
        "Reset your {portal} password",
        "password_reset",
    ),
    LOGIN: ("/login/link/", "LOGIN_LINK_TTL_SECONDS", "Your login link for {portal}", "login_link"),
}


def email_link(user, purpose, now=None):
    """Issue a `purpose` link (one of EMAILED) for `user` and email it."""
    path, ttl_setting, subject, template = EMAILED[purpose]
    config = current_app.config
    ttl_seconds = config[ttl_setting]
    token = issue_link(user, purpose, ttl_seconds, now=now)
    db.session.commit()
    send_email(
        user.email,
        subject.format(portal=settings.value("PORTAL_NAME")),
        template,
        recipient_name=user.name,
        user=user,
        link=absolute_url(f"{path}{token}"),
        ttl_minutes=max(1, ttl_seconds // 60),
    )


def absolute_url(path):
    """A link for an email: always on PORTAL_BASE_URL, never the request's Host."""
    return current_app.config["PORTAL_BASE_URL"] + path
