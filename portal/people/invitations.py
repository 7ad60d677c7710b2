"""Verbs on invitations: invite a person by email, re-send, accept (set a password)."""

import logging
import re
import smtplib

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.infra import audit, quotas, settings
from portal.mail import send_email
from portal.models.base import utcnow
from portal.models.users import KINDS, NAME_MAX, normalize_email
from portal.people import links
from portal.people.users import create_user, find_user_by_email
from portal.text import clean_name

log = logging.getLogger(__name__)

# The invitation email quotes the name: it must not carry a link of the inviter's choosing.
LINK_LIKE = re.compile(r"://|www\.|[<>]", re.IGNORECASE)
EMAIL_MAX = 254
_KIND_WORDS = {"internal": "an internal user", "client": "a client"}


class InvitationError(ValueError):
    """A refused invitation, with a message for the page (and the form field it is about)."""

    status = 400

    def __init__(self, message, field=None):
        super().__init__(message)
        self.field = field


class InvitationLimitError(InvitationError):
    """The inviter has sent too many invitations lately (answered with 429)."""

    status = 429


class InvitationEmailError(InvitationError):
    """The person was invited (and can be re-sent to) but the email could not be delivered."""

    def __init__(self, message, user):
        super().__init__(message)
        self.user = user


def invite_user(email, name, kind, invited_by, now=None):
    """Create an invited user and email them a single-use link to set a password."""
    email = _clean_email(email)
    name = clean_name(name)
    if not name:
        raise InvitationError("Enter the person's name.", "name")
    if len(name) > NAME_MAX:
        raise InvitationError(f"The name can be at most {NAME_MAX} characters.", "name")
    if LINK_LIKE.search(name):
        raise InvitationError("A name can't contain a web address.", "name")
    if kind not in KINDS:
        raise InvitationError("Choose internal user or client.", "kind")
    duplicate = InvitationError(f"There is already a user with the email {email}.", "email")
    if find_user_by_email(email) is not None:
        raise duplicate
    _count_invitation(invited_by)
    now = now or utcnow()
    try:
        user = create_user(email, name, kind, now=now)
    except IntegrityError as exc:  # invited by someone else a moment ago
        db.session.rollback()
        raise duplicate from exc
    summary = f"Invited {user.name} <{user.email}> as {_KIND_WORDS[kind]}"
    audit.record(invited_by or audit.SYSTEM, "invitation.sent", user=user, summary=summary, now=now)
    token = _issue(user, now)
    _send(user, token, invited_by)
    return user


def resend_invitation(user, invited_by, now=None):
    """Send a new link to an invited user; their earlier links stop working."""
    if user.status != "invited":
        raise InvitationError(f"{user.name} is not waiting for an invitation.")
    _count_invitation(invited_by, user)
    now = now or utcnow()
    user.invited_at = now
    asked = "" if invited_by is not None else " (asked for on the login page)"
    summary = f"Re-sent the invitation to {user.name} <{user.email}>{asked}"
    audit.record(invited_by or audit.SYSTEM, "invitation.sent", user=user, summary=summary, now=now)
    token = _issue(user, now)
    _send(user, token, invited_by)


def resend_on_request(email, now=None):
    """The login page's "re-send my invitation": silent whether or not anyone is invited."""
    user = find_user_by_email(email)
    if user is None or user.status != "invited":
        return
    try:
        resend_invitation(user, None, now=now)
    except InvitationError as exc:
        log.info("self-service invitation re-send to %s refused: %s", user.email, exc)


def invitation_link(token, now=None):
    """The usable invitation for `token`, else None."""
    link = links.find_link(token, links.INVITE, now=now)
    if link is None or link.user.activated_at is not None:
        return None
    return link


def _count_invitation(invited_by, invitee=None):
    """Every invitation and re-send, from any route, counts against INVITE_LIMIT (per
    inviter; a re-send the invitee asked for counts against the invitee)."""
    key = f"user:{invited_by.id}" if invited_by is not None else f"invitee:{invitee.id}"
    if not quotas.take("INVITE_LIMIT", "invitations", key):
        raise InvitationLimitError(
            "You have sent too many invitations in a short time. Please wait a while and "
            "try again.",
            "email",
        )


def _clean_email(email):
    email = normalize_email(email)
    if not email:
        raise InvitationError("Enter an email address.", "email")
    if len(email) > EMAIL_MAX:
        raise InvitationError("That email address is too long.", "email")
    try:
        # Syntax only (no DNS); test_environment also admits the reserved `.test` domain.
        validate_email(email, check_deliverability=False, test_environment=True)
    except EmailNotValidError as exc:
        raise InvitationError("Enter a valid email address.", "email") from exc
    return email


def _issue(user, now):
    token = links.issue_link(
        user, links.INVITE, current_app.config["INVITATION_TTL_SECONDS"], now=now
    )
    db.session.commit()
    return token


def _send(user, token, invited_by):
    ttl_days = max(1, current_app.config["INVITATION_TTL_SECONDS"] // 86400)
    try:
        send_email(
            user.email,
            f"You're invited to {settings.value('PORTAL_NAME')}",
            "invitation",
            recipient_name=user.name,
            user=user,
            invited_by=invited_by,
            link=links.absolute_url(f"/invite/{token}"),
            ttl_days=ttl_days,
        )
    except (OSError, smtplib.SMTPException) as exc:
        log.exception("invitation email to %s failed", user.email)
        raise InvitationEmailError(
            f"{user.name} was invited, but the email could not be sent. Try Re-send in a moment.",
            user,
        ) from exc
