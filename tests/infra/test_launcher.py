"""`make run`'s launcher, for real: a temporary copy, a free port, Ctrl-C, nothing left."""

import http.cookiejar
import os
import re
import shutil
import signal
import smtplib
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest

from tests.helpers import alive, descendants, free_port, wait_for_http

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
IGNORE = shutil.ignore_patterns(
    ".venv", ".git", "instance", "__pycache__", ".pytest_cache", ".ruff_cache", "*.egg-info"
)


@pytest.mark.slow
def test_launcher_serves_demo_and_stops_cleanly(tmp_path):
    copy = tmp_path / "portal"
    shutil.copytree(ROOT, copy, ignore=IGNORE)
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"REDIS_URL", "DATABASE_URL", "PORTAL_INSTANCE_PATH", "SECRET_KEY"}
    }
    env["PORT"] = str(port)
    env["INBOUND_SMTP_PORT"] = str(free_port())
    log = open(tmp_path / "run.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "portal.runtime.launcher"],
        cwd=copy,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    seen = set()
    try:
        health = wait_for_http(f"http://127.0.0.1:{port}/healthz", timeout=90, process=process)
        assert b'"redis":"ok"' in health and b'"database":"ok"' in health
        assert (copy / "instance" / "redis.sock").exists(), (
            "embedded Redis not in the instance folder"
        )
        assert (copy / "instance" / "portal.sqlite3").exists()
        time.sleep(1)
        seen = descendants(process.pid)
        assert len(seen) >= 4, "expected honcho's web, worker and redis children"
        _log_in_as_demo_admin(port)
        _mail_in_answers(int(env["INBOUND_SMTP_PORT"]))
    finally:
        seen |= descendants(process.pid)
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            raise
        log.close()
    output = (tmp_path / "run.log").read_text()
    assert "admin@example.com" in output
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in seen) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [pid for pid in seen if alive(pid)], "processes left behind after Ctrl-C"

    # A second start reuses the database and does not seed again.
    second = subprocess.run(
        [
            sys.executable,
            "-c",
            "from portal.runtime.launcher import prepare_database; prepare_database()",
        ],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert second.returncode == 0, second.stderr
    assert "Seeded" not in second.stdout


def _mail_in_answers(port):
    """The mail-in process greets over SMTP and refuses a non-reply address."""
    deadline = time.monotonic() + 30
    while True:
        try:
            smtp = smtplib.SMTP("127.0.0.1", port, timeout=10)
            break
        except OSError:
            assert time.monotonic() < deadline, "mail-in did not listen"
            time.sleep(0.2)
    with smtp:
        smtp.ehlo()
        smtp.mail("someone@example.com")
        assert smtp.rcpt("someone@example.com")[0] == 550


def _log_in_as_demo_admin(port):
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    base = f"http://127.0.0.1:{port}"
    page = opener.open(f"{base}/login", timeout=10).read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    data = urllib.parse.urlencode(
        {"email": "admin@example.com", "password": "portal-demo-1", "csrf_token": token}
    ).encode()
    response = opener.open(f"{base}/login", data=data, timeout=10)
    assert response.url == f"{base}/app/rooms"
    assert "Messaging" in response.read().decode()
