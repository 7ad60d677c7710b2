"""The Web Push job."""

from jobs import app_context
from portal.notify import push


def send_pushes(message_id):
    """RQ job: push a still-unread message to its away readers' browsers (once each)."""
    with app_context():
        return push.send_pushes(message_id)
