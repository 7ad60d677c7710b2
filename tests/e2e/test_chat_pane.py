"""The room as a chat pane, at desktop and phone sizes, with JavaScript on and off."""

import base64
import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from portal.messaging.messages import post_message
from portal.messaging.rooms import create_room
from portal.models import Message, User
from tests.files_helpers import png

pytestmark = pytest.mark.e2e

VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
SIZES_AND_JS = [(size, js) for size in VIEWPORTS for js in (True, False)]
IDS = [f"{size}-js-{'on' if js else 'off'}" for size, js in SIZES_AND_JS]


@pytest.fixture
def open_as(browser, login):
    """`open_as(email, size, js)`: a logged-in page in a fresh context of that size."""
    contexts = []

    def open_page(email, size="desktop", js=True):
        context = browser.new_context(viewport=VIEWPORTS[size], java_script_enabled=js)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return login(context.new_page(), email)

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def busy_room(app, people):
    """A room with a long history (staff and client take turns) read up to half-way."""
    with app.app_context():
        staff = db.session.get(User, people["staff"].id)
        client = db.session.get(User, people["client"].id)
        room = create_room(staff, "A long conversation about the website redesign", [client.id])
        for n in range(60):
            post_message(room, staff if n % 3 else client, f"Message number {n}\nwith two lines")
        start = room.created_at - timedelta(days=3)
        for n, message in enumerate(db.session.query(Message).filter_by(room_id=room.id)):
            message.created_at = start + timedelta(hours=2 * n)
        db.session.commit()
        return room.id


def no_horizontal_scroll(page):
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def in_viewport(page, locator):
    box = locator.bounding_box()
    size = page.viewport_size
    return box and box["y"] >= 0 and box["y"] + box["height"] <= size["height"] + 1


@pytest.mark.parametrize("size,js", SIZES_AND_JS, ids=IDS)
def test_room_opens_as_a_pane_with_the_composer_on_screen(
    open_as, live_server, busy_room, size, js
):
    for email, path in [
        ("client@example.test", f"/portal/rooms/{busy_room}"),
        ("staff@example.test", f"/app/rooms/{busy_room}"),
    ]:
        page = open_as(email, size, js)
        page.goto(live_server(path))
        assert no_horizontal_scroll(page)
        assert in_viewport(page, page.get_by_role("button", name="Send"))
        assert in_viewport(page, page.get_by_role("textbox", name="Message"))
        assert in_viewport(page, page.get_by_role("heading", level=1))
        newest = page.locator("#messages li.message").last
        assert in_viewport(page, newest), "the pane opens at the newest message"
        # Grouping: day separators, and consecutive messages by one author are threaded.
        assert page.locator("#messages li.message.first-of-day").count() >= 5
        assert page.locator("#messages li.message.threaded").count() == 0  # 2 h apart
        assert page.evaluate("document.scrollingElement.scrollTop") == 0  # only the pane scrolls


@pytest.mark.parametrize("size", VIEWPORTS)
def test_consecutive_messages_group_and_the_unread_divider_shows(
    open_as, live_server, app, people, size
):
    with app.app_context():
        staff = db.session.get(User, people["staff"].id)
        room = create_room(staff, "Grouping", [people["client"].id])
        for n in range(3):
            post_message(room, staff, f"Quick note {n}")
        room_id = room.id
    page = open_as("client@example.test", size)
    page.goto(live_server(f"/portal/rooms/{room_id}"))
    messages = page.locator("#messages li.message")
    expect(messages).to_have_count(3)
    assert messages.nth(0).get_attribute("class") == "message first-of-day"
    expect(messages.nth(1)).to_have_class("message threaded")
    expect(messages.nth(2)).to_have_class("message threaded")
    expect(page.locator("#new-messages")).to_have_text("New messages")
    expect(page.locator("#messages .day-separator").first).to_have_text("Today")
    expect(messages.nth(0).locator(".avatar")).to_have_text(re.compile(r"^[A-Z]{1,2}$"))
    expect(messages.nth(1).locator(".avatar")).to_be_hidden()


def test_enter_sends_and_shift_enter_adds_a_line(open_as, live_server, busy_room):
    page = open_as("staff@example.test")
    page.goto(live_server(f"/app/rooms/{busy_room}"))
    expect(page.get_by_text("Enter sends · Shift+Enter adds a line.")).to_be_visible()
    box = page.get_by_role("textbox", name="Message")
    box.click()
    box.press_sequentially("first line")
    box.press("Shift+Enter")
    box.press_sequentially("second line")
    expect(box).to_have_value("first line\nsecond line")
    box.press("Enter")
    sent = page.locator("#messages li.message").filter(has_text="second line")
    expect(sent).to_have_count(1)
    expect(sent.locator(".body")).to_have_text("first line\nsecond line")
    expect(box).to_have_value("")
    assert in_viewport(page, sent)
    box.press("Enter")  # an empty box sends nothing
    expect(page.locator("#composer-error")).to_have_text("")


