"""Ended login sessions pushed to their open streams the moment the change commits.

The sessions module announces what it ended (`sessions_revoked`, after commit); live
delivery sends one `revoked` event to that user's channel, and each stream whose session
it names ends at once. Streams never poll the database for this. The event carries session
keys (digests), never the tokens, and is not forwarded to browsers.
"""

#: The event type the hub hands to streams; `portal.blueprints.stream.events` acts on it.
REVOKED = "revoked"


def ends(data, key):
    """True when a `revoked` event's data ends the stream of session `key`."""
    if data.get("only"):
        return data["only"] == key
    return data.get("keep") != key
