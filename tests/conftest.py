"""Fixtures: a real Redis and database for the session, a clean slate per test, named people."""

import functools
import os
import re
import shutil
import tempfile

import pytest
import redis as redis_lib
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import MetaData
from werkzeug.security import generate_password_hash

from portal import create_app
from portal.config import database_uri
from portal.extensions import db
from portal.messaging.rooms import create_room
from portal.models import User
from portal.people.users import create_user
from portal.runtime import embedded_redis
from tests.sse import ClientStream

PASSWORD = "correct horse battery"
CSRF_RE = re.compile(r'name="csrf-token" content="([^"]+)"')


@pytest.fixture(scope="session")
def tmp_root():
    path = tempfile.mkdtemp(prefix="portal-tests-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_url(tmp_root):
    """The Redis in REDIS_URL, else an embedded one for this test session."""
    url = os.environ.get("REDIS_URL")
    if url:
        yield url
        return
    socket = os.path.join(tmp_root, "redis.sock")
    process = embedded_redis.start(socket, tmp_root)
    yield f"unix://{socket}"
    process.terminate()
    process.wait(10)


@pytest.fixture(scope="session")
def database_url(tmp_root):
    return database_uri(os.environ.get("DATABASE_URL") or f"sqlite:///{tmp_root}/test.sqlite3")


@pytest.fixture(scope="session")
def app_config(tmp_root, redis_url, database_url):
    """Settings shared by the in-process app and the server processes tests start."""
    return {
        "TESTING": True,
        "INSTANCE_PATH": os.path.join(tmp_root, "instance"),
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": redis_url,
        "RATELIMIT_STORAGE_URI": redis_url.replace("unix://", "redis+unix://", 1),
        "UPLOAD_DIR": os.path.join(tmp_root, "instance", "uploads"),
        "MAIL_SERVER": None,
        "MAIL_OUTBOX_DIR": os.path.join(tmp_root, "instance", "outbox"),
        "PORTAL_BASE_URL": "http://portal.test",
        "RQ_QUEUE": "portal-test",
        # Test replies are unsigned: post them on the address alone, as before sender checks;
        # tests/notify/test_reply_authentication.py switches holding back on.
        "INBOUND_UNCONFIRMED": "post",
    }


@pytest.fixture(scope="session")
def server_env(app_config):
    """Environment for processes the tests start (gunicorn, rq): the same settings."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MAIL_", "CLIENT_NOTIFY", "REMINDER_", "PORTAL_", "UPLOAD_"))
    }
    env.update(
        PORTAL_INSTANCE_PATH=app_config["INSTANCE_PATH"],
        SECRET_KEY=app_config["SECRET_KEY"],
        DATABASE_URL=app_config["SQLALCHEMY_DATABASE_URI"],
        REDIS_URL=app_config["REDIS_URL"],
        PORTAL_BASE_URL=app_config["PORTAL_BASE_URL"],
        RQ_QUEUE=app_config["RQ_QUEUE"],
        INBOUND_UNCONFIRMED=app_config["INBOUND_UNCONFIRMED"],
    )
    return env


@pytest.fixture(scope="session")
def app(app_config):
    app = create_app(app_config)
    app.test_client_class = PortalClient
    with app.app_context():
        _reset_schema()
        upgrade()
    return app


def _reset_schema():
    """Start from an empty database, so the migrations themselves are what's tested."""
    existing = MetaData()
    existing.reflect(db.engine)
    existing.drop_all(db.engine)


@pytest.fixture(autouse=True)
def _clean_slate(request, app):
    """Every test starts with empty tables, an empty Redis database and an empty outbox
    (and no cached copy of the settings table)."""
    from portal.infra import settings
    from portal.notify.push_subscriptions import forget_anyone

    settings.forget()
    forget_anyone()
    yield
    settings.forget()
    forget_anyone()
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            for table in reversed(db.Model.metadata.sorted_tables):
                conn.execute(table.delete())
    redis_lib.Redis.from_url(app.config["REDIS_URL"]).flushdb()
    shutil.rmtree(app.config["MAIL_OUTBOX_DIR"], ignore_errors=True)
    shutil.rmtree(app.config["UPLOAD_DIR"], ignore_errors=True)


@pytest.fixture(autouse=True)
def _push_request_context():
    """Replace pytest-flask's: a request context held open for the whole test shares
    `g` with every test-client request (Flask-WTF caches its CSRF token in `g`)."""
    yield


@pytest.fixture
def client(app):
    """Replaces pytest-flask's, whose `with client:` keeps each request's context (and
    `g`) pushed until the next request — leaking into other clients' requests."""
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def app_ctx(app):
    with app.app_context():
        yield


class PortalClient(FlaskClient):
    """A test client that can log in and send the CSRF token like the real forms."""

    def csrf_token(self):
        page = self.get("/", follow_redirects=True)
        match = CSRF_RE.search(page.get_data(as_text=True))
        assert match, "no csrf token on the page"
        return match.group(1)

    def form_post(self, url, data=None, **kwargs):
        """POST a form with a valid CSRF token, as a browser would."""
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf_token())
        return self.post(url, data=data, **kwargs)

    def login(self, email, password=PASSWORD):
        return self.form_post("/login", {"email": email, "password": password})

    def logout(self):
        return self.form_post("/logout")


