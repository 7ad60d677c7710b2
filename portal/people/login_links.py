"""Logging in by an emailed link instead of a password: asked for on the login page, single
use, short-lived, and spent only by a POST (mail scanners that fetch links must not use it up).
"""

from portal.extensions import db
from portal.infra import audit, settings
from portal.models.base import utcnow
from portal.models.users import INTERNAL
from portal.people import links
from portal.people.users import find_user_by_email

EVERYONE = "everyone"
STAFF = "staff"
OFF = "off"


def offered():
    """Whether the login page offers login links at all (not switched "off")."""
    return settings.value("LOGIN_LINKS") in (EVERYONE, STAFF)


def allowed_for(user):
    """Login links are on for `user`: everyone, or staff only (clients use passwords).
    LOGIN_LINKS is the first value; an admin changes it in Settings → Client portal."""
    setting = settings.value("LOGIN_LINKS")
    return setting == EVERYONE or (setting == STAFF and user.kind == INTERNAL)


def request_login_link(email, now=None):
    """Email a login link if `email` belongs to someone who may log in with one; silent
    either way (the page answers the same, before this runs)."""
    now = now or utcnow()
    user = find_user_by_email(email)
    if user is None or not user.may_log_in or not allowed_for(user):
        links.new_token()  # the same token and hashing work as a real request
        return
    audit.record(
        user, "login_link.issued", user=user, summary=f"Login link emailed to {user.email}"
    )
    links.email_link(user, links.LOGIN, now=now)


def login_link(token, now=None):
    """The usable login link for `token`, else None (used, expired, superseded, switched off)."""
    link = links.find_link(token, links.LOGIN, now=now)
    if link is None or not link.user.may_log_in or not allowed_for(link.user):
        return None
    return link


def use_login_link(link, now=None):
    """Spend `link`: its user, or None when another request used it first."""
    if not links.use_link(link, now=now or utcnow()):
        db.session.rollback()
        return None
    user = link.user
    audit.record(user, "login_link.used", user=user, summary=f"Logged in by link as {user.email}")
    db.session.commit()
    return link.user
