"""Reminders: each round, one email per user summarizing unread messages not yet reminded.

A message counts once it is CLIENT_NOTIFY_DELAY_SECONDS old, so a client's email always
comes first. A room a client email covered within the last REMINDER_INTERVAL_SECONDS is
left out of the round (the reminder never repeats what an email just said); if it is
still unread, a later round reminds about it. Someone who had a client email less than
CLIENT_NOTIFY_DELAY_SECONDS ago is reminded at the next round, not seconds after it.
The log key names the user and the interval window, so nobody gets two reminders in one
interval whatever runs twice.
"""

import logging
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, or_, select

from portal.extensions import db
from portal.messaging.reading import ensure_read_state
from portal.models import Message, NotificationLog, Participant, ReadState, User
from portal.models.base import utcnow
from portal.models.users import CLIENT
from portal.notify.emails import CLIENT_NOTIFICATION, REMINDER
from portal.notify.log import FAILED, DeliveryError, deliver, record
from portal.notify.recipients import advance, unread

log = logging.getLogger(__name__)


def reminder_window(now):
    """The number of the REMINDER_INTERVAL_SECONDS-long window `now` falls in."""
    return int(now.timestamp()) // current_app.config["REMINDER_INTERVAL_SECONDS"]


def _remindable(now):
    """Conditions for a message a reminder may cover at `now`."""
    config = current_app.config
    emailed_before = now - timedelta(seconds=config["REMINDER_INTERVAL_SECONDS"])
    return (
        User.recap.is_(None),  # who chose a daily or weekly recap gets that instead
        # A client hears first from the client email: a reminder only repeats what one told
        # (its job runs at the delay, the round may run first; a lost job is swept).
        or_(
            User.kind != CLIENT,
            Message.id <= func.coalesce(ReadState.notified_through_message_id, 0),
        ),
        Message.created_at <= now - timedelta(seconds=config["CLIENT_NOTIFY_DELAY_SECONDS"]),
        Message.id > func.coalesce(ReadState.reminded_through_message_id, 0),
        or_(ReadState.notified_at.is_(None), ReadState.notified_at <= emailed_before),
    )


def send_reminders(now=None):
    """Remind every user with unreminded unread messages; returns how many emails were sent."""
    now = now or utcnow()
    user_ids = db.session.scalars(unread((Participant.user_id,), *_remindable(now)).distinct())
    sent = 0
    for user_id in user_ids.all():
        try:
            sent += remind_user(user_id, now=now) is not None
        except DeliveryError:
            continue
    return sent


def remind_user(user_id, now=None):
    """One reminder email for this user's unreminded unread messages, grouped by room."""
    now = now or utcnow()
    if _recently_notified(user_id, now):
        # They just had a client email: the next round reminds them, not seconds later.
        return None
    reminded = func.coalesce(ReadState.reminded_through_message_id, 0)
    rows = db.session.execute(
        unread(
            (Participant.room_id, Message.id, reminded),
            Participant.user_id == user_id,
            *_remindable(now),
        ).order_by(Message.id)
    ).all()
    if not rows:
        return None
    rooms = {}
    for room_id, message_id, old in rows:
        first = rooms.get(room_id, (old, message_id, message_id))[1]
        rooms[room_id] = (old, first, message_id)
    watermarks = []
    for room_id, (old, _first, newest) in sorted(rooms.items()):
        ensure_read_state(user_id, room_id)
        watermarks.append(
            advance(ReadState.reminded_through_message_id, user_id, room_id, old, newest)
        )
    interval = current_app.config["REMINDER_INTERVAL_SECONDS"]
    row = record(
        f"{REMINDER}:{user_id}:{interval}s:{reminder_window(now)}",
        user_id,
        REMINDER,
        None,
        rows[0].id,
        rows[-1].id,
        watermarks,
        now=now,
        ranges={str(room_id): [first, last] for room_id, (_o, first, last) in rooms.items()},
    )
    if row is not None:
        deliver(row)
    return row


def _recently_notified(user_id, now):
    delay = timedelta(seconds=current_app.config["CLIENT_NOTIFY_DELAY_SECONDS"])
    recent = select(NotificationLog.id).where(
        NotificationLog.user_id == user_id,
        NotificationLog.kind == CLIENT_NOTIFICATION,
        NotificationLog.status != FAILED,
        NotificationLog.created_at > now - delay,
    )
    return db.session.scalar(recent.limit(1)) is not None
