"""Keys and conditions for the Flask-Limiter limits on logins, resets and invitations.

The limits themselves are settings (`LOGIN_FAILURE_LIMIT`, ...), read per request so they
can be changed without restarting; counters live in Redis (`RATELIMIT_STORAGE_URI`).
"""

import hashlib
import logging

import redis
from flask import current_app, g, request, session
from flask_limiter.util import get_remote_address
from flask_login import current_user

from portal.extensions import db, limiter
from portal.infra import audit
from portal.infra.queues import get_redis
from portal.models.users import normalize_email
from portal.people.users import find_user_by_email

log = logging.getLogger(__name__)


def ip_and_email():
    """The client address plus the (hashed) email typed in the form."""
    email = normalize_email(request.form.get("email"))
    digest = hashlib.sha256(email.encode()).hexdigest()[:16]
    return f"{get_remote_address()}:{digest}"


def note_failed_login():
    g.login_failed = True


def login_failed(_response):
    """Deduct only failed attempts: a correct password never counts against anyone."""
    return g.get("login_failed", False)


def post_limit(setting, key_func, failures_only=False):
    """A limit on POSTs per key, the setting's value (e.g. "10 per 15 minutes"), read per
    request; `failures_only`: only failed logins count (`note_failed_login`)."""
    return limiter.limit(
        lambda: current_app.config[setting],
        key_func=key_func,
        methods=["POST"],
        deduct_when=login_failed if failures_only else None,
        on_breach=audit_throttled if failures_only else None,
    )


def audit_throttled(limit):
    """A failed-login limit refused a request: one audit row per key and window, so an
    attacker hammering the form cannot flood the trail."""
    window = limit.limit.get_expiry()
    try:
        if not get_redis().set(f"audit-throttled:{limit.key}", 1, nx=True, ex=window):
            return
    except redis.RedisError:
        log.warning("throttled logins not de-duplicated: Redis unavailable")
    email = normalize_email(request.form.get("email"))
    user = current_user if current_user.is_authenticated else find_user_by_email(email)
    whom = f" for {email}" if email else (f" for {user.email}" if user else "")
    summary = (
        f"Failed logins{whom} from {get_remote_address()} passed the limit "
        f"({limit.limit}) at {request.path}; further attempts refused"
    )
    audit.record(audit.SYSTEM, "login.throttled", user=user, summary=summary)
    db.session.commit()


def current_user_key():
    """The logged-in user: limits on their own actions follow them across addresses."""
    return f"user:{current_user.id}" if current_user.is_authenticated else get_remote_address()


def wrong_current_password():
    """Count a wrong current password in this login session; True once it must end."""
    note_failed_login()
    key = f"password-change-failures:{session.get('sid', '')}"
    try:
        client = get_redis()
        failures = client.incr(key)
        client.expire(key, 3600)
    except redis.RedisError:
        log.warning("wrong current password not counted: Redis unavailable")
        return False
    if failures < current_app.config["PASSWORD_CHANGE_MAX_FAILURES"]:
        return False
    summary = (
        f"{current_user.name} <{current_user.email}> was logged out after {failures} wrong "
        "current passwords at Change password"
    )
    audit.record(current_user, "session.locked_out", user=current_user, summary=summary)
    db.session.commit()
    return True
