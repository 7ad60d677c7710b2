"""Verbs on passwords: the rules, reset by email, and change."""

from portal.extensions import db
from portal.infra import audit
from portal.models.base import utcnow
from portal.people import links
from portal.people.sessions import revoke_sessions
from portal.people.users import find_user_by_email

MIN_LENGTH = 10
MAX_LENGTH = 1024


class PasswordError(ValueError):
    """A refused password, with a message for the page."""


class WrongPasswordError(PasswordError):
    """The current password given to confirm a change was wrong."""


def check_new_password(user, password, confirm):
    """Raise PasswordError unless `password` is acceptable for `user` and confirmed."""
    password = password or ""
    if len(password) < MIN_LENGTH:
        raise PasswordError(f"Use at least {MIN_LENGTH} characters.")
    if len(password) > MAX_LENGTH:
        raise PasswordError(f"Use at most {MAX_LENGTH} characters.")
    if password.strip().lower() == user.email.lower():
        raise PasswordError("Your password can't be your email address.")
    if password != confirm:
        raise PasswordError("The two passwords don't match.")


def replace_password(user, password, now=None):
    """Set a new password; every outstanding reset and invitation link stops working."""
    user.set_password(password)
    links.revoke_links(user, now=now or utcnow())


def request_password_reset(email, now=None):
    """Email a reset link if `email` belongs to an active account; silent either way."""
    now = now or utcnow()
    user = find_user_by_email(email)
    if user is None or not user.is_active:
        # The same token and hashing work as a real request.
        links.new_token()
        return
    links.email_link(user, links.RESET, now=now)


def reset_link(token, now=None):
    """The usable reset link for `token`, else None."""
    link = links.find_link(token, links.RESET, now=now)
    if link is None or not link.user.is_active:
        return None
    return link


_SPENT = {
    links.INVITE: "This link is no longer valid — ask for a new invitation.",
    links.RESET: "This link is no longer valid — ask for a new one.",
}


def set_password_by_link(link, password, confirm, now=None):
    """The emailed-link flow (invitation or reset): use the link once, set the password.

    An invited account becomes active; every session of the user ends. Returns the user.
    """
    user = link.user
    check_new_password(user, password, confirm)
    now = now or utcnow()
    if not links.use_link(link, now=now):
        db.session.rollback()
        raise PasswordError(_SPENT[link.purpose])
    replace_password(user, password, now)
    if link.purpose == links.INVITE:
        action, summary = "invitation.accepted", f"{user.name} <{user.email}> set a password"
    else:
        action, summary = "password.reset", f"{user.name} <{user.email}> reset their password"
    audit.record(user, action, user=user, summary=summary, now=now)
    if user.activated_at is None:
        user.activated_at = now
    revoke_sessions(user)
    db.session.commit()
    return user


def change_password(user, current, password, confirm):
    """Change a logged-in user's password; their other sessions end."""
    if not user.check_password(current or ""):
        raise WrongPasswordError("That is not your current password.")
    check_new_password(user, password, confirm)
    replace_password(user, password)
    summary = f"{user.name} <{user.email}> changed their password"
    audit.record(user, "password.changed", user=user, summary=summary)
    revoke_sessions(user, keep_current=True)
    db.session.commit()
