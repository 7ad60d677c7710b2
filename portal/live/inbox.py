"""A stream's inbox: the events published for its user, waiting to be written out."""

import contextlib
import logging
import threading
import time

log = logging.getLogger(__name__)

#: Events a stream may fall behind by before it is ended (the page then catches up).
INBOX_SIZE = 500


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
