"""Who is online: a user holding at least one event stream, in any web process.

Each web process has a token and keeps, in Redis, the set `<prefix>online:<token>` of the
users holding a stream there, and its token in the sorted set `<prefix>online` scored
with an expiry. Redis hears from a process when a user's first stream there opens, when
the last one closes, and once per heartbeat interval to renew the process's two entries —
a fixed cost, whatever the number of streams or users (20,000 streams cost neither
20,000 round trips nor 20,000 renewals). A crashed process's entries simply expire.
"""

import logging
import os
import secrets
import threading
import time

import redis

log = logging.getLogger(__name__)

_lock = threading.Lock()
_state = {"pid": None, "token": None, "counts": {}, "changed": set(), "wake": None}
#: Joins and leaves of streams are written together, this long after the first of them.
BATCH_SECONDS = 0.05


def _processes_key(live):
    return f"{live.hub.prefix}online"


def _users_key(live, token):
    return f"{live.hub.prefix}online:{token}"


def _ttl(app):
    return 2 * app.config["SSE_HEARTBEAT_SECONDS"] + 5


def _process_state(app, live):
    """This process's token and counts; the refresher starts once per process."""
    if _state["pid"] != os.getpid():
        _state.update(
            pid=os.getpid(),
            token=secrets.token_hex(8),
            counts={},
            changed=set(),
            wake=threading.Event(),
        )
        thread = threading.Thread(
            target=_refresh_forever, args=(app, live), name="presence", daemon=True
        )
        thread.start()
    return _state


def join(app, live, user_id, at_once=True):
    """Count one more stream of `user_id` here; the first one marks them online — at once,
    or (`at_once=False`, the streams) with the other joins and leaves of the moment."""
    with _lock:
        state = _process_state(app, live)
        first = state["counts"].get(user_id, 0) == 0
        state["counts"][user_id] = state["counts"].get(user_id, 0) + 1
        if first and not at_once:
            _changed(state, user_id)
    if first and at_once:
        _run(live, "mark user %s online", user_id, _added(app, live, state["token"], user_id))
    return state["token"]


def leave(live, user_id, token, at_once=True):
    """One stream of `user_id` closed here; the last one withdraws it from this process's set."""
    with _lock:
        counts = _state["counts"]
        left = counts.get(user_id, 0) - 1
        if left > 0:
            counts[user_id] = left
            return
        counts.pop(user_id, None)
        if not at_once:
            _changed(_state, user_id)
            return
    _run(live, "mark user %s offline", user_id, [("srem", _users_key(live, token), user_id)])


def _changed(state, user_id):
    state["changed"].add(user_id)
    state["wake"].set()


def is_online(live, user_id):
    """True while some stream of the user is open (False when Redis can't tell)."""
    try:
        tokens = live.redis.zrangebyscore(_processes_key(live), time.time(), "+inf")
        if not tokens:
            return False
        pipe = live.redis.pipeline(transaction=False)
        for token in tokens:
            pipe.sismember(_users_key(live, token.decode()), user_id)
        return any(pipe.execute())
    except (redis.RedisError, OSError):
        return False


def _added(app, live, token, *user_ids):
    expires = time.time() + _ttl(app)
    return [("sadd", _users_key(live, token), *user_ids), *_renewal(live, token, expires)]


def _renewal(live, token, expires):
    """This process's entries, renewed until `expires`, and other processes' expired ones."""
    return [
        ("zadd", _processes_key(live), {token: expires}),
        ("zremrangebyscore", _processes_key(live), "-inf", time.time()),
        ("expireat", _processes_key(live), int(expires) + 1),
        ("expireat", _users_key(live, token), int(expires) + 1),
    ]


def _run(live, what, arg, commands):
    """Commands in one pipeline; a failure is logged (presence is a hint), never raised."""
    try:
        pipe = live.redis.pipeline(transaction=False)
        for name, *args in commands:
            getattr(pipe, name)(*args)
        pipe.execute()
    except (redis.RedisError, OSError) as exc:
        log.warning("presence: could not %s: %s", what % arg, exc)


def _refresh_forever(app, live):
    """Write the batched joins and leaves; every heartbeat interval, renew the entries."""
    renew_at = time.monotonic() + app.config["SSE_HEARTBEAT_SECONDS"]
    while True:
        if _state["wake"].wait(max(0.0, renew_at - time.monotonic())):
            time.sleep(BATCH_SECONDS)  # let the joins and leaves of the moment gather
            _state["wake"].clear()
            flush(app, live)
        if time.monotonic() >= renew_at:
            refresh(app, live)
            renew_at = time.monotonic() + app.config["SSE_HEARTBEAT_SECONDS"]


def flush(app, live):
    """The batched joins and leaves, in one pipeline."""
    with _lock:
        changed, _state["changed"] = _state["changed"], set()
        online = {user_id for user_id in changed if _state["counts"].get(user_id)}
        token = _state["token"]
    commands = _added(app, live, token, *online) if online else []
    if changed - online:
        commands.append(("srem", _users_key(live, token), *(changed - online)))
    if commands:
        _run(live, "write %s joins and leaves", len(changed), commands)


def refresh(app, live):
    """One pipeline renewing this process's entries; rewrites its set if Redis lost some.

    The set's size is checked against this process's count of users: a write lost to a
    Redis failure or restart heals here, within one interval.
    """
    with _lock:
        users = set(_state["counts"])
        token = _state["token"]
    if not users:
        return
    key = _users_key(live, token)
    expires = time.time() + _ttl(app)
    try:
        pipe = live.redis.pipeline(transaction=False)
        pipe.scard(key)
        for name, *args in _renewal(live, token, expires):
            getattr(pipe, name)(*args)
        if pipe.execute()[0] != len(users):
            pipe.delete(key)
            pipe.sadd(key, *users)
            pipe.expireat(key, int(expires) + 1)
            pipe.execute()
    except (redis.RedisError, OSError) as exc:
        log.warning("presence: could not renew this process's %d users: %s", len(users), exc)
