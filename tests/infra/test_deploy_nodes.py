"""Two independent web nodes behind nginx (deploy/nginx), one worker and rq cron, on
PostgreSQL and a Redis server: what a multi-host deployment relies on, end to end."""

import http.client
import http.cookiejar
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest

from portal.extensions import db
from portal.messaging.rooms import create_room
from portal.models import User
from tests.conftest import PASSWORD
from tests.e2e.live_fixtures import CSRF_FIELD, CSRF_META, GunicornServer, RawStream
from tests.helpers import free_port, wait_for_http
from tests.sse import of_type

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith("postgres"),
        reason="the multi-node deployment runs on PostgreSQL (set DATABASE_URL)",
    ),
    pytest.mark.skipif(not shutil.which("nginx", path="/usr/sbin:/usr/bin"), reason="no nginx"),
]

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEPLOY = os.path.join(ROOT, "deploy", "nginx")
BIN = os.path.dirname(sys.executable)
MESSAGE_ID = re.compile(r'data-message-id="(\d+)"')


class RedisServer:
    """A redis-server of our own on a free port, so the test can restart it."""

    def __init__(self, folder):
        self.port = free_port()
        self.folder = folder
        self.process = None

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while (
            subprocess.run(
                ["redis-cli", "-p", str(self.port), "ping"], capture_output=True
            ).stdout.strip()
            != b"PONG"
        ):
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.1)

    def stop(self):
        self.process.terminate()
        self.process.wait(10)


class Nginx:
    """nginx with the deploy/ site config, its upstream pointed at the test's nodes."""

    def __init__(self, folder, node_ports):
        self.port = free_port()
        self.folder = folder
        site = Path(os.path.join(DEPLOY, "portal.conf")).read_text()
        site = site.replace("127.0.0.1:8001", f"127.0.0.1:{node_ports[0]}")
        site = site.replace("127.0.0.1:8002", f"127.0.0.1:{node_ports[1]}")
        # The HTTPS site served as plain HTTP/1.1 here (TLS and HTTP/2 of the same file are
        # checked in test_nginx_http2.py); the port-80 redirect server is left out.
        site = site.split("# Plain HTTP only redirects")[0]
        site = site.replace("listen 443 ssl http2;", f"listen 127.0.0.1:{self.port};")
        site = site.replace("    listen [::]:443 ssl http2;\n", "")
        site = site.replace("    include portal-tls.conf;\n", "")
        shutil.copy(os.path.join(DEPLOY, "portal-locations.conf"), folder)
        (folder / "portal.conf").write_text(site)
        temp = folder / "temp"
        temp.mkdir()
        user = "user root root;" if os.geteuid() == 0 else ""
        (folder / "nginx.conf").write_text(
            f"""{user}
worker_processes 1;
daemon off;
pid {folder}/nginx.pid;
error_log {folder}/error.log info;
events {{ worker_connections 1024; }}
http {{
    access_log {folder}/access.log;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    # Test only: say which node answered.
    add_header X-Upstream $upstream_addr always;
    include portal.conf;
}}
"""
        )
        self.process = None

    def command(self, *extra):
        return ["nginx", "-p", str(self.folder), "-c", str(self.folder / "nginx.conf"), *extra]

    def check(self):
        return subprocess.run(self.command("-t"), capture_output=True, text=True)

    def start(self):
        self.process = subprocess.Popen(self.command(), stderr=subprocess.DEVNULL)
        wait_for_http(f"{self.url}/healthz", timeout=20, process=self.process)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def stop(self):
        self.process.terminate()
        self.process.wait(10)