@functools.cache
def _hash(password):
    return generate_password_hash(password)


def detached(obj):
    """Load every column and detach, so tests can read it outside an app context."""
    db.session.refresh(obj)
    db.session.expunge(obj)
    return obj


@pytest.fixture
def make_user(app):
    """Create a user: `make_user("staff", kind="internal", ...)` → staff@example.test.

    Runs in its own app context: a context left open across test-client requests
    would share `g` between them (and with it Flask-WTF's cached CSRF token).
    """

    def make(handle, kind="internal", password=PASSWORD, **flags):
        active = flags.pop("active", True)
        with app.app_context():
            user = create_user(f"{handle}@example.test", handle.title(), kind, **flags)
            if password:
                # Hashing is deliberately slow; hash each test password once per session.
                user.password_hash = _hash(password)
                user.activated_at = user.invited_at
            user.active = active
            db.session.commit()
            return detached(user)

    return make


@pytest.fixture
def people(make_user):
    """The named personas of the test suite."""
    return {
        "admin": make_user("admin", is_admin=True),
        "staff": make_user("staff"),
        "staff_all": make_user("staff_all", access_all_rooms=True),
        "client": make_user("client", kind="client"),
        "outsider": make_user("outsider", kind="client"),
        "invited": make_user("invited", kind="client", password=None),
        "deactivated": make_user("deactivated", active=False),
    }


@pytest.fixture
def make_room(app, people):
    """Create a room: `make_room("Title", creator="staff", members=("client",))` → its id."""

    def make(title="Tax return 2025", creator="staff", members=("client",)):
        with app.app_context():
            owner = db.session.get(User, people[creator].id)
            return create_room(owner, title, [people[m].id for m in members]).id

    return make


@pytest.fixture
def room(make_room):
    """A room created by staff with the client in it (its id)."""
    return make_room()


@pytest.fixture
def heartbeat(app, monkeypatch):
    monkeypatch.setitem(app.config, "SSE_HEARTBEAT_SECONDS", 1)
    return 1


@pytest.fixture
def open_stream(app, heartbeat):
    """Log in as a persona and open their stream (connected); closed at teardown."""
    opened = []

    def open_(email, path="/stream"):
        client = app.test_client()
        client.login(email)
        stream = ClientStream(client, path)
        opened.append(stream)
        assert ("comment", "connected") in stream.connected()
        return stream

    yield open_
    for stream in opened:
        stream.close()


class Outbox:
    """The emails the app wrote as .eml files (no MAIL_SERVER in tests), oldest first."""

    def __init__(self, folder):
        self.folder = folder

    def messages(self, to=None):
        import email
        from email import policy

        if not os.path.isdir(self.folder):
            return []
        paths = sorted(
            (os.path.join(self.folder, name) for name in os.listdir(self.folder)),
            key=lambda path: os.stat(path).st_mtime_ns,
        )
        found = []
        for path in paths:
            with open(path, "rb") as f:
                message = email.message_from_binary_file(f, policy=policy.default)
            if to is None or to.lower() in message["To"].lower():
                found.append(message)
        return found

    def link(self, to, prefix):
        """The last link starting with `prefix` (e.g. "http://portal.test/invite/") sent to `to`."""
        messages = self.messages(to)
        assert messages, f"no email to {to}"
        text = messages[-1].get_body(preferencelist=("plain",)).get_content()
        links = re.findall(re.escape(prefix) + r"[A-Za-z0-9_\-]+", text)
        assert links, f"no {prefix} link in the last email to {to}"
        return links[-1]


@pytest.fixture
def outbox(app):
    return Outbox(app.config["MAIL_OUTBOX_DIR"])


class SmtpSink:
    """An aiosmtpd handler that keeps what it receives; `hold` can stall one message."""

    def __init__(self):
        import threading

        self.received = []  # (arrival time, envelope, parsed message)
        self.hold = None  # predicate: stall the first message it matches, then refuse it
        self.held = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        import asyncio
        import email
        import time
        from email import policy

        message = email.message_from_bytes(envelope.content, policy=policy.default)
        if self.hold is not None and self.hold(message):
            self.hold = None
            self.held.set()
            while not self.release.is_set():
                await asyncio.sleep(0.05)
            return "451 4.3.0 Try again later"
        self.received.append((time.time(), envelope, message))
        return "250 OK"

    def messages(self, kind=None):
        return [
            m for _t, _e, m in self.received if kind is None or m["X-Portal-Notification"] == kind
        ]


@pytest.fixture
def smtp_server():
    """A real SMTP server on a free port: `.port`, `.sink.received`."""
    from aiosmtpd.controller import Controller

    from tests.helpers import free_port

    sink = SmtpSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    controller.sink = sink
    yield controller
    sink.release.set()
    controller.stop()
