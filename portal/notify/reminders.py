"""Reminders: each round, one email per user covering unread messages not yet reminded about.

A message counts once it is CLIENT_NOTIFY_DELAY_SECONDS old, so a client's 10-minute
email always comes first; messages that email covered are still included once in a
reminder (it is a "still unread" nudge). The log key names the user and the interval
window, so nobody gets two reminders in one interval whatever runs twice.
"""

import logging
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select

from portal.extensions import db
from portal.messaging.reading import ensure_read_state
from portal.models import Message, NotificationLog, Participant, ReadState
from portal.models.base import utcnow
from portal.notify.emails import CLIENT_NOTIFICATION, REMINDER
from portal.notify.log import FAILED, DeliveryError, deliver, record
from portal.notify.recipients import advance, unread

log = logging.getLogger(__name__)


def reminder_window(now):
    """The number of the REMINDER_INTERVAL_SECONDS-long window `now` falls in."""
    return int(now.timestamp()) // current_app.config["REMINDER_INTERVAL_SECONDS"]


def _cutoff(now):
    return now - timedelta(seconds=current_app.config["CLIENT_NOTIFY_DELAY_SECONDS"])


def send_reminders(now=None):
    """Remind every user with unreminded unread messages; returns how many emails were sent."""
    now = now or utcnow()
    user_ids = db.session.scalars(
        unread(
            (Participant.user_id,),
            Message.created_at <= _cutoff(now),
            Message.id > func.coalesce(ReadState.reminded_through_message_id, 0),
        ).distinct()
    ).all()
    sent = 0
    for user_id in user_ids:
        try:
            sent += remind_user(user_id, now=now) is not None
        except DeliveryError:
            continue
    return sent


def remind_user(user_id, now=None):
    """One reminder email for this user's unreminded unread messages, grouped by room."""
    now = now or utcnow()
    if _recently_notified(user_id, now):
        # They just had the 10-minute email: the next round reminds them instead.
        return None
    reminded = func.coalesce(ReadState.reminded_through_message_id, 0)
    rows = db.session.execute(
        unread(
            (Participant.room_id, Message.id, reminded),
            Participant.user_id == user_id,
            Message.created_at <= _cutoff(now),
            Message.id > reminded,
        ).order_by(Message.id)
    ).all()
    if not rows:
        return None
    rooms = {}
    for room_id, message_id, old in rows:
        rooms[room_id] = (old, message_id)
    watermarks = []
    for room_id, (old, newest) in sorted(rooms.items()):
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
    )
    if row is not None:
        deliver(row)
    return row


def _recently_notified(user_id, now):
    return (
        db.session.scalar(
            select(NotificationLog.id)
            .where(
                NotificationLog.user_id == user_id,
                NotificationLog.kind == CLIENT_NOTIFICATION,
                NotificationLog.status != FAILED,
                NotificationLog.created_at > _cutoff(now),
            )
            .limit(1)
        )
        is not None
    )
