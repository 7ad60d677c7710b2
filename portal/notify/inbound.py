"""Replies by email: check the address, the sender and the right to post, then post once.

Shared by the `mail-in` SMTP process and `POST /inbound/email`. A refused reply is logged
like a bounce and posts nothing; an auto-reply or a re-delivered email is dropped quietly.
"""

import email
import hashlib
import logging
from dataclasses import dataclass
from email import policy

from sqlalchemy.exc import IntegrityError

from portal import access
from portal.extensions import db
from portal.infra import audit
from portal.messaging.messages import MessageError, post_message
from portal.models import InboundEmail, Participant, Room, User
from portal.notify.replies import ReplyTokenError, read_token, redacted, token_from_address
from portal.notify.reply_text import (
    auto_reply_reason,
    reply_files,
    reply_text,
    sender_addresses,
)

log = logging.getLogger("portal.mail_in")
POSTED, DUPLICATE, IGNORED, REFUSED = "posted", "duplicate", "ignored", "refused"
_RECIPIENT_HEADERS = ("To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To")


@dataclass
class Outcome:
    """What became of one reply address of an email."""

    status: str
    reason: str = ""
    message_id: int | None = None


class Refused(Exception):
    """A reply that must not be posted, with the reason the bounce gives (and, once known,
    the token's user and room)."""

    def __init__(self, reason, user=None, room=None):
        super().__init__(reason)
        self.user, self.room = user, room


def parse(raw):
    """The email as a stdlib EmailMessage."""
    return email.message_from_bytes(raw, policy=policy.default)


def reply_recipients(message, recipients=None):
    """The reply addresses among `recipients` (the envelope), else among the headers."""
    if recipients is None:
        recipients = [
            str(address) for name in _RECIPIENT_HEADERS for address in _addresses(message, name)
        ]
    return list(dict.fromkeys(r for r in recipients if token_from_address(r)))


def _addresses(message, name):
    for value in message.get_all(name) or ():
        yield from (a.addr_spec for a in getattr(value, "addresses", ()))


def receive(raw, envelope_from=None, recipients=None):
    """Handle one inbound email; one Outcome per reply address it was sent to."""
    message = parse(raw)
    targets = reply_recipients(message, recipients)
    if not targets:
        _bounce(envelope_from, "-", "no reply address among the recipients")
        return [Outcome(REFUSED, "no reply address among the recipients")]
    reason = auto_reply_reason(message, envelope_from)
    if reason:
        log.info("mail-in: ignored an automatic email from %s (%s)", envelope_from, reason)
        return [Outcome(IGNORED, reason) for _ in targets]
    return [_receive_one(raw, message, envelope_from, target) for target in targets]


def _receive_one(raw, message, envelope_from, address):
    try:
        user, room = _author_and_room(address, message, envelope_from)
        return _post_once(raw, message, user, room)
    except Refused as exc:
        db.session.rollback()
        sender = envelope_from or message.get("From")
        _bounce(sender, address, str(exc))
        _audit_refusal(sender, exc)
        return Outcome(REFUSED, str(exc))


def _author_and_room(address, message, envelope_from):
    """The token's user and room if that user may still post there from this sender."""
    try:
        user_id, room_id, participant_id, issued_at = read_token(token_from_address(address))
    except ReplyTokenError as exc:
        raise Refused(str(exc)) from exc
    user, room = db.session.get(User, user_id), db.session.get(Room, room_id)
    participant = db.session.get(Participant, participant_id)
    if not _same_participant(participant, user, room, issued_at):
        raise Refused("the person is no longer a participant of this conversation", user, room)
    if user.email.lower() not in sender_addresses(message, envelope_from):
        raise Refused("the sender is not the person this reply address was sent to", user, room)
    if not access.can_post(user, room):
        raise Refused("the person may no longer post in this conversation", user, room)
    return user, room


def _same_participant(participant, user, room, issued_at):
    """The token's participant row still stands (not removed and added back since)."""
    if user is None or room is None or participant is None:
        return False
    if (participant.user_id, participant.room_id) != (user.id, room.id):
        return False
    # Tokens carry whole seconds: a row added in a later second is a re-added participant.
    return participant.added_at.replace(microsecond=0) <= issued_at


def _post_once(raw, message, user, room):
    """Post the reply unless this email was already posted to this room as this user."""
    header = " ".join(str(message.get("Message-ID") or "").split())
    source = header.encode() if header else raw
    digest = hashlib.sha256(source + f"\n{user.id}:{room.id}".encode()).hexdigest()
    record = InboundEmail(
        key=digest, message_id_header=header[:255], user_id=user.id, room_id=room.id
    )
    db.session.add(record)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        log.info("mail-in: %s was already posted to room %s; ignored", header or "email", room.id)
        return Outcome(DUPLICATE, "already posted")
    try:
        posted = post_message(room, user, reply_text(message), files=reply_files(message))
    except MessageError as exc:
        raise Refused(str(exc), user, room) from exc
    record.message_id = posted.id
    db.session.commit()
    log.info("mail-in: posted message %s to room %s as %s", posted.id, room.id, user.email)
    return Outcome(POSTED, message_id=posted.id)


def _audit_refusal(sender, refusal):
    """The audit row of a refused reply, in its own transaction (the refusal changed nothing)."""
    user = db.session.get(User, refusal.user.id) if refusal.user is not None else None
    room = db.session.get(Room, refusal.room.id) if refusal.room is not None else None
    where = f" to “{room.title}”" if room is not None else ""
    whom = f" as {user.name} <{user.email}>" if user is not None else ""
    summary = f"Refused a reply from <{sender}>{whom}{where}: {refusal}"
    audit.record(audit.EMAIL, "reply.refused", user=user, room=room, summary=summary)
    db.session.commit()


def _bounce(sender, address, reason):
    """The bounce-style log line of a refused reply."""
    log.warning(
        "mail-in: bounced mail from <%s> to <%s>: 550 5.7.1 %s", sender, redacted(address), reason
    )
