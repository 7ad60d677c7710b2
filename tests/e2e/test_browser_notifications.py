"""Browser notifications in headless Chromium, the permission granted by the test: switched
on from Notifications preferences, shown while no tab is visible, one per room (tag),
nothing for a muted room or while a tab is visible; a click opens the room."""

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from portal.messaging.messages import post_message
from portal.models import Room, User
from portal.notify.preferences import update_notification_settings
from tests.e2e.test_live import log_in

pytestmark = pytest.mark.e2e

# Watches what the page asks the real Notification for (the real one still shows it).
SPY = """(() => {
  const Real = window.Notification;
  window.shown = [];
  window.Notification = class extends Real {
    constructor(title, options) {
      super(title, options);
      window.shown.push({ title, body: options.body, tag: options.tag, url: options.data.url });
      window.lastNotification = this;
    }
  };
})();"""

# Headless Chromium reports every page visible: this is what a hidden tab's page sees.
HIDE = """() => {
  Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "hidden" });
  document.dispatchEvent(new Event("visibilitychange"));
}"""
SHOW = """() => {
  Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "visible" });
  document.dispatchEvent(new Event("visibilitychange"));
}"""


def post(app, room_id, author_id, body):
    with app.app_context():
        message = post_message(db.session.get(Room, room_id), db.session.get(User, author_id), body)
        return message.id


def test_notifications_while_hidden_one_per_room_and_never_when_muted(
    app, browser, live_server, room, people
):
    context = browser.new_context()
    context.set_default_timeout(10_000)
    context.grant_permissions(["notifications"], origin=live_server.url)
    context.add_init_script(SPY)
    page = context.new_page()
    try:
        log_in(page, live_server.url, "staff@example.test")
        page.goto(live_server("/preferences/notifications"))
        page.get_by_role("button", name="Turn on browser notifications").click()
        expect(page.get_by_role("button", name="Turn off browser notifications")).to_be_visible()
        expect(page.get_by_role("button", name="Turn on browser notifications")).to_be_hidden()

        page.goto(live_server("/app/rooms"))
        expect(page.locator("body[data-live=open]")).to_have_count(1)
        # Visible: no notification.
        post(app, room, people["client"].id, "While you look")
        expect(page.locator(f"#unread-{room}")).to_have_attribute("data-count", "1")
        assert page.evaluate("window.shown") == []

        page.evaluate(HIDE)
        post(app, room, people["client"].id, "Are you there?")
        page.wait_for_function("() => window.shown.length === 1")
        post(app, room, people["client"].id, "Second message")
        page.wait_for_function("() => window.shown.length === 2")
        shown = page.evaluate("window.shown")
        assert shown[0] == {
            "title": "Tax return 2025",
            "body": "Client: Are you there?",
            "tag": f"room-{room}",
            "url": f"/app/rooms/{room}",
        }
        assert shown[1]["tag"] == shown[0]["tag"]  # replaces the first: one per room

        with app.app_context():
            staff = db.session.get(User, people["staff"].id)
            update_notification_settings(staff, True, [room])
        post(app, room, people["client"].id, "Muted now")
        expect(page.locator(f"#unread-{room}")).to_have_attribute("data-count", "4")
        page.wait_for_timeout(500)
        assert len(page.evaluate("window.shown")) == 2

        # A click brings the room up.
        page.evaluate("window.lastNotification.onclick()")
        page.wait_for_url(f"**/app/rooms/{room}")
    finally:
        context.close()


def test_no_notification_without_the_switch(app, browser, live_server, room, people):
    context = browser.new_context()
    context.grant_permissions(["notifications"], origin=live_server.url)
    context.add_init_script(SPY)
    page = context.new_page()
    try:
        log_in(page, live_server.url, "staff@example.test")
        page.goto(live_server("/app/rooms"))
        expect(page.locator("body[data-live=open]")).to_have_count(1)
        page.evaluate(HIDE)
        post(app, room, people["client"].id, "Nobody asked")
        expect(page.locator(f"#unread-{room}")).to_have_attribute("data-count", "1")
        page.wait_for_timeout(500)
        assert page.evaluate("window.shown") == []
        page.evaluate(SHOW)
    finally:
        context.close()
