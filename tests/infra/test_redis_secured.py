"""Production Redis: an ACL user with a password, and TLS (`rediss://`), for every use the
app makes of Redis — live events, rate limits and jobs — through a real gunicorn node."""

import http.cookiejar
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
import redis as redis_lib

from portal.extensions import db
from portal.messaging.rooms import create_room
from portal.models import User
from tests.e2e.live_fixtures import CSRF_FIELD, GunicornServer, HttpSession, RawStream
from tests.helpers import free_port
from tests.sse import of_type

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not shutil.which("redis-server"), reason="no redis-server"),
]

ACL = ["--user", "default", "off", "--user", "portal", "on", ">s3cret-pass", "~*", "&*", "+@all"]


def _tls_files(folder):
    cert, key = folder / "redis.crt", folder / "redis.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture(params=["acl", "tls"])
def secured_redis(request, tmp_path):
    """A redis-server that only an ACL user with a password may use; over TLS for "tls"."""
    port = free_port()
    args = ["redis-server", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", str(tmp_path), *ACL]  # fmt: skip
    url = f"redis://portal:s3cret-pass@127.0.0.1:{port}/0"
    if request.param == "tls":
        cert, key = _tls_files(tmp_path)
        args += ["--port", "0", "--tls-port", str(port), "--tls-cert-file", str(cert),
                 "--tls-key-file", str(key), "--tls-ca-cert-file", str(cert),
                 "--tls-auth-clients", "no"]  # fmt: skip
        url = f"rediss://portal:s3cret-pass@127.0.0.1:{port}/0?ssl_ca_certs={cert}"
    else:
        args += ["--port", str(port)]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                redis_lib.Redis.from_url(url).ping()
                break
            except redis_lib.ConnectionError:
                assert time.monotonic() < deadline, "secured redis-server did not start"
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(10)


def _failed_login(base_url):
    """One wrong-password login from a fresh browser: the response status."""
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    page = opener.open(f"{base_url}/login", timeout=10).read().decode()
    form = {"email": "admin@example.test", "password": "wrong password"}
    form["csrf_token"] = CSRF_FIELD.search(page).group(1)
    try:
        return opener.open(f"{base_url}/login", urllib.parse.urlencode(form).encode()).status
    except urllib.error.HTTPError as error:
        return error.code


def test_anonymous_clients_are_refused(secured_redis):
    anonymous = secured_redis.replace("portal:s3cret-pass@", "")
    with pytest.raises(redis_lib.AuthenticationError):
        redis_lib.Redis.from_url(anonymous).ping()


def test_app_works_on_a_password_protected_and_tls_redis(
    secured_redis, server_env, app, people, tmp_path
):
    with app.app_context():
        staff = db.session.get(User, people["staff"].id)
        room = create_room(staff, "Secured", [people["client"].id]).id
    node = GunicornServer(
        {**server_env, "REDIS_URL": secured_redis, "LOGIN_FAILURE_LIMIT": "2 per 5 minutes"},
        log_path=tmp_path / "node.log",
        SSE_HEARTBEAT_SECONDS=1,
        PORTAL_INSTANCE_PATH=str(tmp_path / "instance"),
    )
    node.start()
    try:
        client = HttpSession(node.url, "client@example.test")
        stream = RawStream(node.url, client.cookie_header())
        try:
            assert ("comment", "connected") in stream.read_until(lambda ev: ev, timeout=10)
            HttpSession(node.url, "staff@example.test").send(
                f"/app/rooms/{room}/messages", "Over the secured Redis"
            )
            events = stream.read_until(lambda ev: of_type(ev, "message"), timeout=10)
            assert any("Over the secured Redis" in m["html"] for m in of_type(events, "message"))
        finally:
            stream.close()

        queued = redis_lib.Redis.from_url(secured_redis)
        # Queued after the send's commit, off the request: a busy box may take a moment.
        deadline = time.monotonic() + 15
        while not queued.keys("rq:*") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert queued.keys("rq:*"), "the client email job was not queued on the secured Redis"

        statuses = [_failed_login(node.url) for _ in range(3)]
        assert statuses == [200, 200, 429], "rate limits must count in the secured Redis"
    finally:
        node.stop()
