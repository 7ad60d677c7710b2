"""The room tests' room: made by `staff` with `client`, holding one message from the client."""

import pytest

from portal.extensions import db
from portal.messaging.messages import post_message
from portal.models import Room, User


@pytest.fixture
def room(app, people, make_room):
    room_id = make_room("Website redesign")
    with app.app_context():
        greeting = "Hello from the client"
        post_message(
            db.session.get(Room, room_id), db.session.get(User, people["client"].id), greeting
        )
    return room_id