class Browser:
    """Cookies and the CSRF token of one logged-in person, talking HTTP to one URL."""

    def __init__(self, base_url, email=None, password=PASSWORD):
        self.base_url = base_url
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.csrf = None
        if email:
            response = self.login(email, password)
            self.csrf = CSRF_META.search(response.read().decode()).group(1)

    def login(self, email, password):
        page = self.opener.open(f"{self.base_url}/login", timeout=10).read().decode()
        token = CSRF_FIELD.search(page).group(1)
        return self.post("/login", {"email": email, "password": password, "csrf_token": token})

    def post(self, path, data):
        body = urllib.parse.urlencode(data).encode()
        try:
            return self.opener.open(f"{self.base_url}{path}", data=body, timeout=15)
        except urllib.error.HTTPError as error:
            return error

    def cookie(self):
        return "; ".join(f"{c.name}={c.value}" for c in self.jar)

    def raw(self, method, path, body=b"", headers=None):
        """One request without following redirects: (status, headers, body)."""
        host, port = urllib.parse.urlsplit(self.base_url).netloc.split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=15)
        conn.request(method, path, body, {"Cookie": self.cookie(), **(headers or {})})
        response = conn.getresponse()
        result = response.status, dict(response.getheaders()), response.read()
        conn.close()
        return result

    def send(self, room, text):
        """POST a message through nginx: (status, the node that took it)."""
        body = urllib.parse.urlencode({"body": text, "csrf_token": self.csrf}).encode()
        status, headers, _ = self.raw(
            "POST",
            f"/app/rooms/{room}/messages",
            body,
            {"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert status == 200 or f"/app/rooms/{room}" in headers.get("Location", ""), status
        return status, headers.get("X-Upstream")

    def upload(self, room, name, content):
        boundary = uuid.uuid4().hex
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
            f"{self.csrf}\r\n".encode(),
            f'--{boundary}\r\nContent-Disposition: form-data; name="body"\r\n\r\n'
            "report\r\n".encode(),
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n".encode()
            + content
            + b"\r\n",
            f"--{boundary}--\r\n".encode(),
        ]
        status, headers, _ = self.raw(
            "POST",
            f"/app/rooms/{room}/messages",
            b"".join(parts),
            {"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
        assert status == 200 or f"/app/rooms/{room}" in headers.get("Location", ""), status
        return status, headers.get("X-Upstream")


@pytest.fixture(scope="module")
def stack(server_env, tmp_path_factory):
    """Redis, two web nodes (own instance folders, shared uploads), worker, cron, nginx."""
    root = tmp_path_factory.mktemp("deploy")
    redis = RedisServer(root)
    redis.start()
    uploads = root / "uploads"
    env = {
        **server_env,
        "REDIS_URL": redis.url,
        "UPLOAD_DIR": str(uploads),
        "TRUSTED_PROXIES": "1",
        "SSE_HEARTBEAT_SECONDS": "1",
        "LOGIN_FAILURE_LIMIT": "4 per 5 minutes",
        "CLIENT_NOTIFY_DELAY_SECONDS": "1",
        "REMINDER_INTERVAL_SECONDS": "3600",
    }
    nodes = [
        GunicornServer(
            env,
            log_path=root / f"node-{name}.log",
            PORTAL_INSTANCE_PATH=str(root / f"instance-{name}"),
        )
        for name in ("a", "b")
    ]
    worker_instance = root / "instance-worker"
    jobs_env = {**env, "PORTAL_INSTANCE_PATH": str(worker_instance)}
    jobs = []
    proxy = None
    try:
        for node in nodes:
            node.start()
        queue = env["RQ_QUEUE"]
        for command in (
            ["rq", "worker", "--with-scheduler", "--worker-class", "jobs.worker.Worker",
             "--url", redis.url, queue],
            ["rq", "cron", "--url", redis.url, "jobs.cron"],
        ):  # fmt: skip
            log = open(root / f"{command[1]}.log", "wb")  # noqa: SIM115
            command[0] = os.path.join(BIN, command[0])
            jobs.append(subprocess.Popen(command, cwd=ROOT, env=jobs_env, stdout=log, stderr=log))
        proxy = Nginx(root, [node.port for node in nodes])
        checked = proxy.check()
        assert checked.returncode == 0, checked.stderr
        proxy.start()
        yield {
            "nginx": proxy,
            "nodes": nodes,
            "redis": redis,
            "outbox": worker_instance / "outbox",
            "root": root,
        }
    finally:
        if proxy is not None and proxy.process is not None:
            proxy.stop()
        for process in jobs:
            process.terminate()
            process.wait(15)
        for node in nodes:
            node.stop()
        if redis.process.poll() is None:
            redis.stop()


@pytest.fixture
def room(app, people):
    with app.app_context():
        staff = db.session.get(User, people["staff"].id)
        return create_room(staff, "Multi-node", [people["client"].id]).id


def node_of(stack, upstream):
    """Which node ('a' or 'b') an X-Upstream value names."""
    ports = {str(node.port): name for node, name in zip(stack["nodes"], "ab", strict=True)}
    return ports[upstream.rsplit(":", 1)[1]]


def stream_through(stack, cookie, query=""):
    stream = RawStream(stack["nginx"].url, cookie, query=query)
    assert stream.status == 200
    assert ("comment", "connected") in stream.read_until(lambda ev: ev, timeout=10)
    return stream, node_of(stack, stream.headers["x-upstream"])


def send_via_other_node(stack, staff, room, text, avoid):
    """Post through nginx until the round robin hands the post to the node not `avoid`."""
    for attempt in range(6):
        status, upstream = staff.send(room, f"{text} ({attempt})")
        assert status in (200, 302, 303), status
        if node_of(stack, upstream) != avoid:
            return f"{text} ({attempt})"
    raise AssertionError("nginx never used the other node")


def catch_up(browser, room, after, side="app"):
    status, _, body = browser.raw("GET", f"/{side}/rooms/{room}/messages?after={after}")
    assert status == 200
    return body.decode()


def test_nginx_accepts_the_deploy_config(stack):
    assert stack["nginx"].check().returncode == 0


def test_stream_on_one_node_gets_a_message_posted_on_the_other(stack, room, people):
    client = Browser(stack["nginx"].url, "client@example.test")
    stream, node = stream_through(stack, client.cookie())
    try:
        staff = Browser(stack["nginx"].url, "staff@example.test")
        text = send_via_other_node(stack, staff, room, "Posted on the other node", avoid=node)
        events = stream.read_until(
            lambda ev: any(text in m["html"] for m in of_type(ev, "message")), timeout=15
        )
        assert any(m["room_id"] == room and text in m["html"] for m in of_type(events, "message"))
    finally:
        stream.close()


def test_file_uploaded_on_one_node_downloads_from_the_other(stack, room, people):
    staff = Browser(stack["nginx"].url, "staff@example.test")
    content = os.urandom(4096)
    status, upstream = staff.upload(room, "ledger.bin", content)
    assert status in (200, 302, 303)
    uploaded_on = node_of(stack, upstream)
    page = catch_up(staff, room, 0)
    (href,) = set(re.findall(r'href="(/files/\d+/ledger\.bin)"', page))
    for _ in range(6):
        status, headers, body = staff.raw("GET", href)
        if node_of(stack, headers["X-Upstream"]) != uploaded_on:
            assert status == 200 and body == content
            return
    raise AssertionError("nginx never used the other node for the download")


def test_login_limits_count_across_nodes(stack, people):
    anyone = Browser(stack["nginx"].url)
    nodes, statuses = set(), []
    for attempt in range(6):
        if attempt % 2:
            anyone.raw("GET", "/healthz")  # shift the round robin: the next POST changes node
        response = anyone.login("admin@example.test", "wrong password")
        statuses.append(response.status)
        nodes.add(node_of(stack, response.headers["X-Upstream"]))
    assert nodes == {"a", "b"}, "the attempts should have been spread over both nodes"
    assert 429 not in statuses[:4]
    assert statuses[4:] == [429, 429]


def test_worker_behind_the_nodes_sends_the_client_email(stack, room, people):
    staff = Browser(stack["nginx"].url, "staff@example.test")
    status, _ = staff.send(room, "Please sign the contract")
    assert status in (200, 302, 303)
    deadline = time.monotonic() + 30
    while not (stack["outbox"].is_dir() and any(stack["outbox"].iterdir())):
        assert time.monotonic() < deadline, "the worker sent no client email"
        time.sleep(0.5)
    (email,) = [p.read_text() for p in stack["outbox"].iterdir()]
    assert "client@example.test" in email


def test_redis_restart_loses_no_message(stack, room, people):
    client = Browser(stack["nginx"].url, "client@example.test")
    staff = Browser(stack["nginx"].url, "staff@example.test")
    staff.send(room, "Before the restart")
    last = max(map(int, MESSAGE_ID.findall(catch_up(client, room, 0, "portal"))))
    stream, _ = stream_through(stack, client.cookie())
    redis = stack["redis"]
    try:
        redis.stop()
        status, _ = staff.send(room, "While Redis is down")
        assert status in (200, 302, 303), "a send must succeed without Redis"
        redis.start()
    finally:
        stream.close()
    stream, _ = stream_through(stack, client.cookie(), query=f"?after={last}")
    stream.close()
    assert "While Redis is down" in catch_up(client, room, last, "portal")
    status, _ = staff.send(room, "After the restart")
    assert status in (200, 302, 303)


def test_killing_a_node_mid_stream_the_reconnect_lands_on_the_other(stack, room, people):
    client = Browser(stack["nginx"].url, "client@example.test")
    staff = Browser(stack["nginx"].url, "staff@example.test")
    staff.send(room, "Seen before the crash")
    last = max(map(int, MESSAGE_ID.findall(catch_up(client, room, 0, "portal"))))
    stream, node = stream_through(stack, client.cookie())
    victim = stack["nodes"]["ab".index(node)]
    os.killpg(victim.process.pid, signal.SIGKILL)
    victim.process.wait(10)
    stream.read_until(lambda ev: False, timeout=5)
    assert stream.closed, "the stream should end when its node dies"
    stream.close()

    status, upstream = staff.send(room, "Sent while a node is down")
    assert status in (200, 302, 303) and node_of(stack, upstream) != node
    again, survivor = stream_through(stack, client.cookie(), query=f"?after={last}")
    again.close()
    assert survivor != node
    assert "Sent while a node is down" in catch_up(client, room, last, "portal")
    victim.start()
