"""One Redis subscription per web process, fanned out to that process's open streams.

flask-sse opens a Redis connection per stream; here each process holds a single pattern
subscription (`portal.live.subscriber`) and the hub hands its events to per-stream
inboxes (`portal.live.inbox`): a user's events to that user's streams, a room's message
to the streams of its viewers (`portal.live.viewers`, cached per process).
"""

import json
import logging
import os
import threading
import time

from flask_sse import Message

from portal.infra import settings
from portal.live import subscriber
from portal.live.inbox import Event, Subscription
from portal.live.viewers import ViewersCache

log = logging.getLogger(__name__)

#: How long a new stream waits for the subscription when Redis is (re)connecting.
CONNECT_WAIT_SECONDS = 2.0


class Hub:
    """The process's registry of open streams and the dispatch of what Redis delivers."""

    def __init__(self, redis_url, prefix, viewers=None, heartbeat=lambda: 15):
        self.redis_url = redis_url
        self.prefix = prefix
        #: Seconds between heartbeats of an idle stream (read at every tick).
        self.heartbeat = heartbeat
        #: room_id -> ids of the users who may view it now (a database query), cached.
        self.viewers = ViewersCache(viewers) if viewers is not None else None
        self.connected = threading.Event()
        self.stopping = False
        #: The subscriber's pub/sub connection while it listens.
        self.pubsub = None
        self._lock = threading.Lock()
        self._streams = {}
        self._pid = None
        self._last = (None, None)

    def channel(self, user_id):
        return f"{self.prefix}user.{user_id}"

    def room_channel(self, room_id):
        return f"{self.prefix}room.{room_id}"

    def open(self, user_id, session_key=None, limit=None):
        """Register a stream for `user_id`; every event published after this reaches it.

        With `limit`, the user's oldest streams in this process end so at most `limit` stay.
        """
        self._ensure_running()
        self.connected.wait(CONNECT_WAIT_SECONDS)
        subscription = Subscription(user_id, session_key)
        subscription.next_beat = time.monotonic() + self.heartbeat()
        with self._lock:
            self._streams.setdefault(user_id, {})[subscription] = None
        if limit:
            self.trim(user_id, limit)
        return subscription

    def trim(self, user_id, limit):
        """End `user_id`'s oldest streams in this process beyond `limit`."""
        with self._lock:
            streams = list(self._streams.get(user_id, ()))
        excess = streams[: max(0, len(streams) - limit)]
        for oldest in excess:
            log.info("live: user %s has over %s streams; ending the oldest", user_id, limit)
            self.close(oldest)
            oldest.end()

    def close(self, subscription):
        """Forget a stream (idempotent)."""
        with self._lock:
            streams = self._streams.get(subscription.user_id)
            if streams is not None:
                streams.pop(subscription, None)
                if not streams:
                    del self._streams[subscription.user_id]

    def count(self):
        """Open streams in this process."""
        with self._lock:
            return sum(len(streams) for streams in self._streams.values())

    def stop(self):
        """End every stream and the subscriber (tests and shutdown)."""
        self.stopping = True
        self._end_all()
        pubsub = self.pubsub
        if pubsub is not None and pubsub.connection is not None:
            pubsub.connection.disconnect()

    def _ensure_running(self):
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            # A forked child inherits no thread: start one here, with a fresh registry.
            self._pid = os.getpid()
            self._streams = {}
            self.connected.clear()
            subscriber.start(self)

    def send_heartbeats(self, now):
        """Tell every stream whose heartbeat is due (the ticker; tests call it directly)."""
        with self._lock:
            streams = [s for group in self._streams.values() for s in group]
        interval = self.heartbeat()
        for subscription in streams:
            if subscription.next_beat <= now:
                subscription.next_beat = now + interval
                subscription.beat()

    def subscribed(self):
        # Streams registered before now may have missed events while the subscription
        # was down: end them, so their pages reconnect and catch up from the database.
        # Viewers or settings changes may have been announced meanwhile: forget them all.
        if self.viewers is not None:
            self.viewers.clear()
        settings.forget()
        self._end_all()
        self.connected.set()
        log.info("live: subscribed to %s", self.channel("*"))

    def _end_all(self):
        with self._lock:
            streams = [s for group in self._streams.values() for s in group]
        for subscription in streams:
            subscription.end()

    def dispatch(self, channel, data):
        """An event on a user's channel for that user's streams, or a room's event."""
        kind, _, user_id = channel.rpartition(b".")
        if not user_id.isdigit():
            return
        if kind.endswith(b"room"):
            self._dispatch_room(int(user_id), data)
            return
        with self._lock:
            streams = list(self._streams.get(int(user_id), ()))
        if not streams:
            return
        # A room's event is published once per viewer with the same payload: parse and
        # serialize it once per run of identical payloads, not once per stream.
        if data != self._last[0]:
            self._last = (data, Event(Message(**json.loads(data))))
        for subscription in streams:
            subscription.deliver(self._last[1])

    def _dispatch_room(self, room_id, data):
        """A room's event: a posted message for the viewers here, or a viewers change.

        The sender published once; the viewers are resolved here (cached per room: no
        query per event), and each viewer but the author gets an unread +1.
        """
        payload = json.loads(data)
        if "settings" in payload:  # an admin changed a setting on some node
            settings.forget()
            return
        if "viewers" in payload:
            if self.viewers is not None:
                self.viewers.changed(room_id, payload)
            return
        with self._lock:
            connected = set(self._streams)
        if not connected or self.viewers is None:
            return
        try:
            recipients = connected & self.viewers.of(room_id)
        except Exception:
            log.exception("live: could not resolve the viewers of room %s", room_id)
            return
        if not recipients:
            return
        message = Event(Message(payload["event"], type="message"))
        unread = Event(Message({"room_id": room_id, "increment": 1}, type="unread"))
        author_id = payload.get("author_id")
        for user_id in recipients:
            with self._lock:
                streams = list(self._streams.get(user_id, ()))
            for subscription in streams:
                subscription.deliver(message)
                if user_id != author_id:
                    subscription.deliver(unread)
