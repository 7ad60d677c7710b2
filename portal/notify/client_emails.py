"""The client email: one digest per client when their oldest unread message falls due.

A posted message schedules one job per client (a Redis SET NX marker), not one per
message or room. When it runs, every room whose oldest not-yet-emailed unread message is
CLIENT_NOTIFY_DELAY_SECONDS old joins one email covering everything unread in that room
at that moment. When one room is due, rooms falling due within CLIENT_DIGEST_WINDOW_SECONDS
join it early, unless emailed less than a delay ago (so a room gets at most one email per
delay); the rest get the next job. The database is the truth: a sweep every minute
(`sweep_overdue`, run by `rq cron`) queues the job again for every client it finds overdue
with no email recorded and no job pending — e.g. after a Redis restart lost the job.
"""

import logging
import math
from datetime import timedelta
from functools import cache

from flask import current_app
from rq import Retry
from sqlalchemy import bindparam, func, select

from portal.events import message_posted
from portal.extensions import db
from portal.infra.background import after_response
from portal.infra.queues import get_queue, get_redis
from portal.messaging.reading import ensure_read_state
from portal.models import Message, Participant, ReadState, User
from portal.models.base import UTCDateTime, utcnow
from portal.models.users import CLIENT
from portal.notify.emails import CLIENT_NOTIFICATION
from portal.notify.log import DeliveryError, deliver, deliver_pending, record
from portal.notify.recipients import EMAILABLE, advance, unread

JOB = "jobs.notifications.notify_client"
RETRY_INTERVALS = [30, 120, 600]

log = logging.getLogger(__name__)


def init_app(app):
    message_posted.connect(_on_message_posted, sender=app)


def _on_message_posted(app, message, **_extra):
    """After commit: schedule the client emails, off the request (the send doesn't wait)."""
    after_response(app, _schedule_client_emails, message.id, message.room_id, message.author_id)


def _schedule_client_emails(message_id, room_id, author_id):
    """Schedule the client email of each recipient; Redis trouble is logged, never raised.

    Takes the committed message's room and author rather than its id: reading the
    message back cost a SELECT per send (the job reads what is unread when it runs)."""
    try:
        notify_clients_later(_recipients(room_id, author_id))
    except Exception:
        log.exception("notify: could not schedule client emails for message %s", message_id)


def client_recipients(message):
    """Ids of the room's emailable, unmuted client participants other than the author."""
    return _recipients(message.room_id, message.author_id)


@cache
def _recipients_statement():
    """Built once per process: building the statement cost more than running it."""
    return (
        select(Participant.user_id)
        .join(User, User.id == Participant.user_id)
        .where(
            Participant.room_id == bindparam("room_id"),
            Participant.user_id != bindparam("author_id"),
            Participant.muted.is_(False),
            User.kind == CLIENT,
            EMAILABLE,
        )
    )


def _recipients(room_id, author_id):
    parameters = {"room_id": room_id, "author_id": author_id}
    return list(db.session.scalars(_recipients_statement(), parameters))


def _pending_key(user_id):
    return f"portal:notify-client:{user_id}"


def notify_clients_later(user_ids):
    """`notify_client_later` for many clients: one Redis round trip when all are pending."""
    delay = current_app.config["CLIENT_NOTIFY_DELAY_SECONDS"]
    pipe = get_redis().pipeline(transaction=False)
    for user_id in user_ids:
        pipe.set(_pending_key(user_id), "1", nx=True, ex=2 * delay + 60)
    fresh = pipe.execute() if user_ids else []
    for user_id, marked in zip(user_ids, fresh, strict=True):
        if marked:
            _enqueue(user_id, delay)


def notify_client_later(user_id, delay=None):
    """Schedule the client's digest unless one is already pending; the job or None."""
    if delay is None:
        delay = current_app.config["CLIENT_NOTIFY_DELAY_SECONDS"]
    # The marker outlives the delay, so a burst of messages schedules one job.
    if not get_redis().set(_pending_key(user_id), "1", nx=True, ex=2 * delay + 60):
        return None
    return _enqueue(user_id, delay)


def _enqueue(user_id, delay):
    """The job, delayed or (delay 0) at once; its pending marker (already set) is dropped
    if enqueueing fails."""
    options = {"retry": Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS)}
    try:
        if delay <= 0:
            return get_queue().enqueue(JOB, user_id, job_timeout=300, **options)
        return get_queue().enqueue_in(
            timedelta(seconds=delay), JOB, user_id, job_timeout=300, **options
        )
    except Exception:
        get_redis().delete(_pending_key(user_id))
        raise


