"""A real gunicorn: `Server` doesn't name it, and access logs never carry link tokens."""

import urllib.error
import urllib.request

import pytest

from portal.runtime.gunicorn_hardening import redact
from tests.e2e.live_fixtures import GunicornServer

TOKEN = "Zq3-secret_Token-value-0123456789abcdefghijk"


@pytest.mark.parametrize(
    "line",
    [
        f"GET /invite/{TOKEN} HTTP/1.1",
        f"POST /password/reset/{TOKEN}?x=1 HTTP/1.1",
        f"http://portal.test/unsubscribe/{TOKEN}",
        f"/unsubscribe/{TOKEN}/",
    ],
)
def test_tokens_are_redacted(line):
    assert TOKEN not in redact(line)
    assert "[redacted]" in redact(line)


def test_other_paths_are_logged_as_they_are():
    assert redact("GET /app/rooms/12?after=3 HTTP/1.1") == "GET /app/rooms/12?after=3 HTTP/1.1"


def fetch(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.headers


@pytest.mark.slow
def test_real_gunicorn_hides_its_name_and_the_tokens(server_env, tmp_path, app):
    log = tmp_path / "gunicorn.log"
    env = {**server_env, "GUNICORN_CMD_ARGS": "--access-logfile -"}
    server = GunicornServer(env, log_path=log).start()
    try:
        status, headers = fetch(f"{server.url}/login")
        assert status == 200
        assert headers["Server"] == "Portal"
        for path in (f"/invite/{TOKEN}", f"/password/reset/{TOKEN}", f"/unsubscribe/{TOKEN}"):
            fetch(server.url + path)
        fetch(f"{server.url}/healthz?done=1")
    finally:
        server.stop()
    text = log.read_text()
    assert "/healthz?done=1" in text  # the access log was written
    assert "/invite/[redacted]" in text and "/unsubscribe/[redacted]" in text
    assert TOKEN not in text
    assert "gunicorn/" not in "".join(headers.values())


def test_a_gevent_worker_gives_other_connections_a_turn_after_each_request():
    """Between two requests on one keep-alive connection the worker yields once, so a
    greenlet that is ready (another connection's request) runs before the next request."""
    import gevent
    from gunicorn.workers.ggevent import GeventWorker

    from portal.runtime import gunicorn_conf

    ran = []
    other = gevent.spawn(ran.append, "other connection")
    gunicorn_conf.post_request(GeventWorker.__new__(GeventWorker), None, {}, None)
    assert ran == ["other connection"]
    other.join()


def test_a_connection_waiting_on_its_socket_gets_a_turn_while_others_stay_busy():
    """The turn lets the loop poll its sockets: a greenlet whose socket became readable
    (a new connection, a database answer) runs within a round, even while another
    connection is served request after request. (With `sleep(0)` gevent runs queued
    callbacks back to back and polls only every 50: the busy one went 50 times first.)"""
    import socket

    import gevent
    from gevent import socket as gsocket
    from gunicorn.workers.ggevent import GeventWorker

    from portal.runtime import gunicorn_conf

    worker = GeventWorker.__new__(GeventWorker)
    ours, theirs = socket.socketpair()
    waiting = gsocket.socket(fileno=ours.detach())
    received = []
    reader = gevent.spawn(lambda: received.append(waiting.recv(16)))
    gevent.sleep(0)  # the reader now waits on its socket (an I/O watcher)
    theirs.sendall(b"next request")
    served = 0

    def busy_connection():
        nonlocal served
        while not received and served < 200:
            served += 1
            gunicorn_conf.post_request(worker, None, {}, None)

    gevent.spawn(busy_connection).join()
    reader.join()
    assert received == [b"next request"]
    assert served <= 3
    waiting.close()
    theirs.close()


def test_other_workers_are_left_alone():
    import gevent

    from portal.runtime import gunicorn_conf

    ran = []
    other = gevent.spawn(ran.append, "other")
    gunicorn_conf.post_request(object(), None, {}, None)
    assert ran == []
    other.join()
    assert ran == ["other"]


def test_a_new_worker_compiles_every_template_before_its_first_connection(app_config):
    """gunicorn's post_worker_init: every template is compiled into the app's Jinja cache,
    and nothing reaches the database or Redis (no statement, no key)."""
    from types import SimpleNamespace

    import redis
    from sqlalchemy import event

    from portal import create_app
    from portal.extensions import db
    from portal.runtime import gunicorn_conf

    app = create_app(app_config)
    env = app.jinja_env
    names = env.list_templates()
    assert "rooms/_sent.html" in names and "email/mention.txt" in names
    assert len(env.cache) == 0
    store = redis.Redis.from_url(app.config["REDIS_URL"])
    keys_before = store.dbsize()
    statements = []
    with app.app_context():
        engine = db.engine

    def record(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        gunicorn_conf.post_worker_init(SimpleNamespace(wsgi=app))
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert len(env.cache) == len(names)
    assert statements == []
    assert store.dbsize() == keys_before
