"""Daily and weekly recaps: internal users who chose one get, instead of the unread
reminders, one email at RECAP_HOUR in their own time zone (weekly: on Mondays) listing each
room's unread count and latest lines.

The cron round asks every time it runs; the log key names the user and their local day (or
ISO week), so a recap goes out once however often the round runs, and a round that runs
late still sends it within RECAP_WINDOW_HOURS of the hour. Nothing unread, no email.
"""

from flask import current_app
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Message, Participant, User
from portal.models.base import utcnow
from portal.models.users import INTERNAL
from portal.notify.emails import DAILY_RECAP, WEEKLY_RECAP
from portal.notify.log import DeliveryError, deliver, record
from portal.notify.preferences import DAILY, RECAP_CHOICES, WEEKLY
from portal.notify.recipients import EMAILABLE, unread
from portal.people.time_zones import zone_for

KINDS = {DAILY: DAILY_RECAP, WEEKLY: WEEKLY_RECAP}
RECAP_WINDOW_HOURS = 3


def recap_key(user, now):
    """The log key of the recap due for `user` at `now`, or None when none is due now."""
    local = now.astimezone(zone_for(user))
    start = current_app.config["RECAP_HOUR"]
    if not start <= local.hour < start + RECAP_WINDOW_HOURS:
        return None
    if user.recap == WEEKLY:
        if local.weekday() != 0:
            return None
        year, week, _day = local.isocalendar()
        return f"{WEEKLY_RECAP}:{user.id}:{year}-W{week:02d}"
    return f"{DAILY_RECAP}:{user.id}:{local.date().isoformat()}"


def send_recaps(now=None):
    """Send every recap due at `now`; returns how many emails went out."""
    now = now or utcnow()
    users = db.session.scalars(
        select(User).where(User.kind == INTERNAL, User.recap.in_(RECAP_CHOICES), EMAILABLE)
    )
    sent = 0
    for user in users.all():
        key = recap_key(user, now)
        if key is None:
            continue
        try:
            sent += recap_user(user, key, now) is not None
        except DeliveryError:
            continue
    return sent


def recap_user(user, key, now):
    """The recap row for `user` under `key`, delivered; None when nothing is unread or sent."""
    rows = db.session.execute(
        unread(
            (Participant.room_id, func.min(Message.id), func.max(Message.id)),
            Participant.user_id == user.id,
        ).group_by(Participant.room_id)
    ).all()
    if not rows:
        return None
    ranges = {str(room_id): [first, last] for room_id, first, last in rows}
    first = min(first for _room, first, _last in rows)
    last = max(last for _room, _first, last in rows)
    row = record(key, user.id, KINDS[user.recap], None, first, last, [], now=now, ranges=ranges)
    if row is not None:
        deliver(row)
    return row
