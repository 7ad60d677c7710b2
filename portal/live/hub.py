"""One Redis subscription per web process, fanned out to that process's open streams.

flask-sse opens a Redis connection per stream; here each process holds a single pattern
subscription and hands events to per-stream queues. The `threading` and `queue`
primitives are cooperative under gunicorn's gevent workers (monkey-patched) and real
threads under the dev server and the test client.
"""

import contextlib
import json
import logging
import os
import threading
import time

import redis
from flask_sse import Message

log = logging.getLogger(__name__)

#: Events a stream may fall behind by before it is ended (the page then catches up).
INBOX_SIZE = 500
#: How long a new stream waits for the subscription when Redis is (re)connecting.
CONNECT_WAIT_SECONDS = 2.0
MAX_BACKOFF_SECONDS = 10.0
#: A room's cached viewers are re-read at least this often, whatever was announced.
VIEWERS_TTL_SECONDS = 10.0
#: Longest a viewers change announced as pending keeps its room uncached without its
#: `settled` (the announcing process may have died before it could say so).
PENDING_SECONDS = 60.0
#: Rooms whose viewers a process keeps at most.
VIEWERS_CACHED = 10000
#: Room id meaning "every room" in a viewers announcement (`portal.live.membership`).
ALL_ROOMS = 0


class Event:
    """A published `flask_sse.Message`, serialized once for every stream it goes to."""

    __slots__ = ("type", "data", "text")

    def __init__(self, message):
        self.type = message.type
        self.data = message.data
        self.text = str(message)


#: What `Subscription.get` returns when a heartbeat is due (or nothing came in time).
IDLE = "idle"


