"""Replies by email: check the address, the sender and the right to post, then post once.

Shared by the `mail-in` SMTP process and `POST /inbound/email`. A reply that is not posted
is never silent: when it comes from the person its address was made for, they get an
automatic answer by email (reply_answers.py: why, a link to each room, their text) and the
email is accepted (ANSWERED: SMTP 250, HTTP 200); otherwise it is refused (REFUSED: SMTP
550 / HTTP 422, logged like a bounce). An auto-reply or a re-delivered email is dropped
quietly. A reply to a digest (an email about several rooms) is posted to the room it
answers when reply_rooms.py can tell which.
"""

import email
import hashlib
import logging
from dataclasses import dataclass
from email import policy

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal import access
from portal.extensions import db
from portal.messaging.messages import MessageError, post_message
from portal.models import InboundEmail, NotificationLog, Participant, Room, User
from portal.models.base import one_line
from portal.notify.replies import (
    DIGEST,
    ReplyTokenError,
    read_token,
    redacted,
    token_from_address,
)
from portal.notify.reply_answers import answer_later
from portal.notify.reply_rooms import room_answered
from portal.notify.reply_text import (
    auto_reply_reason,
    reply_files,
    reply_text,
    sender_addresses,
)

log = logging.getLogger("portal.mail_in")
POSTED, DUPLICATE, IGNORED, REFUSED = "posted", "duplicate", "ignored", "refused"
ANSWERED = "answered"  # not posted, and the person was told so by email
_RECIPIENT_HEADERS = ("To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To")


@dataclass
class Outcome:
    """What became of one reply address of an email."""

    status: str
    reason: str = ""
    message_id: int | None = None


class Refused(Exception):
    """A reply that must not be posted, with the reason the bounce gives; `words` and
    `advice` are what the answer email tells the person, `room_ids` the rooms it links."""

    def __init__(self, reason, words=None, advice=None, room_ids=()):
        super().__init__(reason)
        words = words or (reason if reason.endswith((".", "!", "?")) else f"{reason}.")
        self.words, self.advice, self.room_ids = words, advice, list(room_ids)


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
    token = None
    try:
        token = _read(address)
        user, room = _author_and_room(token, message, envelope_from)
        return _post_once(raw, message, user, room)
    except Refused as exc:
        db.session.rollback()
        user = db.session.get(User, token[0]) if token is not None else None
        if user is not None and _may_answer(user, message, envelope_from):
            key = _email_key(raw, message, f"{user.id}:{address}")
            text = reply_text(message)
            answer_later(key, user.id, exc.words, exc.advice, exc.room_ids, text, _msgid(message))
            log.warning(
                "mail-in: did not post mail from <%s> to <%s> (%s); the person is told by email",
                envelope_from,
                redacted(address),
                exc,
            )
            return Outcome(ANSWERED, str(exc))
        _bounce(envelope_from or message.get("From"), address, str(exc))
        return Outcome(REFUSED, str(exc))


def _read(address):
    try:
        return read_token(token_from_address(address))
    except ReplyTokenError as exc:
        raise Refused(str(exc)) from exc


def _may_answer(user, message, envelope_from):
    """Answer only the person the address was made for, writing from their own address."""
    return user.may_log_in and user.email.lower() in sender_addresses(message, envelope_from)


def _msgid(message):
    return " ".join(str(message.get("Message-ID") or "").split()) or None


def _author_and_room(token, message, envelope_from):
    """The token's user and room if that user may still post there from this sender."""
    user_id, room_id, third_id, issued_at = token
    user = db.session.get(User, user_id)
    # The sender first: nothing about the rooms is worked out for somebody else's email.
    if user is not None and user.email.lower() not in sender_addresses(message, envelope_from):
        raise Refused("the sender is not the person this reply address was sent to")
    if room_id == DIGEST:
        room = _digest_room(user, third_id, message)
        mine = (Participant.user_id == user_id, Participant.room_id == room.id)
        participant = db.session.scalar(select(Participant).where(*mine))
    else:
        room, participant = db.session.get(Room, room_id), db.session.get(Participant, third_id)
    if not _same_participant(participant, user, room, issued_at):
        raise Refused(
            "the person is no longer a participant of this conversation",
            words="you are no longer a participant of this conversation.",
        )
    if not access.can_post(user, room):
        words = (
            f"the conversation “{one_line(room.title)}” is archived."
            if room.is_archived
            else "you may no longer post in this conversation."
        )
        raise Refused("the person may no longer post in this conversation", words, None, [room.id])
    return user, room


def _digest_room(user, notification_id, message):
    """The room a reply to a digest answers, among the rooms the digest covered."""
    row = db.session.get(NotificationLog, notification_id)
    if user is None or row is None or row.user_id != user.id:
        raise Refused("the reply address is not valid")
    room_ids = sorted(int(i) for i in row.ranges) if row.ranges else [row.room_id]
    rooms = list(db.session.scalars(select(Room).where(Room.id.in_(room_ids))))
    room = room_answered(message, rooms)
    if room is None:
        raise Refused(
            "the reply to an email about several conversations does not say which it answers",
            words="we could not tell which conversation it answers.",
            advice=(
                "Reply to the email again and write your answer below the part about that "
                "conversation, or answer in the conversation itself:"
            ),
            room_ids=room_ids,
        )
    return room


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
    header = _msgid(message) or ""
    digest = _email_key(raw, message, f"{user.id}:{room.id}")
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
        raise Refused(str(exc), room_ids=[room.id]) from exc
    record.message_id = posted.id
    db.session.commit()
    log.info("mail-in: posted message %s to room %s as %s", posted.id, room.id, user.email)
    return Outcome(POSTED, message_id=posted.id)


def _email_key(raw, message, suffix):
    """This email (its Message-ID, else its bytes) for this person and room or address."""
    header = _msgid(message)
    source = header.encode() if header else raw
    return hashlib.sha256(source + f"\n{suffix}".encode()).hexdigest()


def _bounce(sender, address, reason):
    """The bounce-style log line of a refused reply."""
    log.warning(
        "mail-in: bounced mail from <%s> to <%s>: 550 5.7.1 %s", sender, redacted(address), reason
    )
