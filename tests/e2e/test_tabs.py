"""Eight tabs of one browser over HTTP/1.1 (6 connections per host): one shared stream.

Chromium shares it through a SharedWorker; with SharedWorker taken away the tabs elect a
holder with a Web Lock, and closing the holder hands the stream to another tab.
"""

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from portal.messaging.messages import post_message
from portal.models import Room, User
from tests.e2e.test_live import MESSAGES, log_in

pytestmark = pytest.mark.e2e

TABS = 8


def post(app, room_id, author_id, body):
    with app.app_context():
        message = post_message(db.session.get(Room, room_id), db.session.get(User, author_id), body)
        return message.id


def open_tabs(browser, live_server, room, init_script=None):
    context = browser.new_context()
    context.set_default_timeout(15_000)
    if init_script:
        context.add_init_script(init_script)
    first = context.new_page()
    log_in(first, live_server.url, "staff@example.test")
    tabs = [first] + [context.new_page() for _ in range(TABS - 1)]
    for tab in tabs:
        tab.goto(live_server(f"/app/rooms/{room}"))
    for tab in tabs:
        expect(tab.locator("body[data-live=open]")).to_have_count(1)
    return context, tabs


def test_eight_tabs_load_and_all_show_a_new_message(app, browser, live_server, room, people):
    context, tabs = open_tabs(browser, live_server, room)
    try:
        assert {tab.evaluate("window.PortalLive.mode") for tab in tabs} == {"shared"}
        post(app, room, people["client"].id, "Hello to every tab")
        for tab in tabs:
            expect(tab.locator(MESSAGES).filter(has_text="Hello to every tab")).to_have_count(1)
    finally:
        context.close()


def test_closing_the_holder_tab_hands_over_and_loses_nothing(
    app, browser, live_server, room, people
):
    context, tabs = open_tabs(browser, live_server, room, "delete window.SharedWorker;")
    try:
        roles = [tab.evaluate("window.PortalLive.mode") for tab in tabs]
        assert sorted(roles) == ["follower"] * (TABS - 1) + ["holder"]
        post(app, room, people["client"].id, "Before the hand-over")
        for tab in tabs:
            expect(tab.locator(MESSAGES).filter(has_text="Before the hand-over")).to_have_count(1)

        holder = tabs.pop(roles.index("holder"))
        holder.close()
        # Sent while no tab holds the stream, then after a new holder took it.
        post(app, room, people["client"].id, "During the hand-over")
        expect(tabs[0].locator("body")).to_have_attribute("data-live", "open")
        for tab in tabs:
            expect(tab.locator(MESSAGES).filter(has_text="During the hand-over")).to_have_count(
                1, timeout=10_000
            )
        new_roles = [tab.evaluate("window.PortalLive.mode") for tab in tabs]
        assert sorted(new_roles) == ["follower"] * (TABS - 2) + ["holder"]
        post(app, room, people["client"].id, "After the hand-over")
        for tab in tabs:
            expect(tab.locator(MESSAGES).filter(has_text="After the hand-over")).to_have_count(1)
            ids = tab.locator(MESSAGES).evaluate_all("els => els.map(e => e.dataset.messageId)")
            assert ids == sorted(set(ids), key=int), "duplicated or out of order"
    finally:
        context.close()
