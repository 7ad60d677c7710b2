"""The delayed client email job."""

from jobs import app_context
from portal.notify import client_emails, mentions, reply_answers


def notify_client(user_id, room_id=None, now=None):
    """RQ job: email the client a digest of the rooms whose unread messages are due.

    `room_id` is ignored: jobs queued before digests name a room, and a digest covers every
    due room anyway (RQ calls a job with the arguments it was queued with)."""
    with app_context():
        row = client_emails.notify_client(user_id, now=now)
        return row.key if row is not None else None


def send_mentions(message_id):
    """RQ job: email the people a message mentions who are away (once each)."""
    with app_context():
        return mentions.send_mentions(message_id)


def answer_reply(user_id, reason, advice, room_ids, text, in_reply_to=None):
    """RQ job: tell the person their emailed reply was not posted (why, the rooms, their text)."""
    with app_context():
        message = reply_answers.send_answer(user_id, reason, advice, room_ids, text, in_reply_to)
        return message is not None
