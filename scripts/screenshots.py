"""README screenshots of the room at desktop and phone sizes, from the demo workspace.

    .venv/bin/python scripts/screenshots.py          # writes docs/screenshots/*.png

Seeds the demo into a throwaway instance folder (SQLite), serves it with gunicorn and
photographs it in the system Chromium. Uses REDIS_URL if set, else an embedded Redis.
"""

import io
import logging
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "docs", "screenshots")
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "portal-demo-1"  # noqa: S105  (the demo logins)
log = logging.getLogger("screenshots")
SHOTS = [
    # (file, login, path, viewport)
    ("room-desktop.png", "staff@example.com", "/app/rooms/1", {"width": 1280, "height": 800}),
    ("room-phone.png", "client@example.com", "/portal/rooms/1", {"width": 390, "height": 844}),
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310  (our own http URL)
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {timeout} s")


def seed(env):
    """Migrate and seed the demo in the throwaway instance."""
    os.environ.update(env)
    from flask_migrate import upgrade

    from portal import create_app
    from portal.runtime.demo import seed_demo

    with create_app().app_context():
        upgrade()
        seed_demo()


def small_png(data):
    """A palette PNG: a fraction of the size, and screenshots have few colours."""
    image = Image.open(io.BytesIO(data)).convert("RGB").quantize(colors=96, dither=0)
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def photograph(base_url):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        for name, email, path, viewport in SHOTS:
            context = browser.new_context(viewport=viewport, locale="en-GB", timezone_id="UTC")
            page = context.new_page()
            page.goto(base_url + "/login")
            page.get_by_label("Email").fill(email)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            page.wait_for_load_state()
            page.goto(base_url + path)
            page.wait_for_load_state("networkidle")
            box = page.get_by_role("textbox", name="Message")
            if box.count():
                box.fill("Thanks, I'll have a look this afternoon.")
            target = os.path.join(OUT, name)
            with open(target, "wb") as f:
                f.write(small_png(page.screenshot()))
            log.info("%s: %d KB", target, os.path.getsize(target) // 1024)
            context.close()
        browser.close()


def main():
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    os.makedirs(OUT, exist_ok=True)
    with tempfile.TemporaryDirectory() as instance:
        port = free_port()
        env = {
            "PORTAL_INSTANCE_PATH": instance,
            "DATABASE_URL": f"sqlite:///{instance}/demo.sqlite3",
            "PORTAL_BASE_URL": f"http://127.0.0.1:{port}",
        }
        redis_process = None
        if not os.environ.get("REDIS_URL"):
            from portal.runtime import embedded_redis

            socket_path = os.path.join(instance, "redis.sock")
            redis_process = embedded_redis.start(socket_path, instance)
            env["REDIS_URL"] = f"unix://{socket_path}"
        seed(env)
        web = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-k", "gevent", "--no-control-socket",
             "-b", f"127.0.0.1:{port}", "wsgi:app"],
            cwd=ROOT, env={**os.environ, **env}, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            wait_for(f"http://127.0.0.1:{port}/healthz")
            photograph(f"http://127.0.0.1:{port}")
        finally:
            for process in (web, redis_process):
                if process is None:
                    continue
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(10)


if __name__ == "__main__":
    main()
