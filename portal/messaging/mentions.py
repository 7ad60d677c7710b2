"""`@First Last` mentions of a room's participants: found in the text, stored, rendered."""

import re

from markupsafe import Markup, escape
from sqlalchemy import select

from portal.access import may_see_participants
from portal.extensions import db
from portal.models import Mention, Message, Participant, User

MENTION = Markup('<span class="mention" data-user-id="{}">{}</span>')


def mentioned_users(room_id, body, author_id=None):
    """Participants (other than the author) named as `@Name` in `body`, longest names first.

    An author who may not see the participants (a client) mentions only people the room
    already shows them, its messages' authors: a mention must not confirm who is in it.
    """
    if "@" not in (body or ""):
        return []
    query = (
        select(User)
        .join(Participant, Participant.user_id == User.id)
        .where(Participant.room_id == room_id)
    )
    author = db.session.get(User, author_id) if author_id is not None else None
    if author is not None and not may_see_participants(author):
        wrote = select(Message.id).where(
            Message.room_id == room_id, Message.author_id == User.id, Message.deleted_at.is_(None)
        )
        query = query.where(wrote.exists())
    people = db.session.scalars(query).all()
    text = body.casefold()
    found = []
    for user in sorted(people, key=lambda u: -len(u.name)):
        if user.id != author_id and _named(text, user.name):
            found.append(user)
    return found


def _named(text, name):
    pattern = r"(?<!\w)@" + re.escape(name.casefold()) + r"(?!\w)"
    return re.search(pattern, text) is not None


def new_mentions(room_id, body, author_id):
    """Mention rows for a new message's text."""
    return [Mention(user_id=u.id, name=u.name) for u in mentioned_users(room_id, body, author_id)]


def sync_mentions(message):
    """Set the message's Mention rows from its text (call before commit)."""
    users = mentioned_users(message.room_id, message.body, message.author_id)
    message.mentions[:] = [Mention(user_id=u.id, name=u.name) for u in users]
    return users


def mark_mentions(text, mentions):
    """Escape plain text, wrapping each `@Name` of a mentioned person in a span."""
    if not mentions or "@" not in text:
        return escape(text)
    names = sorted({m.name: m.user_id for m in mentions}.items(), key=lambda n: -len(n[0]))
    pattern = re.compile(
        r"(?<!\w)@(" + "|".join(re.escape(name) for name, _ in names) + r")(?!\w)",
        re.IGNORECASE,
    )
    ids = {name.casefold(): user_id for name, user_id in names}
    parts, position = [], 0
    for match in pattern.finditer(text):
        parts.append(escape(text[position : match.start()]))
        parts.append(MENTION.format(ids[match.group(1).casefold()], match.group(0)))
        position = match.end()
    parts.append(escape(text[position:]))
    return Markup("").join(parts)
