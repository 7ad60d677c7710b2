"""What a notification about a message says, and Web Push: sent when a message is still
unread PUSH_DELAY_SECONDS after it was posted and its reader holds no event stream.

The content is built per viewer, through the access rules (a room the viewer may not see
now says nothing), and respects mute. A browser notification (a hidden tab) asks for the
same content (GET /push/notifications/<id>). A push goes out at most once per person and
message (a NotificationLog key), encrypted for each subscribed browser (RFC 8291) and
signed with the portal's VAPID key (RFC 8292), only to allowed endpoints, without
following redirects, with short timeouts; a 404 or 410 deletes the subscription.
"""

import json
import logging
from base64 import urlsafe_b64encode
from datetime import timedelta
from email.utils import parseaddr

import requests
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from flask import current_app
from py_vapid import Vapid
from pywebpush import WebPushException, webpush
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.access import viewer_ids, visible_rooms
from portal.events import message_posted
from portal.extensions import db
from portal.infra.queues import get_queue
from portal.live.presence import is_online
from portal.live.publish import get_live
from portal.messaging.rendering import author_name, excerpt
from portal.models import (
    LoginSession,
    Message,
    NotificationLog,
    Participant,
    PushSubscription,
    ReadState,
    Room,
    User,
)
from portal.models.base import utcnow
from portal.notify.push_subscriptions import (
    anyone_subscribed,
    endpoint_allowed,
    forget,
    subscriptions_of,
)
from portal.sides import side_of

JOB = "jobs.push.send_pushes"
SENT = "sent"

log = logging.getLogger(__name__)


def init_app(app):
    message_posted.connect(_on_message, sender=app)


def _on_message(app, message, **_extra):
    """After commit: the delayed push job, when anyone in the portal subscribed at all."""
    try:
        if not anyone_subscribed():
            return
        delay = timedelta(seconds=app.config["PUSH_DELAY_SECONDS"])
        get_queue().enqueue_in(delay, JOB, message.id, job_timeout=120)
    except Exception:
        log.exception("push: could not enqueue the push of message %s", message.id)


def notification_for(viewer, message):
    """{title, body, tag, url} about `message` for `viewer`, or None: not theirs to see
    now, their own, deleted, in a room they muted, or in a room they follow only for
    mentions that does not mention them."""
    if message is None or message.deleted_at is not None or message.author_id == viewer.id:
        return None
    room = db.session.scalar(visible_rooms(viewer).where(Room.id == message.room_id))
    if room is None or _quiet(viewer.id, message):
        return None
    text = excerpt(message.body or "", 120) or "Sent a file"
    return {
        "title": room.title,
        "body": f"{author_name(message)}: {text}",
        "tag": f"room-{room.id}",
        "url": f"{side_of(viewer).prefix}/rooms/{room.id}",
    }


def _quiet(user_id, message):
    """The reader asked not to hear about this message: room muted, or followed only for
    mentions and this message does not name them."""
    row = db.session.execute(
        select(Participant.muted, Participant.mentions_only).where(
            Participant.user_id == user_id, Participant.room_id == message.room_id
        )
    ).first()
    if row is None:
        return False
    muted, mentions_only = row
    return muted or (mentions_only and all(m.user_id != user_id for m in message.mentions))


def _read(user_id, message):
    through = db.session.scalar(
        select(ReadState.last_read_message_id).where(
            ReadState.user_id == user_id, ReadState.room_id == message.room_id
        )
    )
    return (through or 0) >= message.id


def push_recipients(message):
    """Viewers but the author with a subscription, who have not read it and hold no stream."""
    subscribed = set(
        db.session.scalars(
            select(PushSubscription.user_id)
            .join(LoginSession, LoginSession.id == PushSubscription.login_session_id)
            .where(
                PushSubscription.user_id.in_(viewer_ids(message.room_id) - {message.author_id}),
                LoginSession.revoked_at.is_(None),
            )
        )
    )
    live = get_live()
    users = [db.session.get(User, user_id) for user_id in sorted(subscribed)]
    return [user for user in users if not _read(user.id, message) and not is_online(live, user.id)]


def send_pushes(message_id, now=None):
    """Push the message to each away reader's browsers, once; returns pushes delivered."""
    message = db.session.get(Message, message_id)
    if message is None or message.deleted_at is not None:
        return 0
    sent = 0
    for user in push_recipients(message):
        content = notification_for(user, message)
        if content is None or not _claim(user.id, message, now):
            continue
        for subscription in subscriptions_of(user.id):
            sent += send_to(subscription, content, now)
    return sent


def _claim(user_id, message, now):
    """Record the push under its key first: a retried or duplicated job sends nothing."""
    db.session.add(
        NotificationLog(
            key=f"push:{user_id}:{message.id}",
            user_id=user_id,
            kind="push",
            room_id=message.room_id,
            first_message_id=message.id,
            last_message_id=message.id,
            status=SENT,
            attempts=1,
            created_at=now or utcnow(),
            sent_at=now or utcnow(),
        )
    )
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return False
    return True


class _NoRedirects(requests.Session):
    """A push service answers; it never sends us elsewhere (a redirect is a failure)."""

    def __init__(self):
        super().__init__()
        self.trust_env = False  # no proxy or netrc from the environment
        self.max_redirects = 0

    def request(self, *args, **kwargs):
        kwargs["allow_redirects"] = False
        return super().request(*args, **kwargs)


def send_to(subscription, content, now=None):
    """POST the encrypted content to one subscription; True when the service took it."""
    config = current_app.config
    if not endpoint_allowed(subscription.endpoint):
        log.warning("push: endpoint of subscription %s no longer allowed", subscription.id)
        return False
    info = {
        "endpoint": subscription.endpoint,
        "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth},
    }
    timeout = config["PUSH_TIMEOUT_SECONDS"]
    try:
        with _NoRedirects() as session:
            webpush(
                info,
                json.dumps(content),
                vapid_private_key=vapid_key(),
                vapid_claims={"sub": vapid_subject()},
                timeout=(timeout, timeout),
                ttl=config["PUSH_TTL_SECONDS"],
                headers={"Urgency": "normal", "Topic": content["tag"]},
                requests_session=session,
            )
    except WebPushException as error:
        status = getattr(error.response, "status_code", None)
        if status in (404, 410):
            log.info("push: subscription %s is gone (%s); deleted", subscription.id, status)
            forget(subscription.id)
        else:
            log.warning("push: subscription %s refused (%s)", subscription.id, status)
        return False
    except requests.RequestException as error:
        log.warning("push: subscription %s failed: %s", subscription.id, type(error).__name__)
        return False
    subscription.last_sent_at = now or utcnow()
    db.session.commit()
    return True


def vapid_key():
    """The portal's VAPID key (VAPID_PRIVATE_KEY: PEM, or py_vapid's base64url form)."""
    key = current_app.config["VAPID_PRIVATE_KEY"]
    if key.lstrip().startswith("-----BEGIN"):
        return Vapid.from_pem(key.encode())
    return Vapid.from_string(key)


def vapid_subject():
    """VAPID_SUBJECT, else `mailto:` the portal's sender address."""
    subject = current_app.config.get("VAPID_SUBJECT")
    if subject:
        return subject
    return "mailto:" + (parseaddr(current_app.config["MAIL_DEFAULT_SENDER"])[1] or "push@localhost")


def application_server_key():
    """The VAPID public key as browsers want it (`applicationServerKey`, base64url)."""
    raw = vapid_key().public_key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return urlsafe_b64encode(raw).rstrip(b"=").decode()
