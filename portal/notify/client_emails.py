"""The client email: scheduled when a message is posted, sent if still unread after the delay.

One pending job per client and room (a Redis SET NX marker), not one per message; the
job re-checks everything when it runs and emails the due, unread, not yet notified
messages once. The periodic round catches up on jobs lost with Redis.
"""

import logging
import math
from datetime import timedelta

from flask import current_app
from rq import Retry
from sqlalchemy import func, select

from portal.events import message_posted
from portal.extensions import db
from portal.messaging.reading import ensure_read_state
from portal.models import Message, Participant, ReadState, User
from portal.models.base import utcnow
from portal.models.users import CLIENT
from portal.notify.emails import CLIENT_NOTIFICATION
from portal.notify.log import DeliveryError, deliver, deliver_pending, record
from portal.notify.recipients import EMAILABLE, advance, unread
from portal.runtime.queues import get_queue, get_redis

JOB = "jobs.notifications.notify_client"
RETRY_INTERVALS = [30, 120, 600]

log = logging.getLogger(__name__)


def init_app(app):
    message_posted.connect(_on_message_posted, sender=app)


def _on_message_posted(app, message, **_extra):
    """After commit: schedule the client email; Redis trouble is logged, never raised."""
    try:
        for user_id in client_recipients(message):
            notify_client_later(user_id, message.room_id)
    except Exception:
        log.exception("notify: could not schedule client emails for message %s", message.id)


def client_recipients(message):
    """Ids of the room's emailable, unmuted client participants other than the author."""
    return list(
        db.session.scalars(
            select(Participant.user_id)
            .join(User, User.id == Participant.user_id)
            .where(
                Participant.room_id == message.room_id,
                Participant.user_id != message.author_id,
                Participant.muted.is_(False),
                User.kind == CLIENT,
                EMAILABLE,
            )
        )
    )


def _pending_key(user_id, room_id):
    return f"portal:notify-client:{user_id}:{room_id}"


def notify_client_later(user_id, room_id, delay=None):
    """Schedule the client email for this room unless one is already pending; the job or None."""
    if delay is None:
        delay = current_app.config["CLIENT_NOTIFY_DELAY_SECONDS"]
    redis = get_redis()
    key = _pending_key(user_id, room_id)
    # The marker outlives the delay, so a burst of messages schedules one job.
    if not redis.set(key, "1", nx=True, ex=2 * delay + 60):
        return None
    try:
        return get_queue().enqueue_in(
            timedelta(seconds=delay),
            JOB,
            user_id,
            room_id,
            retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS),
            job_timeout=300,
        )
    except Exception:
        redis.delete(key)
        raise


def notify_client(user_id, room_id, now=None):
    """Email the client once about the room's unread messages older than the delay."""
    now = now or utcnow()
    delay = current_app.config["CLIENT_NOTIFY_DELAY_SECONDS"]
    # Messages posted from here on schedule a new job.
    get_redis().delete(_pending_key(user_id, room_id))
    deliver_pending(user_id, CLIENT_NOTIFICATION, room_id=room_id)
    notified = func.coalesce(ReadState.notified_through_message_id, 0)
    rows = db.session.execute(
        unread(
            (Message.id, Message.created_at, notified),
            Participant.user_id == user_id,
            Participant.room_id == room_id,
            User.kind == CLIENT,
            Message.id > notified,
        ).order_by(Message.id)
    ).all()
    if not rows:
        return None
    cutoff = now - timedelta(seconds=delay)
    due = [row for row in rows if row.created_at <= cutoff]
    waiting = [row for row in rows if row.created_at > cutoff]
    if waiting:
        wait = (waiting[0].created_at - cutoff).total_seconds()
        notify_client_later(user_id, room_id, delay=max(1, math.ceil(wait)))
    if not due:
        return None
    ensure_read_state(user_id, room_id)
    first, last, old = due[0].id, due[-1].id, due[0][2]
    row = record(
        f"{CLIENT_NOTIFICATION}:{user_id}:{room_id}:{first}-{last}",
        user_id,
        CLIENT_NOTIFICATION,
        room_id,
        first,
        last,
        [advance(ReadState.notified_through_message_id, user_id, room_id, old, last)],
        now=now,
    )
    if row is not None:
        deliver(row)
    return row


def sweep_overdue(now=None):
    """Send client emails whose scheduled job was lost; returns how many rooms were handled."""
    now = now or utcnow()
    cutoff = now - timedelta(seconds=current_app.config["CLIENT_NOTIFY_DELAY_SECONDS"])
    pairs = db.session.execute(
        unread(
            (Participant.user_id, Participant.room_id),
            User.kind == CLIENT,
            Message.created_at <= cutoff,
            Message.id > func.coalesce(ReadState.notified_through_message_id, 0),
        ).distinct()
    ).all()
    handled = 0
    for user_id, room_id in pairs:
        try:
            handled += notify_client(user_id, room_id, now=now) is not None
        except DeliveryError:
            continue
    return handled
