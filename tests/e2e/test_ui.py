"""Small browser behaviours: local times, keyboard sending, no-JS-equivalent forms."""

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from portal.messaging.messages import post_message
from portal.messaging.rooms import create_room
from portal.models import User

pytestmark = pytest.mark.e2e


@pytest.fixture
def room_id(app, people):
    with app.app_context():
        staff = db.session.get(User, people["staff"].id)
        room = create_room(staff, "UI room", [people["client"].id])
        post_message(room, staff, "First")
        return room.id


def test_times_show_in_the_readers_time_zone(browser, live_server, login, room_id):
    context = browser.new_context(timezone_id="Asia/Kolkata", locale="en-GB")
    page = context.new_page()
    login(page, "client@example.test")
    page.goto(live_server(f"/portal/rooms/{room_id}"))
    stamp = page.locator("#messages .meta time").first
    expect(stamp).to_have_attribute("data-local", "1")
    utc_text = stamp.get_attribute("title")
    assert utc_text.endswith("UTC") and stamp.inner_text() != utc_text
    context.close()


def test_ctrl_enter_sends_and_clears_the_composer(page, live_server, login, room_id):
    login(page, "staff@example.test")
    page.goto(live_server(f"/app/rooms/{room_id}"))
    box = page.get_by_role("textbox", name="Message")
    box.fill("Sent with the keyboard")
    box.press("Control+Enter")
    expect(
        page.locator("#messages li.message").filter(has_text="Sent with the keyboard")
    ).to_have_count(1)
    expect(box).to_have_value("")


def test_no_content_security_policy_violations(new_page, live_server, login, room_id, app, people):
    """Real Chromium on the main pages and flows: nothing blocked by the CSP."""
    page = new_page()
    violations = []
    page.on(
        "console",
        lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    login(page, "staff@example.test")
    for path in ["/app/rooms", "/app/rooms/new", f"/app/rooms/{room_id}"]:
        page.goto(live_server(path))
        # Not "networkidle": Chromium reports the shared live worker's script fetch to the
        # page but finishes it in the worker, so Playwright sees it pending forever.
        expect(page.locator("body[data-live=open]")).to_have_count(1, timeout=10_000)
    box = page.get_by_role("textbox", name="Message")
    box.fill("under a strict CSP")
    page.get_by_role("button", name="Send").click()
    expect(
        page.locator("#messages li.message").filter(has_text="under a strict CSP")
    ).to_have_count(1)
    expect(box).to_have_value("")
    expect(page.locator("body[data-live=open]")).to_have_count(1, timeout=10_000)
    page.goto(live_server("/preferences/notifications"))
    assert violations == []


def test_everything_works_with_javascript_off(browser, live_server, people, room_id):
    """Chromium with JavaScript disabled: log in, create a conversation, send, read."""
    from tests.conftest import PASSWORD

    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server("/login"))
    page.get_by_label("Email").fill("staff@example.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="New Conversation").click()
    page.get_by_label("Title").fill("Made without JavaScript")
    page.locator('input[name=participant_ids][data-name="Client"]').check()
    page.get_by_role("button", name="Create conversation").click()
    expect(page.get_by_role("heading", name="Made without JavaScript")).to_be_visible()
    page.get_by_role("textbox", name="Message").fill("A plain form post")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#messages li.message").filter(has_text="A plain form post")).to_have_count(
        1
    )
    page.get_by_role("textbox", name="Message").fill("   ")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#composer-error")).to_contain_text("Write a message")
    context.close()


def test_people_filter_narrows_the_participant_list(page, live_server, login, people):
    login(page, "staff@example.test")
    page.goto(live_server("/app/rooms/new"))
    page.get_by_label("Filter people").fill("outsider@")
    visible = page.locator(".people-picker .checkbox-list li:visible")
    expect(visible).to_have_count(2)  # the match, and yourself (checked, always shown)
    expect(visible.filter(has_text="Outsider")).to_have_count(1)
    page.get_by_label("Filter people").fill("")
    expect(page.locator(".people-picker .checkbox-list li:visible")).to_have_count(len(people) - 1)


def test_a_page_whose_session_ended_goes_to_the_login_page(app, page, live_server, login, people):
    from portal.people.sessions import revoke_sessions

    login(page, "client@example.test")
    page.goto(live_server("/portal/rooms"))
    expect(page.locator("body[data-live=open]")).to_have_count(1, timeout=10_000)
    with app.app_context():
        revoke_sessions(db.session.get(User, people["client"].id))  # e.g. a password reset
        db.session.commit()
    page.wait_for_url("**/login?next=*", timeout=30_000)