class Subscription:
    """One open stream's inbox: `Event`s for its user, until the stream must end.

    A list and one lock used as the wake-up signal (locked while there is nothing new):
    about 0.4 KiB per stream where a `queue.Queue` (a deque, a lock and three conditions)
    took 2.6 KiB. The lock is cooperative under gevent's patching, a real one in threads.
    """

    __slots__ = ("user_id", "session_key", "_items", "_wake", "ended", "beat_due", "next_beat")

    def __init__(self, user_id, session_key=None):
        self.user_id = user_id
        self.session_key = session_key
        self._items = []
        self._wake = threading.Lock()
        self._wake.acquire()
        self.ended = False
        #: Set by the hub's heartbeat ticker: say something, to prove the connection.
        self.beat_due = False
        self.next_beat = 0.0

    def deliver(self, event):
        if len(self._items) >= INBOX_SIZE:
            log.warning("live: stream of user %s fell behind; ending it", self.user_id)
            self.end()
            return
        self._items.append(event)
        self._signal()

    def end(self):
        self.ended = True
        self._signal()

    def beat(self):
        """Time for a heartbeat (from the hub's ticker: no timer per stream)."""
        self.beat_due = True
        self._signal()

    def get(self, timeout=None):
        """The next event; None once the stream must end; `IDLE` when a heartbeat is due
        (or after `timeout` s of nothing, when given)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.ended:
            if self._items:
                return self._items.pop(0)
            if self.beat_due:
                self.beat_due = False
                return IDLE
            if deadline is None:
                self._wake.acquire()  # released by deliver(), beat() or end()
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return IDLE
            self._wake.acquire(timeout=remaining)
        return None

    def _signal(self):
        # Already released (a wake-up is pending): nothing to add.
        with contextlib.suppress(RuntimeError, ValueError):
            self._wake.release()


class Hub:
    """The process's registry of open streams, fed by one pattern subscription."""

    def __init__(self, redis_url, prefix, viewers=None, heartbeat=lambda: 15):
        self.redis_url = redis_url
        self.prefix = prefix
        #: Seconds between heartbeats of an idle stream (read at every tick).
        self.heartbeat = heartbeat
        #: room_id -> ids of the users who may view it now (a database query).
        self.viewers = viewers
        # Only the subscriber thread touches these two (no lock):
        #: room_id -> (monotonic expiry, viewer ids), for rooms with no change pending.
        self._viewers = {}
        #: announced mark -> (room_id or ALL_ROOMS, monotonic deadline) until settled.
        self._pending = {}
        self.connected = threading.Event()
        self._lock = threading.Lock()
        self._streams = {}
        self._pid = None
        self._pubsub = None
        self._stopping = False
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
        self._stopping = True
        self._end_all()
        pubsub = self._pubsub
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
            threading.Thread(target=self._run, name="live-hub", daemon=True).start()
            threading.Thread(target=self._tick, name="live-heartbeats", daemon=True).start()

    def _tick(self):
        """One ticker per process marks heartbeats due: no timer per stream."""
        while not self._stopping:
            time.sleep(min(1.0, self.heartbeat() / 4))
            try:
                self.send_heartbeats(time.monotonic())
            except Exception:  # the ticker must outlive any one failure
                log.exception("live: heartbeat tick failed")

    def send_heartbeats(self, now):
        """Tell every stream whose heartbeat is due (the ticker; tests call it directly)."""
        with self._lock:
            streams = [s for group in self._streams.values() for s in group]
        interval = self.heartbeat()
        for subscription in streams:
            if subscription.next_beat <= now:
                subscription.next_beat = now + interval
                subscription.beat()

    def _run(self):
        backoff = 0.5
        while not self._stopping:
            try:
                self._listen()
            except Exception as exc:  # the subscriber must outlive any one failure
                if self._stopping:
                    break
                if self.connected.is_set():
                    backoff = 0.5
                log.warning("live: Redis subscription lost (%r); retrying in %.1f s", exc, backoff)
            finally:
                self.connected.clear()
            time.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)

    def _listen(self):
        options = {"socket_connect_timeout": 2, "client_name": f"portal-live-sub-{os.getpid()}"}
        if not self.redis_url.startswith("unix:"):
            options["socket_keepalive"] = True  # notice a dead peer on an idle subscription
        client = redis.Redis.from_url(self.redis_url, **options)
        pubsub = client.pubsub()
        self._pubsub = pubsub
        try:
            # One connection for both patterns: Redis keeps their events in publish order.
            pubsub.psubscribe(self.channel("*"), self.room_channel("*"))
            for item in pubsub.listen():
                if item["type"] == "pmessage":
                    self._dispatch(item["channel"], item["data"])
                elif item["type"] == "psubscribe" and item["data"] == 2:
                    self._subscribed()
        finally:
            self._pubsub = None
            pubsub.close()
            client.close()

    def _subscribed(self):
        # Streams registered before now may have missed events while the subscription
        # was down: end them, so their pages reconnect and catch up from the database.
        # Viewers changes may have been announced meanwhile: forget every cached room.
        self._viewers.clear()
        self._pending.clear()
        self._end_all()
        self.connected.set()
        log.info("live: subscribed to %s", self.channel("*"))

    def _end_all(self):
        with self._lock:
            streams = [s for group in self._streams.values() for s in group]
        for subscription in streams:
            subscription.end()

    def _dispatch(self, channel, data):
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
        if "viewers" in payload:
            self._viewers_changed(room_id, payload)
            return
        with self._lock:
            connected = set(self._streams)
        if not connected or self.viewers is None:
            return
        try:
            recipients = connected & self._viewers_of(room_id)
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

    def _viewers_of(self, room_id):
        """The room's viewers: cached, unless a change to them may be committing now."""
        now = time.monotonic()
        cached = self._viewers.get(room_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        viewers = frozenset(self.viewers(room_id))
        if self._settled(room_id, now):
            if len(self._viewers) >= VIEWERS_CACHED:
                self._viewers.pop(next(iter(self._viewers)))
            self._viewers[room_id] = (now + VIEWERS_TTL_SECONDS, viewers)
        return viewers

    def _settled(self, room_id, now):
        """No viewers change announced for this room (or all) is still in flight."""
        for mark, (room, deadline) in list(self._pending.items()):
            if deadline <= now:
                del self._pending[mark]
            elif room in (room_id, ALL_ROOMS):
                return False
        return True

    def _viewers_changed(self, room_id, payload):
        """`pending`: forget the room (or all) and cache nothing for it until `settled`."""
        if room_id == ALL_ROOMS:
            self._viewers.clear()
        else:
            self._viewers.pop(room_id, None)
        if payload["viewers"] == "pending":
            self._pending[payload["mark"]] = (room_id, time.monotonic() + PENDING_SECONDS)
        else:
            self._pending.pop(payload["mark"], None)
