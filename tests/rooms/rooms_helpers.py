"""What the room tests share besides their fixtures."""

from sqlalchemy import select

from portal.extensions import db
from portal.models import Message

HX = {"HX-Request": "true"}


def messages_in(app, room_id):
    """The bodies of a room's messages, oldest first."""
    with app.app_context():
        return list(
            db.session.scalars(
                select(Message.body).where(Message.room_id == room_id).order_by(Message.id)
            )
        )
