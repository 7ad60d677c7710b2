"""Helpers for the notification and reminder tests (no tests here): rooms, posts, emails."""

from datetime import timedelta

from portal.extensions import db
from portal.messaging.messages import post_message
from portal.messaging.rooms import create_room
from portal.models import User
from portal.models.base import utcnow

DELAY = timedelta(seconds=600)


def user(person):
    return db.session.get(User, person.id)


def room_with(creator, *members, title="Tax return 2024"):
    """A room created by `creator` (a persona) with `members` as participants."""
    return create_room(user(creator), title, [m.id for m in members])


def post(room, author, body, attachments=()):
    return post_message(room, user(author), body, attachments=attachments)


def after_delay(extra=1):
    """A moment just past the 10-minute delay for messages posted now."""
    return utcnow() + DELAY + timedelta(seconds=extra)


def parts(message):
    """(plain text, html) of an email."""
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    return text, html


def kinds(outbox, to=None):
    return [m["X-Portal-Notification"] for m in outbox.messages(to)]
