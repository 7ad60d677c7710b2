"""Seen by and mentions in real browsers: read positions move live; the composer suggests."""

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from portal.messaging.messages import post_message
from portal.messaging.rooms import create_room
from portal.models import User
from tests.e2e.test_live import log_in, open_live, send

pytestmark = pytest.mark.e2e


@pytest.fixture
def room(app, people):
    with app.app_context():
        staff = db.session.get(User, people["staff"].id)
        room = create_room(staff, "Seen and mentions", [people["client"].id])
        post_message(room, staff, "Welcome")
        return room.id


def test_seen_moves_live_for_staff_and_client(new_page, live_server, room):
    staff, client = new_page(), new_page()
    log_in(staff, live_server.url, "staff@example.test")
    log_in(client, live_server.url, "client@example.test")
    open_live(staff, live_server(f"/app/rooms/{room}"))
    open_live(client, live_server(f"/portal/rooms/{room}"))
    send(client, "A question from the client")
    # Staff's page has it open and visible: it reads the message, the client sees "Seen".
    last = client.locator("#messages > li.message").last
    expect(last).to_contain_text("A question from the client")
    expect(client.locator("#messages > li.seen-by")).to_have_text("Seen", timeout=5_000)
    # Staff see the client's initials under the client's message, with the full name.
    marker = staff.locator("#messages > li.seen-by abbr[title='Client']")
    expect(marker).to_have_text("CL", timeout=5_000)
    send(staff, "An answer from staff")
    expect(
        staff.locator("#messages > li.message").last.locator("xpath=following-sibling::li[1]")
    ).to_contain_text("Seen by", timeout=5_000)


def test_mention_autocomplete_writes_the_full_name(page, live_server, login, room):
    login(page, "staff@example.test")
    page.goto(live_server(f"/app/rooms/{room}"))
    box = page.get_by_role("textbox", name="Message")
    box.press_sequentially("Over to you @Cl")
    option = page.get_by_role("option", name="Client")
    expect(option).to_be_visible()
    box.press("Enter")
    expect(box).to_have_value("Over to you @Client ")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#messages .mention")).to_have_text("@Client")
