"""The mention email: sent at once to a mentioned participant who is not online.

After a message is committed (posted, or edited to name someone new) a job emails each
mentioned participant who holds no event stream, may be emailed and has not muted the
room. The NotificationLog key `mention:<user>:<message>` makes it once per person and
message, whatever the retries or edits; the email is built when sent, so it quotes the
latest text and says nothing once the message was read or deleted.
"""

import logging

from sqlalchemy import select

from portal.events import message_changed, message_posted
from portal.extensions import db
from portal.infra.queues import get_queue
from portal.live.presence import is_online
from portal.live.publish import get_live
from portal.models import Mention, Message, Participant, User
from portal.notify.emails import MENTION
from portal.notify.log import DeliveryError, deliver, record
from portal.notify.recipients import EMAILABLE

JOB = "jobs.notifications.send_mentions"

log = logging.getLogger(__name__)


def init_app(app):
    message_posted.connect(_on_message, sender=app)
    message_changed.connect(_on_message, sender=app)


def _on_message(app, message, **_extra):
    """After commit: enqueue the mention emails; Redis trouble is logged, never raised."""
    if message.deleted_at is not None or "@" not in (message.body or "") or not message.mentions:
        return
    try:
        get_queue().enqueue(JOB, message.id, job_timeout=120)
    except Exception:
        log.exception("notify: could not enqueue mention emails for message %s", message.id)


def mention_recipients(message):
    """Mentioned participants who may be emailed about the room and are not online."""
    users = db.session.scalars(
        select(User)
        .join(Mention, Mention.user_id == User.id)
        .join(
            Participant,
            (Participant.user_id == User.id) & (Participant.room_id == message.room_id),
        )
        .where(Mention.message_id == message.id, Participant.muted.is_(False), EMAILABLE)
    ).all()
    live = get_live()
    return [user for user in users if not is_online(live, user.id)]


def send_mentions(message_id):
    """Email each away, mentioned participant once; returns how many emails were sent."""
    message = db.session.get(Message, message_id)
    if message is None or message.deleted_at is not None:
        return 0
    sent = 0
    for user in mention_recipients(message):
        key = f"mention:{user.id}:{message.id}"
        row = record(key, user.id, MENTION, message.room_id, message.id, message.id, [])
        if row is None:
            continue
        try:
            sent += bool(deliver(row))
        except DeliveryError:
            log.warning("notify: mention email %s failed; the round retries it", key)
    return sent
