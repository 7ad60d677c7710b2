"""With JavaScript off, the Notifications page's time zone sets the times the server writes."""

import re

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from portal.messaging.messages import post_message
from portal.messaging.rooms import create_room
from portal.models import User

pytestmark = pytest.mark.e2e


def test_a_chosen_time_zone_shows_on_pages_without_javascript(
    browser, live_server, login, people, app
):
    with app.app_context():
        staff = db.session.get(User, people["staff"].id)
        room = create_room(staff, "Zone room", [people["client"].id])
        post_message(room, staff, "What time is it there?")
        room_id = room.id
    context = browser.new_context(java_script_enabled=False)
    context.set_default_timeout(10_000)
    page = context.new_page()
    login(page, "client@example.test")

    page.goto(live_server("/preferences/notifications"))
    page.get_by_label("Time zone").select_option("Asia/Kolkata")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Notification settings saved.")).to_be_visible()
    expect(page.get_by_label("Time zone")).to_have_value("Asia/Kolkata")

    page.goto(live_server(f"/portal/rooms/{room_id}"))
    expect(page.locator("#messages .meta time").first).to_have_text(
        re.compile(r"\d{2}:\d{2} Asia/Kolkata$")
    )
    context.close()