def test_a_draft_typed_while_a_send_is_in_flight_survives(open_as, live_server, busy_room):
    page = open_as("staff@example.test")
    page.goto(live_server(f"/app/rooms/{busy_room}"))
    held = []
    page.route("**/messages", lambda route: held.append(route))
    box = page.get_by_role("textbox", name="Message")
    box.fill("Sent first")
    box.press("Enter")
    # Out of the box at once, shown as its own pending message: the box is free again.
    pending = page.locator("#outbox li").filter(has_text="Sent first")
    expect(pending).to_contain_text("Sending…")
    expect(box).to_have_value("")
    box.press_sequentially("Typed while it was in flight")
    for _ in range(100):  # until Playwright has handed over the held request
        if held:
            break
        page.wait_for_timeout(50)
    assert len(held) == 1
    held[0].continue_()
    page.unroute("**/messages")
    expect(page.locator("#messages li.message").filter(has_text="Sent first")).to_have_count(1)
    expect(pending).to_have_count(0)
    expect(box).to_have_value("Typed while it was in flight")
    box.press("Enter")
    expect(
        page.locator("#messages li.message").filter(has_text="Typed while it was in flight")
    ).to_have_count(1)
    expect(box).to_have_value("")
    expect(page.locator("#messages li.message").filter(has_text="Sent first")).to_have_count(1)


def test_a_pasted_image_uploads(open_as, live_server, busy_room):
    page = open_as("client@example.test", "phone")
    page.goto(live_server(f"/portal/rooms/{busy_room}"))
    box = page.get_by_role("textbox", name="Message")
    box.focus()
    page.evaluate(
        """(b64) => {
          const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
          const data = new DataTransfer();
          data.items.add(new File([bytes], "pasted.png", { type: "image/png" }));
          const box = document.querySelector("#body");
          box.dispatchEvent(new ClipboardEvent("paste", { clipboardData: data, bubbles: true }));
        }""",
        base64.b64encode(png(320, 200)).decode(),
    )
    expect(page.locator("#files-chosen")).to_contain_text("pasted.png")
    box.press("Enter")
    image = page.locator("#messages li.message img[alt='pasted.png']")
    expect(image).to_have_count(1)
    expect(page.locator("#files-chosen")).to_be_hidden()
    assert page.get_by_label("Attach files").evaluate("input => input.files.length") == 0


def test_no_keyboard_hint_and_a_plain_file_field_without_javascript(
    open_as, live_server, busy_room
):
    page = open_as("client@example.test", "phone", js=False)
    page.goto(live_server(f"/portal/rooms/{busy_room}"))
    expect(page.get_by_text("Enter sends")).to_be_hidden()
    expect(page.get_by_text("Ctrl+Enter")).to_have_count(0)
    expect(page.get_by_label("Attach files")).to_be_visible()


@pytest.mark.parametrize("size", VIEWPORTS)
def test_a_refused_send_without_javascript_says_so_at_the_top(
    open_as, live_server, busy_room, size
):
    page = open_as("client@example.test", size, js=False)
    page.goto(live_server(f"/portal/rooms/{busy_room}"))
    page.get_by_role("textbox", name="Message").fill("x" * 10_500)
    page.get_by_role("button", name="Send").click()
    alert = page.locator(".flash-error")
    expect(alert).to_contain_text("Your message was not sent")
    assert in_viewport(page, alert)
    expect(page.get_by_role("textbox", name="Message")).to_have_value("x" * 10_500)
    # Opening that URL again shows the room, not a bare list of messages.
    page.goto(page.url)
    assert page.url.endswith(f"/portal/rooms/{busy_room}")
    expect(page.get_by_role("button", name="Send")).to_be_visible()


def test_load_older_without_javascript_has_a_way_back(open_as, live_server, busy_room):
    page = open_as("staff@example.test", "phone", js=False)
    page.goto(live_server(f"/app/rooms/{busy_room}"))
    page.get_by_role("link", name="Load older messages").click()
    expect(page.get_by_text("Message number 0", exact=False).first).to_be_attached()
    page.get_by_role("link", name="Back to the newest messages").click()
    assert page.url.endswith(f"/app/rooms/{busy_room}")


def test_jump_to_latest_appears_when_reading_back(open_as, live_server, busy_room):
    page = open_as("staff@example.test", "phone")
    page.goto(live_server(f"/app/rooms/{busy_room}"))
    jump = page.get_by_role("button", name="Jump to latest")
    expect(jump).to_be_hidden()
    page.locator("#messages li.message").nth(20).scroll_into_view_if_needed()
    expect(jump).to_be_visible()
    jump.click()
    expect(jump).to_be_hidden()
    page.wait_for_function(
        "() => { const p = document.getElementById('pane'); "
        "return p.firstElementChild.getBoundingClientRect().bottom - "
        "p.getBoundingClientRect().bottom < 80; }"
    )


def test_a_client_following_a_workspace_link_lands_on_the_portal_room(
    open_as, live_server, busy_room
):
    page = open_as("client@example.test", "phone")
    page.goto(live_server(f"/app/rooms/{busy_room}"))
    assert page.url == live_server(f"/portal/rooms/{busy_room}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("A long conversation")
