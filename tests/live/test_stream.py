"""GET /stream: per-user channels, events after commit, access checks, cleanup."""

import time

from portal.extensions import db
from portal.messaging.messages import post_message
from portal.messaging.rooms import set_participants
from portal.models import Room, User
from portal.people.admin import update_user
from tests.sse import ClientStream, of_type


def post(app, room_id, author_id, body):
    with app.app_context():
        message = post_message(db.session.get(Room, room_id), db.session.get(User, author_id), body)
        return message.id


def test_anonymous_gets_401_not_a_redirect(client):
    response = client.get("/stream")
    assert response.status_code == 401
    assert "Location" not in response.headers


def test_stream_headers_and_initial_comment(app, people, heartbeat):
    client = app.test_client()
    client.login("client@example.test")
    stream = ClientStream(client)
    try:
        assert stream.response.status_code == 200
        assert stream.response.mimetype == "text/event-stream"
        assert stream.response.headers["Cache-Control"] == "no-cache"
        assert stream.response.headers["X-Accel-Buffering"] == "no"
        events = stream.read_until(lambda ev: len(of_type(ev, "comment")) >= 2, timeout=5)
        assert of_type(events, "comment")[:2] == ["connected", "heartbeat"]
    finally:
        stream.close()


def test_message_event_reaches_viewers_with_fragment_and_unread(app, people, room, open_stream):
    client_stream = open_stream("client@example.test")
    staff_stream = open_stream("staff@example.test")
    message_id = post(app, room, people["staff"].id, "Your documents are ready")

    events = client_stream.read_until(lambda ev: of_type(ev, "unread"))
    (message,) = of_type(events, "message")
    assert message["room_id"] == room and message["message_id"] == message_id
    assert f'id="message-{message_id}"' in message["html"]
    assert "Your documents are ready" in message["html"]
    assert of_type(events, "unread") == [{"room_id": room, "increment": 1}]

    # The author's other tabs get the message too, but no unread count.
    events = staff_stream.read_until(lambda ev: of_type(ev, "message"))
    assert [m["message_id"] for m in of_type(events, "message")] == [message_id]
    assert not of_type(staff_stream.read_until(lambda ev: False, timeout=1.5), "unread")


def test_reading_elsewhere_updates_the_badge(app, people, room, open_stream):
    message_id = post(app, room, people["staff"].id, "Hello")
    stream = open_stream("client@example.test")
    reader = app.test_client()
    reader.login("client@example.test")
    assert (
        reader.form_post(f"/portal/rooms/{room}/read", {"through": message_id}).status_code == 204
    )
    events = stream.read_until(lambda ev: of_type(ev, "unread"))
    assert of_type(events, "unread") == [{"room_id": room, "count": 0}]


def test_channel_query_parameter_is_ignored(app, people, room, open_stream):
    """The outsider asks for the client's channel (every spelling) and hears nothing."""
    prefix = app.extensions["live"].hub.prefix
    client_id = people["client"].id
    spy = open_stream("outsider@example.test", f"/stream?channel={prefix}user.{client_id}")
    spy2 = open_stream("outsider@example.test", f"/stream?channel=user.{client_id}")
    victim = open_stream("client@example.test")
    post(app, room, people["staff"].id, "Confidential")

    assert of_type(victim.read_until(lambda ev: of_type(ev, "message")), "message")
    for stream in (spy, spy2):
        events = stream.read_until(lambda ev: False, timeout=2)
        assert not of_type(events, "message") and not of_type(events, "unread")


def test_removed_participant_gets_access_event_and_no_more_messages(app, people, room, open_stream):
    stream = open_stream("client@example.test")
    with app.app_context():
        staff = db.session.get(User, people["staff"].id)
        set_participants(db.session.get(Room, room), staff, [staff.id])
    events = stream.read_until(lambda ev: of_type(ev, "access"))
    assert of_type(events, "access") == [{"room_id": room}]

    post(app, room, people["staff"].id, "After the removal")
    events = stream.read_until(lambda ev: of_type(ev, "message"), timeout=2)
    assert not of_type(events, "message") and not of_type(events, "unread")
    assert not stream.closed, "the client is still active: only that room's events stop"


