"""Event ids on /stream, and a reconnecting EventSource's `Last-Event-ID` catch-up."""

import re

from portal.extensions import db
from portal.messaging.messages import post_message
from portal.messaging.reading import mark_read
from portal.messaging.rooms import set_participants
from portal.models import Room, User
from tests.sse import ClientStream, of_type


def post(app, room_id, author_id, body):
    with app.app_context():
        message = post_message(db.session.get(Room, room_id), db.session.get(User, author_id), body)
        return message.id


class ReconnectingStream(ClientStream):
    """A /stream opened as a reconnecting EventSource does: with `Last-Event-ID`."""

    def __init__(self, client, last_id):
        self.response = client.get(
            "/stream", headers={"Last-Event-ID": str(last_id)}, buffered=False
        )
        self._chunks = iter(self.response.response)


def ids(text):
    return [int(found) for found in re.findall(r"^id: (\d+)$", text, re.M)]


def reconnect(app, email, last_id, streams):
    client = app.test_client()
    client.login(email)
    stream = ReconnectingStream(client, last_id)
    streams.append(stream)
    return stream


def test_every_event_carries_the_newest_message_id(app, people, room, open_stream):
    post(app, room, people["staff"].id, "Before the stream")
    stream = open_stream("client@example.test")
    assert ids(stream.text) == []  # the connect says nothing (and asks the database nothing)
    first = post(app, room, people["staff"].id, "One")
    stream.read_until(lambda ev: of_type(ev, "unread"))
    # The message and its unread count both carry the message's id.
    assert ids(stream.text) == [first, first]


def test_a_first_event_that_is_not_a_message_starts_from_the_newest_id(
    app, people, room, open_stream
):
    newest = post(app, room, people["staff"].id, "Before the stream")
    stream = open_stream("client@example.test")
    with app.app_context():
        mark_read(db.session.get(User, people["client"].id), db.session.get(Room, room))
    stream.read_until(lambda ev: of_type(ev, "unread"))
    assert ids(stream.text) == [newest]


def test_last_event_id_replays_what_the_stream_missed(app, people, room, heartbeat):
    seen = post(app, room, people["staff"].id, "Seen before the drop")
    missed = [post(app, room, people["staff"].id, f"Missed {n}") for n in range(3)]
    streams = []
    try:
        stream = reconnect(app, "client@example.test", seen, streams)
        events = stream.read_until(lambda ev: len(of_type(ev, "unread")) == 3)
        assert [m["message_id"] for m in of_type(events, "message")] == missed
        assert "Missed 2" in of_type(events, "message")[-1]["html"]
        assert of_type(events, "unread") == [{"room_id": room, "increment": 1}] * 3
        assert ids(stream.text)[-1] == missed[-1]
        # Live events follow the replay, their ids counting on.
        live = post(app, room, people["staff"].id, "Live again")
        events = stream.read_until(lambda ev: len(of_type(ev, "message")) == 4)
        assert of_type(events, "message")[-1]["message_id"] == live
        assert ids(stream.text)[-1] == live
    finally:
        for opened in streams:
            opened.close()


def test_replay_never_shows_a_room_the_user_may_not_see(app, people, room, make_room, heartbeat):
    start = post(app, room, people["staff"].id, "Start")
    hidden = make_room("Staff only", members=())
    secret = post(app, hidden, people["staff"].id, "Secret plans")
    visible = post(app, room, people["staff"].id, "For the client")
    streams = []
    try:
        for email in ("client@example.test", "outsider@example.test"):
            stream = reconnect(app, email, start, streams)
            stream.read_until(lambda ev: False, timeout=1.0)
        client_stream, outsider_stream = streams
        replayed = [m["message_id"] for m in of_type(client_stream.read_until(bool), "message")]
        assert replayed == [visible] and secret not in replayed
        assert "Secret plans" not in client_stream.text
        assert of_type(outsider_stream.read_until(bool), "message") == []
        # The own messages come back too, without an unread count.
        staff = reconnect(app, "staff@example.test", start, streams)
        events = staff.read_until(lambda ev: len(of_type(ev, "message")) == 2)
        assert [m["message_id"] for m in of_type(events, "message")] == [secret, visible]
        assert of_type(events, "unread") == []
    finally:
        for opened in streams:
            opened.close()


def test_a_removed_participant_gets_no_replay(app, people, room, heartbeat):
    start = post(app, room, people["staff"].id, "Start")
    post(app, room, people["staff"].id, "After the removal")
    with app.app_context():
        set_participants(db.session.get(Room, room), db.session.get(User, people["staff"].id), [])
    streams = []
    try:
        stream = reconnect(app, "client@example.test", start, streams)
        assert of_type(stream.read_until(lambda ev: False, timeout=1.0), "message") == []
    finally:
        for opened in streams:
            opened.close()


def test_a_bad_last_event_id_is_ignored(app, people, room, heartbeat):
    post(app, room, people["staff"].id, "Newest")
    streams = []
    try:
        for bad in ("abc", "-1", "9" * 40, ""):
            stream = reconnect(app, "client@example.test", bad, streams)
            stream.connected()
            assert ids(stream.text) == []
            events = stream.read_until(lambda ev: False, timeout=0.3)
            assert of_type(events, "message") == []
    finally:
        for opened in streams:
            opened.close()
