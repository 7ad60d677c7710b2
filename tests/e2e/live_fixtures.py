"""Helpers for the live-delivery tests: real gunicorn servers, HTTP logins, SSE readers."""

import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import sys
import urllib.parse
import urllib.request

from tests.conftest import PASSWORD
from tests.helpers import descendants, free_port, wait_for_http
from tests.sse import EventStream

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CSRF_FIELD = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
CSRF_META = re.compile(r'name="csrf-token" content="([^"]+)"')


class GunicornServer:
    """`gunicorn --worker-class gevent -w 1` on a port, startable and stoppable again."""

    def __init__(self, env, port=None, log_path=None, args=(), **extra_env):
        self.port = port or free_port()
        self.args = list(args)
        self.env = {**env, **{k: str(v) for k, v in extra_env.items()}}
        self.log_path = log_path
        self.process = None
        self._log = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        gunicorn = os.path.join(os.path.dirname(sys.executable), "gunicorn")
        self._log = open(self.log_path or os.devnull, "ab")  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                gunicorn,
                "--worker-class",
                "gevent",
                "--no-control-socket",
                "-w",
                "1",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--keep-alive",
                "75",
                "--graceful-timeout",
                "1",
                *self.args,
                "wsgi:app",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for_http(f"{self.url}/healthz", timeout=60, process=self.process)
        return self

    def stop(self):
        if self.process is None:
            return
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        self.process = None
        self._log.close()

    def worker_pids(self):
        return descendants(self.process.pid) if self.process else set()


class HttpSession:
    """A logged-in browser-like session over plain HTTP (cookie jar + CSRF token)."""

    def __init__(self, base_url, email, password=PASSWORD):
        self.base_url = base_url
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        page = self.opener.open(f"{base_url}/login", timeout=10).read().decode()
        token = CSRF_FIELD.search(page).group(1)
        response = self.post("/login", {"email": email, "password": password, "csrf_token": token})
        self.csrf = CSRF_META.search(response.read().decode()).group(1)

    def cookie_header(self):
        return "; ".join(f"{c.name}={c.value}" for c in self.jar)

    def post(self, path, data, base_url=None):
        body = urllib.parse.urlencode(data).encode()
        return self.opener.open(f"{base_url or self.base_url}{path}", data=body, timeout=10)

    def send(self, path, body, base_url=None):
        """POST a message form the way the composer does without JavaScript."""
        return self.post(path, {"body": body, "csrf_token": self.csrf}, base_url=base_url)


class RawStream(EventStream):
    """GET /stream over a raw socket; parses SSE events as they arrive."""

    def __init__(self, base_url, cookie="", query=""):
        host, port = urllib.parse.urlsplit(base_url).netloc.split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=10)
        request = (
            f"GET /stream{query} HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n"
            f"Cookie: {cookie}\r\n\r\n"
        )
        self.sock.sendall(request.encode())
        self.buffer = b""
        self.status = None
        self.headers = {}
        self.closed = False
        self._read_head()

    def _read_head(self):
        while b"\r\n\r\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise AssertionError("stream closed before its headers")
            self.buffer += chunk
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {k.lower(): v.strip() for k, v in (x.split(":", 1) for x in lines[1:])}
        self.chunked = self.headers.get("transfer-encoding") == "chunked"
        self.text = ""

    def _pump(self, timeout):
        self.sock.settimeout(timeout)
        try:
            chunk = self.sock.recv(65536)
        except TimeoutError:
            return
        if not chunk:
            self.closed = True
        self.buffer += chunk
        if not self.chunked:
            self.text, self.buffer = self.text + self.buffer.decode(), b""
            return
        while b"\r\n" in self.buffer:
            size_line, rest = self.buffer.split(b"\r\n", 1)
            size = int(size_line, 16)
            if size == 0:
                self.closed = True
                self.buffer = b""
                return
            if len(rest) < size + 2:
                return
            self.text += rest[:size].decode()
            self.buffer = rest[size + 2 :]

    def close(self):
        self.sock.close()
