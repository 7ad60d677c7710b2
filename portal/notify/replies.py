"""Reply-by-email addresses: `reply+<signed token>@REPLY_DOMAIN`, one per recipient and room.

The token is signed with the app secret (rotating `SECRET_KEY` kills every address), expires
after `REPLY_TOKEN_MAX_AGE_SECONDS`, and names the participant row: removing someone from the
room kills the addresses they were sent, even once they are added back (a new row, added
after the token was issued).

An email about several rooms (a digest) gets a digest address instead: room id `DIGEST` (0,
no room has it) and, in the participant's place, the notification row the email was sent
for; inbound.py finds the room the reply answers among the rooms that row covers.
"""

import re
from urllib.parse import urlsplit

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner
from sqlalchemy import select

from portal.extensions import db
from portal.models import Participant

_SALT = "portal.reply-by-email"
DIGEST = 0  # the room id of a digest address: "one of the rooms of this notification"
_LOCAL_PART = re.compile(r"^reply\+([A-Za-z0-9_.-]{10,200})$")


class ReplyTokenError(ValueError):
    """A reply address that is forged, expired or no longer valid, with the reason."""


class ExpiredReplyToken(ReplyTokenError):
    """A reply address we made that has expired: whose it was (user id, room id) is known,
    so the person can be told their reply was not posted."""

    def __init__(self, user_id, room_id):
        super().__init__("the reply address has expired")
        self.user_id, self.room_id = user_id, room_id


def reply_domain():
    """`REPLY_DOMAIN`, else the host of `PORTAL_BASE_URL`."""
    config = current_app.config
    host = config.get("REPLY_DOMAIN") or urlsplit(config["PORTAL_BASE_URL"]).hostname
    return (host or "localhost").lower()


def _signer():
    return TimestampSigner(current_app.config["SECRET_KEY"], salt=_SALT)


def _base36(number):
    digits = ""
    while True:
        number, rest = divmod(number, 36)
        digits = "0123456789abcdefghijklmnopqrstuvwxyz"[rest] + digits
        if not number:
            return digits


def reply_address(user_id, room_id):
    """The reply address for this participant of this room, or None if they are not one."""
    participant_id = db.session.scalar(
        select(Participant.id).where(Participant.user_id == user_id, Participant.room_id == room_id)
    )
    if participant_id is None:
        return None
    return _address(user_id, room_id, participant_id)


def digest_address(user_id, notification_id):
    """The reply address of an email about several rooms (its NotificationLog row)."""
    return _address(user_id, DIGEST, notification_id)


def _address(*ids):
    # Compact (base-36 ids) so the address stays within SMTP's 64-character local part.
    value = "-".join(_base36(i) for i in ids)
    token = _signer().sign(value).decode()
    return f"reply+{token}@{reply_domain()}"


def reply_headers(user, digests, notification_id=None):
    """`Reply-To` for an email about one room the user takes part in, or about several
    (a digest address, given the notification row's id); else nothing."""
    if len(digests) == 1:
        address = reply_address(user.id, digests[0].room.id)
    elif digests and notification_id is not None and _takes_part(user, digests):
        address = digest_address(user.id, notification_id)
    else:
        address = None
    return {"Reply-To": f"<{address}>"} if address else {}


def _takes_part(user, digests):
    """The user is a participant of one of the rooms (all-rooms staff may be of none)."""
    room_ids = [digest.room.id for digest in digests]
    query = select(Participant.id).where(
        Participant.user_id == user.id, Participant.room_id.in_(room_ids)
    )
    return db.session.scalar(query.limit(1)) is not None


def token_from_address(address):
    """The token of a `reply+TOKEN@REPLY_DOMAIN` address, else None (not ours)."""
    local, _, domain = (address or "").strip().strip("<>").rpartition("@")
    match = _LOCAL_PART.match(local)
    if match is None or domain.lower() != reply_domain():
        return None
    return match.group(1)


def redacted(address):
    """The address for logs: a reply address keeps its ids, never its signature."""
    local, at, domain = (address or "").strip().strip("<>").rpartition("@")
    if not local.startswith("reply+"):
        return address
    return f"{local.split('.', 1)[0]}.…{at}{domain}"


def read_token(token):
    """(user id, room id, participant id, issued at); ReplyTokenError if forged or expired.

    For a digest address: (user id, DIGEST, notification row id, issued at)."""
    max_age = current_app.config["REPLY_TOKEN_MAX_AGE_SECONDS"]
    try:
        value, issued_at = _signer().unsign(token, max_age=max_age, return_timestamp=True)
    except SignatureExpired as exc:
        ids = _ids(exc.payload.decode() if exc.payload else "")
        if ids is None:
            raise ReplyTokenError("the reply address is not valid") from exc
        raise ExpiredReplyToken(ids[0], ids[1]) from exc
    except BadSignature as exc:
        raise ReplyTokenError("the reply address is not valid") from exc
    ids = _ids(value.decode())
    if ids is None:
        raise ReplyTokenError("the reply address is not valid")
    return (*ids, issued_at)


def _ids(value):
    """(user id, room id, third id) from a token's signed value, or None."""
    parts = value.split("-")
    if len(parts) != 3 or not all(i.isalnum() and i.isascii() for i in parts):
        return None
    return tuple(int(i, 36) for i in parts)
