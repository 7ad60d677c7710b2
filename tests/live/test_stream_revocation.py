"""Ended sessions end their streams at once, by event (no heartbeat needed); stream caps."""

import pytest

from portal.extensions import db
from portal.messaging.rooms import create_room
from portal.models import User
from portal.people import links
from portal.people.passwords import set_password_by_link
from tests.conftest import PASSWORD
from tests.live.test_stream import post
from tests.sse import ClientStream, of_type

NEW_PASSWORD = "a brand new password 7"


@pytest.fixture
def slow_heartbeat(app, monkeypatch):
    """No heartbeat within any read below: whatever ends or feeds a stream is an event."""
    monkeypatch.setitem(app.config, "SSE_HEARTBEAT_SECONDS", 120)


@pytest.fixture
def room(app, people):
    with app.app_context():
        staff = db.session.get(User, people["staff"].id)
        return create_room(staff, "Year end", [people["client"].id]).id


@pytest.fixture
def sessions(app, slow_heartbeat):
    """Logged-in test clients with an open stream each; closed at teardown."""
    opened = []

    def open_(email):
        client = app.test_client()
        client.login(email)
        stream = ClientStream(client)
        assert ("comment", "connected") in stream.connected()
        opened.append(stream)
        return client, stream

    yield open_
    for stream in opened:
        stream.close()


def ended(stream):
    """The stream closed (a test-client read waits for the next event or heartbeat)."""
    events = stream.read_until(lambda ev: False, timeout=5)
    assert "heartbeat" not in of_type(events, "comment")
    return stream.closed


def still_open(app, stream, room, author_id):
    """A message posted now reaches the stream, which never saw a `revoked` event."""
    message_id = post(app, room, author_id, "Still there?")
    events = stream.read_until(
        lambda ev: message_id in [m["message_id"] for m in of_type(ev, "message")]
    )
    assert not of_type(events, "revoked"), "revocations are never forwarded to browsers"
    return message_id in [m["message_id"] for m in of_type(events, "message")]


def test_logout_ends_that_sessions_stream_only(app, people, room, sessions):
    tab, stream = sessions("client@example.test")
    _, other_browser = sessions("client@example.test")
    assert tab.logout().status_code == 302
    assert ended(stream)
    assert still_open(app, other_browser, room, people["staff"].id)


def test_password_change_ends_the_other_sessions_streams(app, people, room, sessions):
    here, this_stream = sessions("client@example.test")
    _, elsewhere = sessions("client@example.test")
    _, someone_else = sessions("staff@example.test")
    response = here.form_post(
        "/password/change",
        {"current": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert response.status_code in (200, 302)
    assert ended(elsewhere)
    assert still_open(app, this_stream, room, people["staff"].id)
    assert still_open(app, someone_else, room, people["staff"].id)


def test_password_reset_ends_every_stream_of_the_user(app, people, sessions):
    _, first = sessions("client@example.test")
    _, second = sessions("client@example.test")
    with app.app_context():
        user = db.session.get(User, people["client"].id)
        token = links.issue_link(user, links.RESET, 3600)
        db.session.commit()
        set_password_by_link(links.find_link(token, links.RESET), NEW_PASSWORD, NEW_PASSWORD)
    assert ended(first) and ended(second)


def test_a_revocation_rolled_back_ends_nothing(app, people, room, sessions):
    from portal.people.sessions import revoke_sessions

    _, stream = sessions("client@example.test")
    with app.app_context():
        revoke_sessions(db.session.get(User, people["client"].id))
        db.session.rollback()
        db.session.commit()
    assert still_open(app, stream, room, people["staff"].id)


def test_streams_per_user_are_capped_oldest_first(app, people, room, sessions, monkeypatch):
    monkeypatch.setitem(app.config, "SSE_MAX_STREAMS_PER_USER", 2)
    hub = app.extensions["live"].hub
    _, oldest = sessions("client@example.test")
    _, middle = sessions("client@example.test")
    _, other_user = sessions("staff@example.test")
    _, newest = sessions("client@example.test")
    assert ended(oldest)
    for stream in (middle, newest, other_user):
        assert still_open(app, stream, room, people["staff"].id)
    with hub._lock:
        assert len(hub._streams[people["client"].id]) == 2
