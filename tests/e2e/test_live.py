"""Live delivery in real browsers: messages, unread badges, access loss, catch-up."""

import re

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from portal.messaging.messages import post_message
from portal.messaging.rooms import create_room, set_participants
from portal.models import Room, User
from tests.conftest import PASSWORD
from tests.e2e.live_fixtures import GunicornServer, HttpSession

pytestmark = pytest.mark.e2e

MESSAGES = "#messages > li.message"


@pytest.fixture
def rooms(app, people):
    """Two rooms made by staff with the client in both: {"main": id, "other": id}."""
    with app.app_context():
        staff = db.session.get(User, people["staff"].id)
        main = create_room(staff, "Onboarding", [people["client"].id])
        other = create_room(staff, "Invoices", [people["client"].id])
        post_message(main, staff, "Welcome aboard")
        return {"main": main.id, "other": other.id}


def log_in(page, base_url, email):
    page.goto(f"{base_url}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()


def open_live(page, url):
    """Go to `url` and wait until its event stream is open."""
    page.goto(url)
    expect(page.locator("body[data-live=open]")).to_have_count(1, timeout=10_000)


def shown_ids(page):
    return [
        int(i)
        for i in page.locator(MESSAGES).evaluate_all("els => els.map(el => el.dataset.messageId)")
    ]


def send(page, text):
    page.get_by_role("textbox", name="Message").fill(text)
    page.get_by_role("button", name="Send").click()


def test_message_appears_in_the_other_browser_once(new_page, live_server, rooms, people):
    staff, client = new_page(), new_page()
    log_in(staff, live_server.url, "staff@example.test")
    log_in(client, live_server.url, "client@example.test")
    open_live(staff, live_server(f"/app/rooms/{rooms['main']}"))
    open_live(client, live_server(f"/portal/rooms/{rooms['main']}"))

    send(client, "Here are my documents")
    expect(staff.locator(MESSAGES).filter(has_text="Here are my documents")).to_have_count(
        1, timeout=2_000
    )
    send(staff, "Thanks, got them")
    expect(client.locator(MESSAGES).filter(has_text="Thanks, got them")).to_have_count(
        1, timeout=2_000
    )
    for page in (staff, client):
        expect(page.locator(MESSAGES)).to_have_count(3)
        ids = shown_ids(page)
        assert ids == sorted(set(ids)), "duplicated or out of order"
    # Seen while open and visible: marked read, so the room list shows nothing unread.
    staff.goto(live_server("/app/rooms"))
    expect(staff.locator(f"#unread-{rooms['main']}")).to_have_attribute("data-count", "0")


def test_unread_badge_of_another_room_increments_live(new_page, live_server, rooms, people):
    staff, client = new_page(), new_page()
    log_in(staff, live_server.url, "staff@example.test")
    log_in(client, live_server.url, "client@example.test")
    open_live(staff, live_server("/app/rooms"))
    badge = staff.locator(f"#unread-{rooms['other']}")
    expect(badge).to_have_attribute("data-count", "0")

    open_live(client, live_server(f"/portal/rooms/{rooms['other']}"))
    send(client, "Invoice question")
    expect(badge).to_have_attribute("data-count", "1", timeout=2_000)
    expect(badge).to_have_text("1")
    send(client, "And another one")
    expect(badge).to_have_attribute("data-count", "2", timeout=2_000)
    # The layout's total and the tab title add the increments up too.
    expect(staff.locator("#unread-total")).to_have_attribute("data-count", "2")
    expect(staff).to_have_title(re.compile(r"^\(2\) "))


def test_unread_badge_stops_at_the_cap_live(new_page, live_server, rooms, people, app):
    from portal.messaging.reading import UNREAD_CAP

    with app.app_context():
        client_user = db.session.get(User, people["client"].id)
        other = db.session.get(Room, rooms["other"])
        for n in range(UNREAD_CAP - 1):
            post_message(other, client_user, f"Backlog {n}")
    staff, client = new_page(), new_page()
    log_in(staff, live_server.url, "staff@example.test")
    log_in(client, live_server.url, "client@example.test")
    open_live(staff, live_server("/app/rooms"))
    badge = staff.locator(f"#unread-{rooms['other']}")
    expect(badge).to_have_text(str(UNREAD_CAP - 1))

    open_live(client, live_server(f"/portal/rooms/{rooms['other']}"))
    send(client, "One more")
    expect(badge).to_have_text(f"{UNREAD_CAP - 1}+", timeout=2_000)
    send(client, "And more")
    expect(staff.locator("#room-lists")).to_contain_text("And more", timeout=3_000)
    expect(badge).to_have_text(f"{UNREAD_CAP - 1}+")
    expect(badge).to_have_attribute("data-count", str(UNREAD_CAP))
    expect(badge).to_have_attribute("aria-label", f"{UNREAD_CAP - 1}+ unread")
    expect(staff.locator("#unread-total")).to_contain_text(f"{UNREAD_CAP - 1}+")
    expect(staff).to_have_title(re.compile(r"^\(99\+\) "))


def test_removed_participant_sees_access_notice_and_cannot_send(
    new_page, live_server, rooms, people, app
):
    client = new_page()
    log_in(client, live_server.url, "client@example.test")
    open_live(client, live_server(f"/portal/rooms/{rooms['main']}"))
    with app.app_context():
        staff = db.session.get(User, people["staff"].id)
        set_participants(db.session.get(Room, rooms["main"]), staff, [staff.id])
    expect(client.get_by_text("You no longer have access to this conversation.")).to_be_visible(
        timeout=2_000
    )
    expect(client.get_by_role("textbox", name="Message")).to_be_disabled()
    expect(client.get_by_role("button", name="Send")).to_be_disabled()


@pytest.fixture
def restartable_server(server_env, tmp_path):
    server = GunicornServer(server_env, log_path=tmp_path / "restartable.log")
    yield server.start()
    server.stop()


def test_page_catches_up_after_the_server_restarts(
    new_page, live_server, restartable_server, rooms, people
):
    server = restartable_server
    staff = new_page()
    log_in(staff, server.url, "staff@example.test")
    open_live(staff, f"{server.url}/app/rooms/{rooms['main']}")
    before = shown_ids(staff)

    server.stop()
    client = HttpSession(live_server.url, "client@example.test")
    for n in range(1, 6):
        client.send(f"/portal/rooms/{rooms['main']}/messages", f"Sent while away {n}")
    server.start()

    expect(staff.locator(MESSAGES)).to_have_count(len(before) + 5, timeout=20_000)
    expect(staff.locator("body[data-live=open]")).to_have_count(1)
    texts = staff.locator(f"{MESSAGES} .body").all_inner_texts()
    assert texts[-5:] == [f"Sent while away {n}" for n in range(1, 6)]
    ids = shown_ids(staff)
    assert ids[: len(before)] == before and ids == sorted(set(ids))
    assert not re.search(r"Sent while away", " ".join(texts[:-5]))


def test_room_list_follows_new_rooms_renames_and_messages(
    app, new_page, live_server, rooms, people
):
    client = new_page()
    log_in(client, live_server.url, "client@example.test")
    open_live(client, live_server("/portal/rooms"))
    with app.app_context():
        staff = db.session.get(User, people["staff"].id)
        fresh_id = create_room(staff, "Brand new room", [people["client"].id]).id
    expect(client.locator("#room-lists")).to_contain_text("Brand new room", timeout=3_000)
    with app.app_context():
        from portal.messaging.rooms import rename_room

        rename_room(db.session.get(Room, fresh_id), "Renamed room")
        staff = db.session.get(User, people["staff"].id)
        post_message(db.session.get(Room, rooms["other"]), staff, "Newest message here")
    expect(client.locator("#room-lists")).to_contain_text("Renamed room", timeout=3_000)
    first = client.locator(".room-list li").first
    expect(first).to_contain_text("Newest message here", timeout=3_000)
    expect(client.locator(f"#unread-{rooms['other']}")).to_have_attribute("data-count", "1")
