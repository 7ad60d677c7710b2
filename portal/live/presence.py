"""Who is online: a user holding at least one event stream, in any web process.

Each web process keeps a count of its own streams per user and one member (the process's
token) in the Redis sorted set `<prefix>online:<user>` of each of those users, scored with
its expiry. Redis hears from a process when a user's first stream there opens, when the
last one closes, and once per heartbeat interval for all of them in one pipeline — never
once per stream, so 20,000 streams cost neither 20,000 round trips nor Redis connections.
A crashed process's entries simply expire.
"""

import logging
import os
import secrets
import threading
import time

import redis

log = logging.getLogger(__name__)

_lock = threading.Lock()
_state = {"pid": None, "token": None, "counts": {}}


def _key(live, user_id):
    return f"{live.hub.prefix}online:{user_id}"


def _ttl(app):
    return 2 * app.config["SSE_HEARTBEAT_SECONDS"] + 5


def _process_state(app, live):
    """This process's token and counts; the refresher starts once per process."""
    if _state["pid"] != os.getpid():
        _state.update(pid=os.getpid(), token=secrets.token_hex(8), counts={})
        interval = app.config["SSE_HEARTBEAT_SECONDS"]
        thread = threading.Thread(
            target=_refresh_forever, args=(app, live, interval), name="presence", daemon=True
        )
        thread.start()
    return _state


def join(app, live, user_id):
    """Count one more stream of `user_id` here; the first one marks them online at once."""
    with _lock:
        state = _process_state(app, live)
        first = state["counts"].get(user_id, 0) == 0
        state["counts"][user_id] = state["counts"].get(user_id, 0) + 1
    if first:
        _write(live, {user_id}, state["token"], time.time() + _ttl(app))
    return state["token"]


def leave(live, user_id, token):
    """One stream of `user_id` closed here; the last one withdraws this process's mark."""
    with _lock:
        counts = _state["counts"]
        left = counts.get(user_id, 0) - 1
        if left > 0:
            counts[user_id] = left
            return
        counts.pop(user_id, None)
    try:
        live.redis.zrem(_key(live, user_id), token)
    except (redis.RedisError, OSError) as exc:
        log.warning("presence: could not mark user %s offline: %s", user_id, exc)


def is_online(live, user_id):
    """True while some stream of the user is open (False when Redis can't tell)."""
    try:
        return live.redis.zcount(_key(live, user_id), time.time(), "+inf") > 0
    except (redis.RedisError, OSError):
        return False


def _write(live, user_ids, token, expires):
    try:
        pipe = live.redis.pipeline(transaction=False)
        for user_id in user_ids:
            key = _key(live, user_id)
            pipe.zadd(key, {token: expires})
            pipe.zremrangebyscore(key, "-inf", time.time())
            pipe.expireat(key, int(expires) + 1)
        pipe.execute()
    except (redis.RedisError, OSError) as exc:
        log.warning("presence: could not mark %d users online: %s", len(user_ids), exc)


def _refresh_forever(app, live, interval):
    """Every heartbeat interval: one pipeline renewing this process's online users."""
    while True:
        time.sleep(interval)
        with _lock:
            users = set(_state["counts"])
            token = _state["token"]
        if users:
            _write(live, users, token, time.time() + _ttl(app))