def test_staff_keeping_all_rooms_access_gets_no_access_event(app, people, room, open_stream):
    with app.app_context():
        staff = db.session.get(User, people["staff"].id)
        set_participants(db.session.get(Room, room), staff, [staff.id, people["staff_all"].id])
    stream = open_stream("staff_all@example.test")
    with app.app_context():
        staff = db.session.get(User, people["staff"].id)
        set_participants(db.session.get(Room, room), staff, [staff.id])
    post(app, room, people["staff"].id, "Still visible to all-rooms staff")
    events = stream.read_until(lambda ev: of_type(ev, "message"))
    assert of_type(events, "message") and not of_type(events, "access")


def test_deactivated_users_stream_ends_at_once(app, people, open_stream, monkeypatch):
    monkeypatch.setitem(app.config, "SSE_HEARTBEAT_SECONDS", 30)
    stream = open_stream("client@example.test")
    started = time.monotonic()
    with app.app_context():
        admin = db.session.get(User, people["admin"].id)
        user = db.session.get(User, people["client"].id)
        update_user(
            user, admin, name=user.name, is_admin=False, access_all_rooms=False, active=False
        )
    events = stream.read_until(lambda ev: False, timeout=10)
    assert stream.closed and time.monotonic() - started < 10
    assert of_type(events, "access") == [{"room_id": None}]


def test_heartbeats_query_nothing(app, people, open_stream):
    """The heartbeat only proves the connection: revocations come as events."""
    from sqlalchemy import event

    stream = open_stream("client@example.test")
    statements = []

    def count(*args):
        statements.append(args[2])

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        events = stream.read_until(lambda ev: of_type(ev, "comment").count("heartbeat") >= 3)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert of_type(events, "comment").count("heartbeat") >= 3 and not stream.closed
    assert statements == []


def test_logging_out_ends_the_stream(app, people, heartbeat):
    client = app.test_client()
    client.login("client@example.test")
    stream = ClientStream(client)
    try:
        stream.connected()
        client.logout()
        stream.read_until(lambda ev: False, timeout=5)
        assert stream.closed
    finally:
        stream.close()


def test_closed_streams_are_forgotten(app, people, open_stream):
    hub = app.extensions["live"].hub
    before = hub.count()
    streams = [open_stream("client@example.test") for _ in range(3)]
    assert hub.count() == before + 3
    for stream in streams:
        stream.close()
    assert hub.count() == before


def test_rename_archive_and_being_added_announce_the_room(app, people, room, open_stream):
    from portal.messaging.rooms import archive_room, rename_room

    client_stream = open_stream("client@example.test")
    admin_stream = open_stream("admin@example.test")
    with app.app_context():
        rename_room(db.session.get(Room, room), "Tax return 2025 (final)")
        staff = db.session.get(User, people["staff"].id)
        set_participants(
            db.session.get(Room, room), staff, [people["client"].id, people["admin"].id]
        )
        archive_room(db.session.get(Room, room))

    def room_events(events):
        return [e for e in of_type(events, "room") if e["room_id"] == room]

    events = client_stream.read_until(lambda ev: len(room_events(ev)) >= 2)
    assert [(e["title"], e["archived"]) for e in room_events(events)] == [
        ("Tax return 2025 (final)", False),
        ("Tax return 2025 (final)", True),
    ]
    added = admin_stream.read_until(lambda ev: len(room_events(ev)) >= 2)
    assert [(e["title"], e["archived"]) for e in room_events(added)] == [
        ("Tax return 2025 (final)", False),  # added to the room
        ("Tax return 2025 (final)", True),  # then archived, as a viewer
    ]
