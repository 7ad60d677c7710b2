"""The body of one event stream: events from the process hub, heartbeats, access checks."""

import select
import socket

from flask_sse import Message
from gevent import monkey

from portal.live import presence
from portal.live.catch_up import newest_message_id, with_id
from portal.live.inbox import IDLE
from portal.live.publish import stream_allowed
from portal.live.revocations import REVOKED, ends

#: What a stream says last when its session is revoked (the page then checks itself).
SESSION_ENDED = str(Message({"room_id": None}, type="access"))
#: Reconnect delay the browser should use after the stream ends (milliseconds).
RETRY_MS = 2000


def event_stream(app, hub, subscription, session_token, sock=None, last_id=None, replayed=()):
    """Yield SSE text until the client leaves, the hub ends us, or the session ends.

    The heartbeat only proves the connection; revocations arrive as events, so an idle
    stream costs no database query. Every event carries `id:` (see `portal.live.catch_up`)
    from `last_id` (a reconnect's) on; `replayed` events (its catch-up) go first.
    """
    user_id, key = subscription.user_id, subscription.session_key
    live = app.extensions["live"]
    online = presence.join(app, live, user_id, at_once=False)
    try:
        # At once, so headers flush and the browser fires `open` (the page then catches up).
        yield f": connected\nretry: {RETRY_MS}\n\n"
        for event in replayed:
            text, last_id = with_id(event, last_id)
            yield text
        while True:
            event = subscription.get()  # the hub's ticker says when a heartbeat is due
            if event is IDLE:
                if _client_gone(sock):
                    return
                yield ": heartbeat\n\n"
                continue
            if event is None:
                return
            if event.type == REVOKED:
                if ends(event.data, key):
                    yield SESSION_ENDED  # the page learns at once; its reconnect gets 401
                    return
                continue
            if last_id is None and event.type != "message":
                last_id = _newest_message_id(app)
            text, last_id = with_id(event, last_id)
            yield text
            if _user_changed(event) and not _still_allowed(app, user_id, session_token):
                return
    finally:
        hub.close(subscription)
        presence.leave(live, user_id, online, at_once=False)


def _user_changed(event):
    """An `access` event about the user (not one room): re-check them once, now."""
    return event.type == "access" and event.data.get("room_id") is None


def _still_allowed(app, user_id, session_token):
    """The user is still active and this session not revoked: one query."""
    with app.app_context():
        return stream_allowed(user_id, session_token)


def _newest_message_id(app):
    """Where a new stream's ids start when its first event is not a message: asked then
    (one query), not at connect, which stays free of it."""
    with app.app_context():
        return newest_message_id()


def _client_gone(sock):
    """True when the client closed its end (readable with nothing to read, or hung up).

    A zero-timeout poll() of the one descriptor: no FD_SETSIZE ceiling (select() fails for
    descriptors >= 1024) and no wait, so it never yields to the loop.
    """
    if sock is None:
        return False
    try:
        poller = _poll()
        poller.register(sock.fileno(), select.POLLIN | select.POLLPRI)
        ready = poller.poll(0)
        if not ready:
            return False
        if ready[0][1] & (select.POLLHUP | select.POLLERR | select.POLLNVAL):
            return True
        return not sock.recv(1, socket.MSG_PEEK)
    except (OSError, ValueError):
        return True


#: The real poll(): gevent's patched one would wait on the hub; this one returns at once.
_poll = monkey.get_original("select", "poll")
