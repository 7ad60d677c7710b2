"""Redis down: sending still works (the database is the truth); streams come back after."""

import logging

import pytest
from sqlalchemy import select

from portal import create_app
from portal.extensions import db
from portal.models import Message
from portal.runtime import embedded_redis
from tests.sse import ClientStream, of_type


@pytest.fixture
def dedicated_redis(tmp_path):
    """A Redis of our own, so the test can stop and restart it."""
    socket_path = str(tmp_path / "redis.sock")
    server = {"process": embedded_redis.start(socket_path, str(tmp_path))}

    def restart():
        server["process"] = embedded_redis.start(socket_path, str(tmp_path))

    yield f"unix://{socket_path}", server, restart
    server["process"].terminate()
    server["process"].wait(10)


@pytest.fixture
def down_app(app, app_config, dedicated_redis):
    url = dedicated_redis[0]
    # Only live events and jobs use the dedicated Redis: Flask-Limiter keeps one storage
    # for every app, so pointing it at a Redis we kill would unthrottle the whole session.
    other = create_app({**app_config, "REDIS_URL": url, "SSE_HEARTBEAT_SECONDS": 1})
    other.test_client_class = app.test_client_class
    yield other
    other.extensions["live"].hub.stop()


def test_send_succeeds_and_is_stored_while_redis_is_down(down_app, dedicated_redis, room, caplog):
    # Alembic's fileConfig (run by the session's migrations) disables existing loggers.
    logging.getLogger("portal.live.publish").disabled = False
    _, server, _ = dedicated_redis
    staff = down_app.test_client()
    staff.login("staff@example.test")
    token = staff.csrf_token()
    server["process"].kill()
    server["process"].wait(10)

    with caplog.at_level(logging.WARNING, logger="portal.live.publish"):
        response = staff.post(
            f"/app/rooms/{room}/messages", data={"body": "Saved anyway", "csrf_token": token}
        )
    assert response.status_code == 302
    assert "publish failed" in caplog.text
    with down_app.app_context():
        stored = db.session.scalars(select(Message.body).where(Message.room_id == room)).all()
    assert stored == ["Saved anyway"]
    page = staff.get(f"/app/rooms/{room}")
    assert "Saved anyway" in page.get_data(as_text=True)


def test_streams_reconnect_once_redis_is_back(down_app, dedicated_redis, room, people):
    _, server, restart = dedicated_redis
    client = down_app.test_client()
    client.login("client@example.test")
    stream = ClientStream(client)
    stream.connected()
    server["process"].kill()
    server["process"].wait(10)
    stream.read_until(lambda ev: False, timeout=2)
    assert not stream.closed, "heartbeats go on while Redis is away"

    restart()
    # Back: the hub resubscribes and ends streams that may have missed events, so their
    # pages reconnect and catch up from the database.
    stream.read_until(lambda ev: False, timeout=20)
    assert stream.closed
    stream.close()

    again = ClientStream(client)
    try:
        again.connected()
        staff = down_app.test_client()
        staff.login("staff@example.test")
        staff.form_post(f"/app/rooms/{room}/messages", {"body": "After the outage"})
        events = again.read_until(lambda ev: of_type(ev, "message"), timeout=10)
        assert "After the outage" in of_type(events, "message")[0]["html"]
    finally:
        again.close()