class _Room:
    """One room's not-yet-emailed unread messages for the client."""

    def __init__(self, room_id, old, notified_at):
        self.room_id, self.old, self.notified_at = room_id, old, notified_at
        self.ids, self.oldest = [], None


def _pending_rooms(user_id):
    """{room id: _Room} of the client's unread messages no client email covered yet."""
    notified = func.coalesce(ReadState.notified_through_message_id, 0)
    rows = db.session.execute(
        unread(
            (Participant.room_id, Message.id, Message.created_at, notified, ReadState.notified_at),
            Participant.user_id == user_id,
            User.kind == CLIENT,
            Message.id > notified,
        ).order_by(Message.id)
    ).all()
    rooms = {}
    for room_id, message_id, created_at, old, notified_at in rows:
        room = rooms.setdefault(room_id, _Room(room_id, old, notified_at))
        room.ids.append(message_id)
        room.oldest = room.oldest or created_at
    return rooms


def notify_client(user_id, now=None):
    """Email the client one digest of every room that is due; schedule the next one."""
    now = now or utcnow()
    config = current_app.config
    delay = timedelta(seconds=config["CLIENT_NOTIFY_DELAY_SECONDS"])
    window = timedelta(seconds=config["CLIENT_DIGEST_WINDOW_SECONDS"])
    # Messages posted from here on schedule a new job.
    get_redis().delete(_pending_key(user_id))
    deliver_pending(user_id, CLIENT_NOTIFICATION)
    rooms = _pending_rooms(user_id).values()
    due = [room for room in rooms if room.oldest + delay <= now]
    if due:
        # Rooms falling due within the window join this digest rather than mail again soon.
        due += [
            room
            for room in rooms
            if now < room.oldest + delay <= now + window
            and (room.notified_at is None or room.notified_at <= now - delay)
        ]
    later = [room for room in rooms if room not in due]
    if later:
        wait = (min(room.oldest for room in later) + delay - now).total_seconds()
        notify_client_later(user_id, delay=max(1, math.ceil(wait)))
    if not due:
        return None
    return _record_and_send(user_id, sorted(due, key=lambda room: room.room_id), now)


def _record_and_send(user_id, rooms, now):
    watermarks = []
    for room in rooms:
        ensure_read_state(user_id, room.room_id)
        watermarks.append(
            advance(
                ReadState.notified_through_message_id,
                user_id,
                room.room_id,
                room.old,
                room.ids[-1],
                notified_at=now,
            )
        )
    first = min(room.ids[0] for room in rooms)
    last = max(room.ids[-1] for room in rooms)
    row = record(
        f"{CLIENT_NOTIFICATION}:{user_id}:{first}-{last}",
        user_id,
        CLIENT_NOTIFICATION,
        rooms[0].room_id if len(rooms) == 1 else None,
        first,
        last,
        watermarks,
        now=now,
        ranges={str(room.room_id): [room.ids[0], room.ids[-1]] for room in rooms},
    )
    if row is not None:
        deliver(row)
    return row


def sweep_overdue(now=None):
    """Queue the client email of every client overdue without one; their ids.

    Overdue: an unread message older than CLIENT_NOTIFY_DELAY_SECONDS that no client email
    covers (its watermark), while no job is pending (no marker: Redis lost both, or the
    job ended without scheduling the next). The pending marker makes the sweep and the
    normal path queue one job between them; should both run anyway, the email is recorded
    under one key with conditional watermarks (`_record_and_send`), so it goes out once.
    """
    user_ids = _overdue(now or utcnow())
    return [user_id for user_id in user_ids if notify_client_later(user_id, delay=0) is not None]


def send_overdue(now):
    """Send the overdue client emails here and now; how many were sent.

    The reminder round runs this first, so a reminder never goes out ahead of the client
    email it would otherwise pre-empt (a client email recorded just now holds reminders
    back, `reminders._recently_notified`)."""
    sent = 0
    for user_id in _overdue(now):
        try:
            sent += notify_client(user_id, now=now) is not None
        except DeliveryError:
            continue
    return sent


def _overdue(now):
    """Ids of clients with an unread message past its delay that no client email covers."""
    cutoff = now - timedelta(seconds=current_app.config["CLIENT_NOTIFY_DELAY_SECONDS"])
    return db.session.scalars(_overdue_statement(), {"cutoff": cutoff}).all()


@cache
def _overdue_statement():
    """Built once (it runs every minute)."""
    return unread(
        (Participant.user_id,),
        User.kind == CLIENT,
        Message.created_at <= bindparam("cutoff", type_=UTCDateTime()),
        Message.id > func.coalesce(ReadState.notified_through_message_id, 0),
    ).distinct()
