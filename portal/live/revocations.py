"""Ended login sessions pushed to their open streams the moment the change commits.

Revoking code notes what it ended (`note_revoked`); after the transaction commits, one
`revoked` event per user goes to that user's channel, and each stream whose session it
names ends at once. Streams never poll the database for this. The event carries session
keys (digests), never the tokens, and is not forwarded to browsers.
"""

import hashlib

from flask_sse import Message
from sqlalchemy import event
from sqlalchemy.orm import Session

#: The event type the hub hands to streams; `portal.blueprints.stream.events` acts on it.
REVOKED = "revoked"
_PENDING = "portal_revoked_sessions"


def session_key(token):
    """The public name of a login session: a digest of its token."""
    if not token:
        return None
    return hashlib.sha256(token.encode()).hexdigest()[:32]


def note_revoked(session, user_id, only=None, keep=None):
    """After the next commit, end `user_id`'s streams of session `only` (or all but `keep`)."""
    if user_id is None:
        return
    data = {"only": session_key(only), "keep": session_key(keep)}
    session.info.setdefault(_PENDING, []).append((user_id, data))


def ends(data, key):
    """True when a `revoked` event's data ends the stream of session `key`."""
    if data.get("only"):
        return data["only"] == key
    return data.get("keep") != key


@event.listens_for(Session, "after_commit")
def _publish_after_commit(session):
    pending = session.info.pop(_PENDING, None)
    if pending:
        from portal.live.publish import publish

        publish([(user_id, Message(data, type=REVOKED)) for user_id, data in pending])


@event.listens_for(Session, "after_soft_rollback")
def _forget_after_rollback(session, previous_transaction):
    session.info.pop(_PENDING, None)
