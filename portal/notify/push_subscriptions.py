"""Web Push subscriptions: which browser endpoints the server may POST to, for whom.

An endpoint is a URL a user gave the server, so it is checked against
PUSH_ENDPOINT_HOSTS (the browsers' push services) before it is stored and again before
every send: https only (an entry written `http://host:port` allows plain http to that one
host, for development and tests).
"""

import base64
import binascii
import time
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import delete, exists, select

from portal.extensions import db
from portal.models import LoginSession, PushSubscription


class SubscriptionError(ValueError):
    """A subscription the portal refuses, with what to tell the person."""


def endpoint_allowed(endpoint, hosts=None):
    """True when `endpoint` is https on an allowed host (or an allowed plain-http host)."""
    hosts = current_app.config["PUSH_ENDPOINT_HOSTS"] if hosts is None else hosts
    try:
        parts = urlsplit(endpoint)
        port = parts.port
    except ValueError:
        return False
    host = (parts.hostname or "").lower()
    if not host or parts.username or parts.password:
        return False
    if parts.scheme == "http":
        return f"http://{host}:{port}" in hosts
    if parts.scheme != "https" or port not in (None, 443):
        return False
    return any(
        host == allowed or (allowed.startswith("*.") and host.endswith(allowed[1:]))
        for allowed in hosts
        if not allowed.startswith("http://")
    )


def _key(value, size, what):
    """A base64url key of `size` bytes (padding optional), else SubscriptionError."""
    if not isinstance(value, str) or len(value) > 200:
        raise SubscriptionError(f"The browser sent no usable {what} key.")
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError) as error:
        raise SubscriptionError(f"The browser sent no usable {what} key.") from error
    if len(raw) != size or (what == "p256dh" and raw[0] != 4):
        raise SubscriptionError(f"The browser sent no usable {what} key.")
    return value


#: Whether anyone in the portal subscribed, as this process last saw it: (answer, when).
#: A "no" is asked again after ANYONE_SUBSCRIBED_SECONDS; a "yes" stands (the job itself
#: finds who). This keeps a statement off every send of a portal that uses no push; a first
#: subscription made through another process is seen within that time.
_anyone = {"subscribed": False, "asked_at": None}
ANYONE_SUBSCRIBED_SECONDS = 30.0


def anyone_subscribed(clock=time.monotonic):
    if _anyone["subscribed"]:
        return True
    asked_at = _anyone["asked_at"]
    if asked_at is not None and clock() - asked_at < ANYONE_SUBSCRIBED_SECONDS:
        return False
    found = bool(db.session.scalar(select(exists().select_from(PushSubscription))))
    _anyone.update(subscribed=found, asked_at=clock())
    return found


def someone_subscribed():
    """This process stored a subscription: push jobs are queued from now on."""
    _anyone.update(subscribed=True)


def forget_anyone():
    """Ask the database again at the next message (tests; a fresh process starts so)."""
    _anyone.update(subscribed=False, asked_at=None)


def subscribe(user, data, device="", session_token=None):
    """Store `PushSubscription.toJSON()` for `user` and the login `session_token` (taking
    it over from anyone who held that browser's endpoint before); SubscriptionError when
    it is not one we may use."""
    if not isinstance(data, dict):
        raise SubscriptionError("Send the browser's push subscription as JSON.")
    endpoint = data.get("endpoint")
    keys = data.get("keys") if isinstance(data.get("keys"), dict) else {}
    if not isinstance(endpoint, str) or not endpoint or len(endpoint) > 1000:
        raise SubscriptionError("The browser sent no push endpoint.")
    if not endpoint_allowed(endpoint):
        raise SubscriptionError("This browser's push service is not one the portal sends to.")
    p256dh, auth = _key(keys.get("p256dh"), 65, "p256dh"), _key(keys.get("auth"), 16, "auth")
    subscription = db.session.scalar(
        select(PushSubscription).where(PushSubscription.endpoint == endpoint)
    )
    if subscription is None:
        subscription = PushSubscription(endpoint=endpoint)
        db.session.add(subscription)
    subscription.user_id, subscription.p256dh, subscription.auth = user.id, p256dh, auth
    subscription.login_session_id = db.session.scalar(
        select(LoginSession.id).where(LoginSession.token == session_token)
    )
    subscription.device = (device or "")[:100]
    someone_subscribed()
    db.session.commit()
    return subscription


def unsubscribe(user, endpoint=None, subscription_id=None):
    """Forget one of the user's subscriptions (by endpoint or id); True if one was."""
    mine = delete(PushSubscription).where(PushSubscription.user_id == user.id)
    if endpoint is not None:
        mine = mine.where(PushSubscription.endpoint == endpoint)
    elif subscription_id is not None:
        mine = mine.where(PushSubscription.id == subscription_id)
    else:
        return False
    removed = db.session.execute(mine).rowcount
    db.session.commit()
    return bool(removed)


def subscriptions_of(user_id):
    """The user's subscriptions whose login has not ended, newest first."""
    return db.session.scalars(
        select(PushSubscription)
        .join(LoginSession, LoginSession.id == PushSubscription.login_session_id)
        .where(PushSubscription.user_id == user_id, LoginSession.revoked_at.is_(None))
        .order_by(PushSubscription.id.desc())
    ).all()


def forget(subscription_id):
    """The push service says the subscription is gone (404/410): delete it."""
    db.session.execute(delete(PushSubscription).where(PushSubscription.id == subscription_id))
    db.session.commit()


#: (what the User-Agent contains, the name shown), first match wins: Edge and Opera say
#: "Chrome" too, Chrome says "Safari", Android says "Linux".
BROWSERS = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("SamsungBrowser", "Samsung Internet"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
)


def _first(agent, names, otherwise):
    return next((name for token, name in names if token in agent), otherwise)


def device_name(user_agent):
    """ "Firefox on Android": enough to tell a person's devices apart in the list."""
    agent = user_agent or ""
    browser, system = _first(agent, BROWSERS, "A browser"), _first(agent, SYSTEMS, None)
    return f"{browser} on {system}" if system else browser
