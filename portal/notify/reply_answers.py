"""The automatic answer to a reply that was not posted: never silence.

A reply the portal cannot post (it cannot tell which room a digest reply answers, the person
was removed, the room is archived, the file is too large…) gets an email back within a
minute (an RQ job enqueued at once) saying it was not posted, why, with a link to each room
the person may open, and what they wrote, so nothing is lost. Sent only to the person the
reply address was made for, never to the address the email claims: a forged sender gets
no mail from us (only the SMTP refusal).

Once per email: a Redis key per inbound email (the same key the posted replies use) stops a
re-delivered email from being answered twice. If Redis is down the answer is sent at once.
"""

import logging

from rq import Retry
from sqlalchemy import select

from portal import access
from portal.extensions import db
from portal.infra.queues import get_queue, get_redis
from portal.mail import send_email
from portal.models import Room, User
from portal.models.base import one_line
from portal.notify.emails import room_url
from portal.people.links import absolute_url
from portal.sides import side_of

JOB = "jobs.notifications.answer_reply"
KIND = "reply_not_posted"
RETRY_INTERVALS = [10, 60, 300]
TEXT_LIMIT = 20_000  # the client's text quoted back (a message is at most BODY_MAX anyway)
_DEDUPE_SECONDS = 7 * 24 * 3600

log = logging.getLogger(__name__)


def answer_later(key, user_id, reason, advice, room_ids, text, in_reply_to):
    """Enqueue the answer (once per `key`); sent at once when Redis cannot take it."""
    arguments = (user_id, reason, advice, list(room_ids), text[:TEXT_LIMIT], in_reply_to)
    try:
        if not get_redis().set(f"portal:reply-answer:{key}", "1", nx=True, ex=_DEDUPE_SECONDS):
            log.info("mail-in: the reply %s was already answered", key[:12])
            return None
        return get_queue().enqueue(
            JOB,
            *arguments,
            retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS),
            job_timeout=120,
        )
    except Exception:
        log.exception("mail-in: could not enqueue the answer to user %s; sending it now", user_id)
        send_answer(*arguments)
        return None


def send_answer(user_id, reason, advice, room_ids, text, in_reply_to=None):
    """Email the person that their reply was not posted; None if they can't be emailed."""
    user = db.session.get(User, user_id)
    if user is None or not user.may_log_in:
        return None
    rooms = [
        (one_line(room.title), room_url(user, room.id))
        for room in db.session.scalars(select(Room).where(Room.id.in_(room_ids)).order_by(Room.id))
        if access.can_view(user, room)
    ]
    headers = {
        # RFC 3834: an automatic answer; mail programs must not answer it in turn.
        "Auto-Submitted": "auto-replied",
        "X-Auto-Response-Suppress": "All",
        "X-Portal-Notification": KIND,
    }
    if in_reply_to:
        headers.update({"In-Reply-To": in_reply_to, "References": in_reply_to})
    message = send_email(
        user.email,
        "Your reply was not posted",
        KIND,
        headers=headers,
        recipient_name=one_line(user.name),
        reason=reason,
        advice=advice,
        rooms=rooms,
        rooms_url=absolute_url(f"{side_of(user).prefix}/rooms"),
        text=text,
    )
    log.info("mail-in: told %s their reply was not posted (%s)", user.email, reason)
    return message
