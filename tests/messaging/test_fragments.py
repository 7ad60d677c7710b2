"""The message fragment cache: reused while its inputs stay equal, re-rendered when not."""

from portal.extensions import db
from portal.messaging.fragments import message_fragment
from portal.messaging.messages import post_message
from portal.messaging.rooms import create_room
from portal.models import Message, User


def test_a_fragment_is_rendered_once_and_follows_the_authors_name(app, people):
    with app.test_request_context():
        staff = db.session.get(User, people["staff"].id)
        room = create_room(staff, "Cached", [])
        message = post_message(room, staff, "Hello <b>there</b>")
        first = message_fragment(db.session.get(Message, message.id))
        assert "Hello &lt;b&gt;there&lt;/b&gt;" in first and "Staff" in first
        assert message_fragment(db.session.get(Message, message.id)) is first

        staff.name = "Samantha Staff"
        db.session.commit()
        renamed = message_fragment(db.session.get(Message, message.id))
        assert renamed is not first and "Samantha Staff" in renamed
