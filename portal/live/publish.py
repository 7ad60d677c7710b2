"""Live delivery: after a commit, tell the streams of everyone who may see the change.

Events use flask-sse's format (a `flask_sse.Message` as JSON on a Redis channel), one
channel per user. They are hints: pages fetch what they missed from the database, so a
failed publish (Redis down) is logged and never raised into the request that committed.
"""

import functools
import hashlib
import json
import logging
import time

import redis
from flask import current_app, has_request_context
from flask_sse import Message
from sqlalchemy.engine import make_url

from portal.access import viewer_ids
from portal.events import (
    message_changed,
    message_posted,
    participants_changed,
    room_changed,
    room_read,
    sessions_revoked,
    settings_changed,
    user_access_changed,
)
from portal.live import membership  # noqa: F401 (announces viewers changes to the hubs)
from portal.live.hub import Hub
from portal.live.revocations import REVOKED
from portal.live.seen import broadcast_seen
from portal.live.viewers import ALL_ROOMS
from portal.messaging.fragments import message_fragment
from portal.messaging.reading import unread_counts_for_users
from portal.people.sessions import session_user

log = logging.getLogger(__name__)

#: After a failed publish, skip publishing this long instead of waiting on Redis per send.
PAUSE_AFTER_FAILURE_SECONDS = 5.0


class Live:
    """The app's hub (streams in this process) and its publishing connection."""

    def __init__(self, app):
        url = app.config["REDIS_URL"]
        prefix = app.config.get("SSE_CHANNEL_PREFIX") or _default_prefix(app)
        self.hub = Hub(
            url,
            prefix,
            viewers=functools.partial(_viewers, app),
            heartbeat=lambda: app.config["SSE_HEARTBEAT_SECONDS"],
        )
        self.redis = redis.Redis.from_url(
            url, socket_connect_timeout=0.5, socket_timeout=1, client_name="portal-live-pub"
        )
        self.paused_until = 0.0


def _viewers(app, room_id):
    """For the hub: who may view the room now (its own app context, off any request)."""
    with app.app_context():
        return viewer_ids(room_id)


def _default_prefix(app):
    # Pub/sub ignores Redis database numbers: scope channels to the database the events
    # describe (not its driver or password), so deployments and test runs sharing one
    # Redis never hear each other.
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    identity = f"{url.get_backend_name()}://{url.host or ''}:{url.port or ''}/{url.database}"
    digest = hashlib.sha1(identity.encode(), usedforsecurity=False)
    return f"portal.{digest.hexdigest()[:10]}."


def init_app(app):
    app.extensions["live"] = Live(app)
    message_posted.connect(_on_message_posted, sender=app, weak=False)
    room_read.connect(_on_room_read, sender=app, weak=False)
    participants_changed.connect(_on_participants_changed, sender=app, weak=False)
    user_access_changed.connect(_on_user_access_changed, sender=app, weak=False)
    room_changed.connect(_on_room_changed, sender=app, weak=False)
    message_changed.connect(_on_message_changed, sender=app, weak=False)
    sessions_revoked.connect(_on_sessions_revoked, sender=app, weak=False)
    settings_changed.connect(_on_settings_changed, sender=app, weak=False)


def get_live():
    return current_app.extensions["live"]


def publish(events):
    """Publish (user_id, Message) pairs in one round trip; failures are logged, not raised."""
    channel = get_live().hub.channel
    encoded = {}
    for _, message in events:
        encoded.setdefault(id(message), json.dumps(message.to_dict()))
    return _publish_raw([(channel(user_id), encoded[id(message)]) for user_id, message in events])


def _publish_raw(items):
    """(channel, text) pairs in one pipeline, unless Redis failed moments ago."""
    live = get_live()
    if not items or time.monotonic() < live.paused_until:
        return False
    try:
        pipe = live.redis.pipeline(transaction=False)
        for channel, text in items:
            pipe.publish(channel, text)
        pipe.execute()
        return True
    except (redis.RedisError, OSError) as exc:
        live.paused_until = time.monotonic() + PAUSE_AFTER_FAILURE_SECONDS
        log.warning(
            "live: publish failed (%s); live events paused for %.0f s",
            exc,
            PAUSE_AFTER_FAILURE_SECONDS,
        )
        return False


def broadcast_message(message):
    """One publish on the room's channel; each process's hub fans it out to the viewers.

    The cost of a send does not grow with the room: viewers, unread badges (+1 for
    everyone but the author) and delivery are the hubs' work, off the request.
    """
    live = get_live()
    event = {"room_id": message.room_id, "message_id": message.id, "html": _render(message)}
    payload = json.dumps({"author_id": message.author_id, "event": event})
    return _publish_raw([(live.hub.room_channel(message.room_id), payload)])


def broadcast_update(message):
    """An edited or deleted message's new fragment to every viewer of its room."""
    event = Message(
        {"room_id": message.room_id, "message_id": message.id, "html": _render(message)},
        type="update",
    )
    publish([(user_id, event) for user_id in sorted(viewer_ids(message.room_id))])


def broadcast_unread(room_id, user_id):
    """A user's unread count for one room (after they read it somewhere)."""
    count = unread_counts_for_users(room_id, {user_id})[user_id]
    publish([(user_id, _unread_event(room_id, count))])


def broadcast_room(room, user_ids):
    """A room's title or archived state changed, or these users were added to it."""
    event = Message(
        {"room_id": room.id, "title": room.title, "archived": room.is_archived}, type="room"
    )
    publish([(user_id, event) for user_id in sorted(user_ids)])


def broadcast_access(user_ids, room_id=None):
    """Tell users they lost a room (`room_id`), or that their access changed (None)."""
    event = Message({"room_id": room_id}, type="access")
    publish([(user_id, event) for user_id in sorted(user_ids)])


def stream_allowed(user_id, session_token):
    """True while the user is active and this login session has not been revoked."""
    return session_user(user_id, session_token) is not None


def _unread_event(room_id, count):
    return Message({"room_id": room_id, "count": count}, type="unread")


def _render(message):
    """The one message partial; viewer-independent, so rendered once for everyone."""
    if has_request_context():
        return str(message_fragment(message))
    with current_app.test_request_context():
        return str(message_fragment(message))


def _guarded(receiver):
    """Signals fire after commit: a failure here must never reach the sender."""

    def wrapped(sender, **kwargs):
        try:
            receiver(**kwargs)
        except Exception:
            log.exception("live: %s failed", receiver.__name__)

    wrapped.__name__ = receiver.__name__
    return wrapped


@_guarded
def _on_message_posted(message):
    broadcast_message(message)


@_guarded
def _on_message_changed(message):
    broadcast_update(message)


@_guarded
def _on_room_read(room, user_id, last_read_message_id):
    broadcast_unread(room.id, user_id)
    broadcast_seen(room, user_id, last_read_message_id, publish)


@_guarded
def _on_participants_changed(room, added, removed):
    gone = set(removed) - viewer_ids(room.id)
    if gone:
        broadcast_access(gone, room.id)
    if added:
        broadcast_room(room, set(added))


@_guarded
def _on_room_changed(room):
    broadcast_room(room, viewer_ids(room.id))


@_guarded
def _on_user_access_changed(user):
    broadcast_access({user.id})


def _on_sessions_revoked(_app, user_id, only, keep):
    publish([(user_id, Message({"only": only, "keep": keep}, type=REVOKED))])


@_guarded
def _on_settings_changed(names):
    """Every process's hub forgets its copy of the settings (portal.infra.settings)."""
    _publish_raw([(get_live().hub.room_channel(ALL_ROOMS), json.dumps({"settings": names}))])
