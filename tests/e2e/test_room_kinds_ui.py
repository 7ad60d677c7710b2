"""Kinds of room and the client's private view in Chromium, JavaScript on and off."""

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from portal.messaging.messages import post_message
from portal.messaging.rooms import create_room
from portal.models import User
from tests.conftest import PASSWORD

pytestmark = pytest.mark.e2e


def log_in(page, live_server, email):
    page.goto(live_server("/login"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


@pytest.fixture
def shared(app, people):
    with app.app_context():
        staff = db.session.get(User, people["staff"].id)
        room = create_room(staff, "Shared room", [people["client"].id, people["outsider"].id])
        post_message(room, staff, "Welcome both")
        return room.id


def test_a_client_sees_no_participants_and_gets_no_suggestions(page, live_server, login, shared):
    login(page, "client@example.test")
    page.goto(live_server(f"/portal/rooms/{shared}"))
    expect(page.get_by_text("Welcome both")).to_be_visible()
    expect(page.get_by_role("complementary", name="Participants")).to_have_count(0)
    box = page.get_by_role("textbox", name="Message")
    box.press_sequentially("Hello @Out")
    expect(page.get_by_role("option")).to_have_count(0)
    expect(page.get_by_text("Outsider")).to_have_count(0)


@pytest.mark.parametrize("javascript", [False, True])
def test_new_announcement_and_reading_it(browser, live_server, people, javascript):
    staff = browser.new_context(java_script_enabled=javascript).new_page()
    log_in(staff, live_server, "staff@example.test")
    staff.get_by_role("link", name="New Announcement").click()
    expect(staff.get_by_role("heading", name="New Announcement")).to_be_visible()
    staff.get_by_label("Title").fill("Office hours")
    staff.locator('input[name=participant_ids][data-name="Client"]').check()
    staff.get_by_role("button", name="Create conversation").click()
    staff.get_by_role("textbox", name="Message").fill("Closed on Friday")
    staff.get_by_role("button", name="Send").click()
    expect(staff.locator("#messages li.message").filter(has_text="Closed on Friday")).to_have_count(
        1
    )
    room_url = staff.url.split("#")[0].replace("/app/", "/portal/")

    client = browser.new_context(java_script_enabled=javascript).new_page()
    log_in(client, live_server, "client@example.test")
    expect(client.locator(".room-list").get_by_text("announcement")).to_be_visible()
    client.goto(room_url)
    expect(client.get_by_text("Closed on Friday")).to_be_visible()
    expect(client.get_by_role("textbox", name="Message")).to_have_count(0)
    expect(client.get_by_text("replies are not possible here")).to_be_visible()
    staff.context.close()
    client.context.close()


def test_team_only_refuses_a_client_without_javascript(browser, live_server, people):
    page = browser.new_context(java_script_enabled=False).new_page()
    log_in(page, live_server, "staff@example.test")
    page.goto(live_server("/app/rooms/new"))
    page.get_by_label("Title").fill("Partners only")
    page.get_by_label("Team only").check()
    page.locator('input[name=participant_ids][data-name="Client"]').check()
    page.get_by_role("button", name="Create conversation").click()
    expect(page.get_by_role("alert")).to_contain_text("no client can be added (Client)")
    page.locator('input[name=participant_ids][data-name="Client"]').uncheck()
    page.get_by_role("button", name="Create conversation").click()
    expect(page.get_by_role("heading", name="Partners only")).to_be_visible()
    page.context.close()
