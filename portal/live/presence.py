"""Who is online: a user holding at least one event stream, in any web process.

Each stream keeps a member in the Redis sorted set `<prefix>online:<user>` scored with
its expiry time, refreshed at every heartbeat; a crashed process's entries simply expire.
"""

import logging
import secrets
import time

import redis

log = logging.getLogger(__name__)


def _key(live, user_id):
    return f"{live.hub.prefix}online:{user_id}"


def _ttl(app):
    return 2 * app.config["SSE_HEARTBEAT_SECONDS"] + 5


def join(app, live, user_id):
    """Mark one stream of `user_id` online; returns its token (for refresh and leave)."""
    token = secrets.token_hex(8)
    refresh(app, live, user_id, token)
    return token


def refresh(app, live, user_id, token):
    key = _key(live, user_id)
    try:
        pipe = live.redis.pipeline(transaction=False)
        pipe.zadd(key, {token: time.time() + _ttl(app)})
        pipe.zremrangebyscore(key, "-inf", time.time())
        pipe.expire(key, _ttl(app))
        pipe.execute()
    except (redis.RedisError, OSError) as exc:
        log.warning("presence: could not mark user %s online: %s", user_id, exc)


def leave(live, user_id, token):
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
