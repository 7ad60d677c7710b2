"""A refused send (422) re-renders the room page without marking anything read: the
answer to a POST is not a visit (issue 23)."""

from portal.extensions import db
from portal.messaging.messages import post_message
from portal.messaging.rooms import unread_by_room
from portal.models import Room, User


def _unread(app, person, room_id):
    with app.app_context():
        return unread_by_room(db.session.get(User, person.id)).get(room_id, 0)


def test_a_refused_send_leaves_unread_messages_unread(app, client, people, room):
    with app.app_context():
        staff = db.session.get(User, people["staff"].id)
        for n in range(3):
            post_message(db.session.get(Room, room), staff, f"Please read {n}")
    client.login("client@example.test")
    assert _unread(app, people["client"], room) == 3

    refused = client.form_post(f"/portal/rooms/{room}/messages", {"body": "   "})
    assert refused.status_code == 422
    assert "Please read 2" in refused.get_data(as_text=True)  # the page shows them...
    assert _unread(app, people["client"], room) == 3  # ...and they stay unread

    # Opening the room is what reads them.
    assert client.get(f"/portal/rooms/{room}").status_code == 200
    assert _unread(app, people["client"], room) == 0
