"""Replies held because their sender could not be confirmed.

The person gets one "Post my reply" email at the address the portal knows for them (never
the email's From); its link opens a page with a POST button, so a mail scanner that follows
links posts nothing. The link is signed, single-use and expires after
`HELD_REPLY_MAX_AGE_SECONDS`; removing the person from the room drops what they had held.
"""

from datetime import timedelta

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.mail import send_email
from portal.messaging.rendering import excerpt
from portal.models import HeldReply
from portal.models.base import one_line, utcnow
from portal.people.links import absolute_url

_SALT = "portal.held-reply"


def _serializer():
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def hold(raw, user, room, participant, key, reason, text, now=None):
    """Keep the reply and email the person once; a re-delivery finds it already held."""
    now = now or utcnow()
    _purge_expired(now)
    held = HeldReply(
        key=key,
        user_id=user.id,
        room_id=room.id,
        participant_id=participant.id,
        raw=raw,
        reason=reason[:255],
        created_at=now,
    )
    db.session.add(held)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        held = db.session.scalars(select(HeldReply).where(HeldReply.key == key)).one()
    if held.notified_at is None and held.posted_at is None:
        # Raises when the email cannot go out: mail-in answers 451, the sender retries,
        # and the retry finds the reply held but not yet announced.
        _send_confirmation(held, user, room, text)
    return held


def _purge_expired(now):
    """Forget held replies whose link has expired: the email's text is kept no longer."""
    cutoff = now - timedelta(seconds=current_app.config["HELD_REPLY_MAX_AGE_SECONDS"])
    db.session.execute(delete(HeldReply).where(HeldReply.created_at < cutoff))


def _send_confirmation(held, user, room, text):
    ttl_days = max(1, current_app.config["HELD_REPLY_MAX_AGE_SECONDS"] // 86400)
    token = _serializer().dumps(held.id)
    send_email(
        user.email,
        f"Post your reply to “{one_line(room.title)}”?",
        "held_reply",
        headers={"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"},
        recipient_name=one_line(user.name),
        user=user,
        room_title=one_line(room.title),
        text=excerpt(text, 300),
        link=absolute_url(f"/reply/held/{token}"),
        ttl_days=ttl_days,
    )
    held.notified_at = utcnow()
    db.session.commit()


def held_for_token(token):
    """The held reply a link names, or None when the link is forged or expired."""
    max_age = current_app.config["HELD_REPLY_MAX_AGE_SECONDS"]
    try:
        held_id = _serializer().loads(token, max_age=max_age)
    except BadSignature:
        return None
    if not isinstance(held_id, int):
        return None
    return db.session.get(HeldReply, held_id)
