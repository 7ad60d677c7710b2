"""The service worker in Chromium: it installs from /sw.js for the whole portal and caches
static assets only — never a page, a fragment, a file or the stream."""

import pytest
from playwright.sync_api import expect

from tests.e2e.test_live import log_in

pytestmark = pytest.mark.e2e

REGISTER = """async () => {
  await navigator.serviceWorker.register("/sw.js", { scope: "/" });
  const registration = await navigator.serviceWorker.ready;
  return registration.scope;
}"""
CACHED = """async () => {
  const names = await caches.keys();
  const urls = [];
  for (const name of names) {
    const cache = await caches.open(name);
    for (const request of await cache.keys()) urls.push(new URL(request.url).pathname);
  }
  return urls;
}"""


def test_only_static_assets_are_cached(browser, live_server, room):
    context = browser.new_context()
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        log_in(page, live_server.url, "client@example.test")
        page.goto(live_server("/portal/rooms"))
        assert page.evaluate(REGISTER) == live_server("/")
        # Controlled from the next load on: visit pages with data, fragments and the stream.
        for path in ("/portal/rooms", f"/portal/rooms/{room}", "/preferences/notifications"):
            page.goto(live_server(path))
            expect(page.locator("body[data-live=open]")).to_have_count(1)
        assert page.evaluate("navigator.serviceWorker.controller !== null")
        page.wait_for_function("async () => (await caches.keys()).length > 0")
        cached = page.evaluate(CACHED)
        assert cached and all(path.startswith("/static/") for path in cached), cached
        assert any(path.endswith("/js/live.js") for path in cached)
    finally:
        context.close()
