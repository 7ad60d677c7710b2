"""Browser-test fixtures: a real gunicorn server on the test database, and Chromium.

`live_server` is shared by the whole session (the database is emptied after each test by
`_clean_slate`, the server just keeps serving); `page` is a fresh browser context per test,
so cookies never leak between tests.
"""

import os
import subprocess
import sys
from contextlib import contextmanager

import pytest

from tests.conftest import PASSWORD
from tests.helpers import free_port, wait_for_http

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def pytest_collection_modifyitems(config, items):
    if os.path.exists(CHROMIUM):
        return
    skip = pytest.mark.skip(reason=f"browser tests need Chromium at {CHROMIUM} (not installed)")
    for item in items:
        if "e2e" in item.keywords:
            item.add_marker(skip)


class LiveServer:
    def __init__(self, url, process, log_path):
        self.url, self.process, self.log_path = url, process, log_path

    def __call__(self, path=""):
        """An absolute URL on this server."""
        return self.url + path

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()


@pytest.fixture(scope="session")
def live_server(app, server_env, tmp_root):
    """gunicorn (one gevent worker) serving the test database; `live_server("/path")` → URL."""
    with serve(server_env, tmp_root) as server:
        yield server


@contextmanager
def serve(server_env, tmp_root, ready="/healthz", **settings):
    """A gunicorn serving the test database with `settings` on top of the tests' own; up
    once `ready` answers 200."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    # Links in emails point at this server, so a test can follow them as they are.
    # A short heartbeat: streams notice ended sessions within seconds, not 15 s.
    env = {**server_env, "PORTAL_BASE_URL": url, "SSE_HEARTBEAT_SECONDS": "2", **settings}
    log_path = os.path.join(tmp_root, f"live-server-{port}.log")
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--worker-class",
        "gevent",
        "--no-control-socket",
        "-w",
        "1",
        "--keep-alive",
        "75",
        "--graceful-timeout",
        "2",
        "--bind",
        f"127.0.0.1:{port}",
        "wsgi:app",
    ]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    server = LiveServer(url, process, log_path)
    try:
        wait_for_http(server(ready), timeout=60, process=process)
    except AssertionError as exc:
        process.kill()
        process.wait(10)
        raise AssertionError(f"{exc}\n--- server log ---\n{server.log()[-4000:]}") from exc
    try:
        yield server
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@pytest.fixture(scope="session")
def browser():
    """Headless system Chromium through Playwright's sync API."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"browser tests need Chromium at {CHROMIUM} (not installed)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser):
    """Open pages in fresh browser contexts (separate cookies), closed after the test."""
    contexts = []

    def open_page():
        context = browser.new_context()
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    """One fresh page for tests that need a single browser."""
    return new_page()


@pytest.fixture
def login(live_server):
    """`login(page, email, password)`: log in through the real form on the live server."""

    def log_in(page, email, password=PASSWORD):
        page.goto(live_server("/login"))
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_load_state()
        return page

    return log_in
