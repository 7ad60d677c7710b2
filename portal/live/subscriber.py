"""The two threads behind a process's hub: the Redis pattern subscription and the
heartbeat ticker. The `threading` primitives are cooperative under gunicorn's gevent
workers (monkey-patched) and real threads under the dev server and the test client."""

import logging
import os
import threading
import time

import redis

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 10.0


def start(hub):
    """Start this process's subscriber and heartbeat ticker for `hub`."""
    threading.Thread(target=_run, args=(hub,), name="live-hub", daemon=True).start()
    threading.Thread(target=_tick, args=(hub,), name="live-heartbeats", daemon=True).start()


def _tick(hub):
    """One ticker per process marks heartbeats due: no timer per stream."""
    while not hub.stopping:
        time.sleep(min(1.0, hub.heartbeat() / 4))
        try:
            hub.send_heartbeats(time.monotonic())
        except Exception:  # the ticker must outlive any one failure
            log.exception("live: heartbeat tick failed")


def _run(hub):
    backoff = 0.5
    while not hub.stopping:
        try:
            _listen(hub)
        except Exception as exc:  # the subscriber must outlive any one failure
            if hub.stopping:
                break
            if hub.connected.is_set():
                backoff = 0.5
            log.warning("live: Redis subscription lost (%r); retrying in %.1f s", exc, backoff)
        finally:
            hub.connected.clear()
        time.sleep(backoff)
        backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)


def _listen(hub):
    options = {"socket_connect_timeout": 2, "client_name": f"portal-live-sub-{os.getpid()}"}
    if not hub.redis_url.startswith("unix:"):
        options["socket_keepalive"] = True  # notice a dead peer on an idle subscription
    client = redis.Redis.from_url(hub.redis_url, **options)
    pubsub = client.pubsub()
    hub.pubsub = pubsub
    try:
        # One connection for both patterns: Redis keeps their events in publish order.
        pubsub.psubscribe(hub.channel("*"), hub.room_channel("*"))
        for item in pubsub.listen():
            if item["type"] == "pmessage":
                hub.dispatch(item["channel"], item["data"])
            elif item["type"] == "psubscribe" and item["data"] == 2:
                hub.subscribed()
    finally:
        hub.pubsub = None
        pubsub.close()
        client.close()
