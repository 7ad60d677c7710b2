"""A send's own work does not grow with the room: statements, publishes, Redis round trips."""

import pytest
from redis.connection import Connection
from sqlalchemy import event, select

from portal.extensions import db
from portal.live import publish as live_publish
from portal.messaging.reading import advance_read
from portal.messaging.rooms import create_room
from portal.models import ReadState, User

STATEMENTS = []


@pytest.fixture
def staff_client(app, people):
    client = app.test_client()
    client.login("staff@example.test")
    return client


def room_of(app, people, members):
    with app.app_context():
        staff = db.session.get(User, people["staff"].id)
        return create_room(staff, f"Room of {len(members) + 1}", [m.id for m in members]).id


def send_cost(app, client, room_id, monkeypatch):
    """(SQL statements, publishes, Redis round trips) of one POST of a message."""
    statements, published, round_trips = [], [], []
    original_publish = live_publish._publish_raw
    original_send = Connection.send_packed_command

    def count_publish(items):
        published.extend(items)
        return original_publish(items)

    def count_send(self, *args, **kwargs):
        round_trips.append(1)
        return original_send(self, *args, **kwargs)

    def count_statement(*args):
        statements.append(args[2])

    token = client.csrf_token()
    monkeypatch.setattr(live_publish, "_publish_raw", count_publish)
    monkeypatch.setattr(Connection, "send_packed_command", count_send)
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count_statement)
    try:
        response = client.post(
            f"/app/rooms/{room_id}/messages",
            data={"body": "Quarterly figures attached", "csrf_token": token},
        )
    finally:
        event.remove(engine, "before_cursor_execute", count_statement)
        monkeypatch.undo()
    assert response.status_code in (200, 302, 303)
    STATEMENTS[:] = statements
    return len(statements), len(published), len(round_trips)


def test_send_cost_does_not_grow_with_the_room(app, people, make_user, staff_client, monkeypatch):
    small = room_of(app, people, [people["client"]])
    crowd = [make_user(f"colleague{i}") for i in range(15)]
    crowd += [make_user(f"customer{i}", kind="client") for i in range(15)]
    large = room_of(app, people, [people["client"], *crowd])
    # Warm up: first messages schedule the clients' emails (one job each, then pending).
    for room_id in (small, large):
        send_cost(app, staff_client, room_id, monkeypatch)

    small_cost = send_cost(app, staff_client, small, monkeypatch)
    large_cost = send_cost(app, staff_client, large, monkeypatch)
    assert small_cost == large_cost
    statements, publishes, _ = large_cost
    assert publishes == 1, "one publish on the room's channel; the hubs fan it out"
    # The session's user, the room (once: the may-post check reuses what loading it
    # found), the message INSERT, the room's activity, the author's read marker (one
    # upsert); after the response, the client-email recipients. Nothing re-read after
    # commit.
    assert statements <= 6, "\n".join(STATEMENTS)
    writes = [s for s in STATEMENTS if not s.lstrip().upper().startswith("SELECT")]
    assert len(writes) == 3, "\n".join(writes)


def test_reading_a_room_already_read_writes_nothing(app, people, staff_client):
    room_id = room_of(app, people, [people["client"]])
    staff_client.form_post(f"/app/rooms/{room_id}/messages", {"body": "Hello"})
    client = app.test_client()
    client.login("client@example.test")
    assert client.get(f"/portal/rooms/{room_id}").status_code == 200  # moves the marker
    writes = []

    def count_write(conn, cursor, statement, *args):
        if not statement.lstrip().upper().startswith("SELECT"):
            writes.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count_write)
    try:
        assert client.get(f"/portal/rooms/{room_id}").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count_write)
    assert writes == []


def test_the_read_marker_moves_in_one_upsert_and_never_back(app, people):
    with app.app_context():
        staff = db.session.get(User, people["staff"].id)
        room_id = create_room(staff, "Markers", []).id
        user_id = people["client"].id
        marker = lambda: db.session.scalar(  # noqa: E731
            select(ReadState.last_read_message_id).where(
                ReadState.user_id == user_id, ReadState.room_id == room_id
            )
        )
        assert marker() is None
        assert advance_read(user_id, room_id, 7) is True  # creates the row at 7
        assert marker() == 7
        assert advance_read(user_id, room_id, 5) is False
        assert advance_read(user_id, room_id, 7) is False
        assert marker() == 7
        assert advance_read(user_id, room_id, 9) is True
        db.session.commit()
        assert marker() == 9
