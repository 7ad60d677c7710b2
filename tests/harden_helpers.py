"""Helpers for the hardening tests."""

from portal.extensions import db
from portal.messaging.rooms import create_room
from portal.models import User


def make_room(app, people, creator="staff", members=("client",), title="Files"):
    """A room made by `creator` with `members`; returns its id."""
    with app.app_context():
        owner = db.session.get(User, people[creator].id)
        return create_room(owner, title, [people[m].id for m in members]).id
