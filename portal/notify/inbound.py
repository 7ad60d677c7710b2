"""Replies by email: check the address, the sender and the right to post, then post once.

Shared by the `mail-in` SMTP process and `POST /inbound/email`. A reply that is not posted
is never silent: when it comes from the person its address was made for, they get an
automatic answer by email (reply_answers.py: why, a link to each room, their text) and the
email is accepted (ANSWERED: SMTP 250, HTTP 200); otherwise it is refused (REFUSED: SMTP
550 / HTTP 422, logged like a bounce). An auto-reply or a re-delivered email is dropped
quietly. A reply to a digest (an email about several rooms) is posted to the room it
answers when reply_rooms.py can tell which. A reply whose sender cannot be confirmed
(portal.notify.authentication) is held: the person gets a "Post my reply" email at their
own address (portal.notify.held_replies).
"""

import email
import hashlib
import logging
import re
from dataclasses import dataclass
from email import policy

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal import access
from portal.extensions import db
from portal.infra import audit
from portal.messaging.messages import MessageError, post_message
from portal.models import HeldReply, InboundEmail, NotificationLog, Participant, Room, User
from portal.models.base import one_line, utcnow
from portal.notify import held_replies
from portal.notify.authentication import confirm_sender
from portal.notify.replies import (
    DIGEST,
    ExpiredReplyToken,
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
HELD = "held"
_RECIPIENT_HEADERS = ("To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To")
# A reply is a few parts deep (mixed > alternative > related > image) and carries at most
# MAX_FILES_PER_MESSAGE files; mail programs stay well under these caps. Larger or deeper
# structures are refused before the stdlib parser (recursive, ~1 ms a part) spends its time
# or its stack on them: the counts of Content-Type lines are cheap upper bounds.
MAX_MIME_DEPTH = 20
MAX_MIME_PARTS = 100
MAX_MIME_CONTAINERS = 50  # multipart and message parts: forwarded emails nest a few each
_CONTENT_TYPE = re.compile(rb"^content-type:\s*(\S{0,10})", re.IGNORECASE | re.MULTILINE)


@dataclass
class Outcome:
    """What became of one reply address of an email."""

    status: str
    reason: str = ""
    message_id: int | None = None
    # The RFC 3463 enhanced status code of a refusal.
    permanent_code: str = "5.7.1"


class Refused(Exception):
    """A reply that must not be posted, with the reason the bounce gives; `words` and
    `advice` are what the answer email tells the person, `room_ids` the rooms it links."""

    def __init__(self, reason, words=None, advice=None, room_ids=(), user_id=None):
        super().__init__(reason)
        words = words or (reason if reason.endswith((".", "!", "?")) else f"{reason}.")
        self.words, self.advice, self.room_ids = words, advice, list(room_ids)
        # Whose reply it is when the address says so though it can't be used (expired).
        self.user_id = user_id


class Unparseable(Refused):
    """An email that can never be read, however often it is sent: a permanent refusal."""


def parse(raw):
    """The email as a stdlib EmailMessage; Unparseable past the nesting and part caps."""
    types = [t.lower() for t in _CONTENT_TYPE.findall(raw)]
    if len(types) > MAX_MIME_PARTS + 1:
        raise Unparseable(f"the email has more than {MAX_MIME_PARTS} parts")
    # Every level of nesting declares a multipart or message type.
    if sum(t.startswith((b"multipart/", b"message/")) for t in types) > MAX_MIME_CONTAINERS:
        raise Unparseable(f"the email has more than {MAX_MIME_CONTAINERS} nested parts")
    try:
        message = email.message_from_bytes(raw, policy=policy.default)
    except RecursionError as exc:
        raise Unparseable("the email is nested too deeply to be read") from exc
    _check_structure(message)
    return message


def _check_structure(message):
    """Unparseable when the parts nest deeper than MAX_MIME_DEPTH or number over MAX_MIME_PARTS."""
    stack, count = [(message, 0)], 0
    while stack:
        part, depth = stack.pop()
        count += 1
        if depth > MAX_MIME_DEPTH:
            raise Unparseable(f"the email nests parts more than {MAX_MIME_DEPTH} deep")
        if count > MAX_MIME_PARTS:
            raise Unparseable(f"the email has more than {MAX_MIME_PARTS} parts")
        if part.is_multipart():
            stack.extend((child, depth + 1) for child in part.get_payload())


def envelope_sender(mail_from):
    """The envelope sender as handed over: None when unknown, "" for the null sender `<>`."""
    if mail_from is None:
        return None
    return mail_from.strip().strip("<>").strip()


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


def receive(raw, envelope_from=None, recipients=None, from_trusted_mta=False):
    """Handle one inbound email; one Outcome per reply address it was sent to.

    `from_trusted_mta`: the email came from INBOUND_TRUSTED_MTA, whose
    Authentication-Results may then be believed.
    """
    # SMTP servers hand over `MAIL FROM:<>` (bounces, auto-replies) as "<>": the null sender.
    envelope_from = envelope_sender(envelope_from)
    try:
        message = parse(raw)
    except Unparseable as exc:
        _bounce(envelope_from, (recipients or ["-"])[0], str(exc), code="5.6.0")
        return [Outcome(REFUSED, str(exc), permanent_code="5.6.0")]
    if envelope_from is None and envelope_sender(str(message.get("Return-Path", "x"))) == "":
        # Over HTTP there is no envelope; the receiving MTA's Return-Path: <> tells a bounce.
        envelope_from = ""
    targets = reply_recipients(message, recipients)
    if not targets:
        _bounce(envelope_from, "-", "no reply address among the recipients")
        return [Outcome(REFUSED, "no reply address among the recipients")]
    reason = auto_reply_reason(message, envelope_from)
    if reason:
        log.info("mail-in: ignored an automatic email from %s (%s)", envelope_from, reason)
        return [Outcome(IGNORED, reason) for _ in targets]
    trusted = current_app.config["INBOUND_TRUSTED_MTA"] if from_trusted_mta else None
    return [_receive_one(raw, message, envelope_from, target, trusted) for target in targets]


def _receive_one(raw, message, envelope_from, address, trusted_mta):
    token = None
    try:
        token = _read(address)
        user, room, participant = _author_and_room(token, message, envelope_from)
        if current_app.config["INBOUND_UNCONFIRMED"] == "hold":
            reason = _unconfirmed(raw, message, user, trusted_mta)
            if reason:
                return _hold(raw, message, user, room, participant, reason)
        return _post_once(raw, message, user, room)
    except Refused as exc:
        db.session.rollback()
        user_id = token[0] if token is not None else exc.user_id
        user = db.session.get(User, user_id) if user_id is not None else None
        _audit_refusal(envelope_from or message.get("From"), exc, user)
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


def _audit_refusal(sender, refusal, user):
    """The audit row of a refused reply, in its own transaction (the refusal changed nothing)."""
    rooms = [db.session.get(Room, room_id) for room_id in refusal.room_ids[:1]]
    room = rooms[0] if rooms else None
    where = f" to “{one_line(room.title)}”" if room is not None else ""
    whom = f" as {user.name} <{user.email}>" if user is not None else ""
    summary = f"Refused a reply from <{sender}>{whom}{where}: {refusal}"
    audit.record(audit.EMAIL, "reply.refused", user=user, room=room, summary=summary)
    db.session.commit()


def _read(address):
    try:
        return read_token(token_from_address(address))
    except ExpiredReplyToken as exc:
        days = current_app.config["REPLY_TOKEN_MAX_AGE_SECONDS"] // 86400
        raise Refused(
            str(exc),
            words=f"the address you replied to has expired (reply addresses work for {days} days).",
            advice=(
                "Answer in the portal instead."
                if exc.room_id == DIGEST
                else "Answer in the conversation itself:"
            ),
            room_ids=[] if exc.room_id == DIGEST else [exc.room_id],
            user_id=exc.user_id,
        ) from exc
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
    if not access.may_write(user, room):
        # Clients read announcements; they never reply (the answer email says so).
        raise Refused(
            "announcement",
            words=(
                f"“{one_line(room.title)}” is an announcement: you can read it, but replies "
                "are not possible."
            ),
            room_ids=[room.id],
        )
    if not access.can_post(user, room):
        words = (
            f"the conversation “{one_line(room.title)}” is archived."
            if room.is_archived
            else "you may no longer post in this conversation."
        )
        raise Refused("the person may no longer post in this conversation", words, None, [room.id])
    return user, room, participant


def _unconfirmed(raw, message, user, trusted_mta):
    """Why the sender is not confirmed as the person, or None when they are."""
    verdict = confirm_sender(raw, message, user.email, trusted_mta)
    log.info("mail-in: sender of a reply as %s: %s", user.email, verdict.how)
    return None if verdict.confirmed else verdict.how


def _hold(raw, message, user, room, participant, reason):
    """Keep the reply unposted and email the person a "Post my reply" link (once)."""
    key = _email_key(raw, message, f"{user.id}:{room.id}")
    if db.session.scalar(select(InboundEmail.id).where(InboundEmail.key == key)):
        return Outcome(DUPLICATE, "already posted")
    held_replies.hold(raw, user, room, participant, key, reason, reply_text(message))
    log.warning("mail-in: held a reply as %s to room %s: %s", user.email, room.id, reason)
    return Outcome(HELD, reason)


def post_held(held, now=None):
    """Post a held reply the person confirmed; Refused when they may no longer post it."""
    user, room = db.session.get(User, held.user_id), db.session.get(Room, held.room_id)
    participant = db.session.get(Participant, held.participant_id)
    if participant is None or not access.can_post(user, room):
        raise Refused("You may no longer post in this conversation.")
    claimed = db.session.execute(
        HeldReply.__table__.update()
        .where(HeldReply.id == held.id, HeldReply.posted_at.is_(None))
        .values(posted_at=now or utcnow())
    )
    if claimed.rowcount != 1:
        db.session.rollback()
        return Outcome(DUPLICATE, "already posted")
    outcome = _post_once(held.raw, parse(held.raw), user, room)
    if outcome.status == POSTED:
        db.session.execute(
            HeldReply.__table__.update()
            .where(HeldReply.id == held.id)
            .values(message_id=outcome.message_id)
        )
        db.session.commit()
    return outcome


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


def _bounce(sender, address, reason, code="5.7.1"):
    """The bounce-style log line of a refused reply."""
    line = "mail-in: bounced mail from <%s> to <%s>: 550 %s %s"
    log.warning(line, sender, redacted(address), code, reason)
