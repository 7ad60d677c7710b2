"""Edit, delete and search in real browsers: live to other pages, and with JavaScript off."""

import io

import pytest
from playwright.sync_api import expect
from werkzeug.datastructures import FileStorage

from portal.extensions import db
from portal.messaging.messages import post_message
from portal.messaging.rooms import create_room, set_participants
from portal.models import Room, User
from tests.e2e.test_live import log_in, open_live

pytestmark = pytest.mark.e2e

MESSAGES = "#messages > li.message"


@pytest.fixture
def room(app, people):
    """A room by staff with the client; staff's message carries a file."""
    with app.app_context():
        staff = db.session.get(User, people["staff"].id)
        room = create_room(staff, "Paperwork", [people["client"].id])
        post_message(room, db.session.get(User, people["client"].id), "Hello from the client")
        upload = FileStorage(io.BytesIO(b"%PDF-1.4 tax"), filename="tax-form.pdf")
        message = post_message(room, staff, "Draft figures attached", files=[upload])
        return {"id": room.id, "message": message.id, "file": message.attachments[0].id}


def test_edit_and_delete_reach_another_open_page_live(new_page, live_server, room):
    staff, client = new_page(), new_page()
    log_in(staff, live_server.url, "staff@example.test")
    log_in(client, live_server.url, "client@example.test")
    open_live(staff, live_server(f"/app/rooms/{room['id']}"))
    open_live(client, live_server(f"/portal/rooms/{room['id']}"))
    mine = staff.locator(f"#message-{room['message']}")
    theirs = client.locator(f"#message-{room['message']}")
    file_url = live_server(f"/files/{room['file']}/tax-form.pdf")
    assert client.request.get(file_url).status == 200
    # Only the author is offered Edit; the client sees no controls on staff's message.
    expect(theirs.get_by_role("link", name="Edit")).to_be_hidden()
    expect(client.locator(MESSAGES).first.get_by_role("link", name="Edit")).to_be_visible()

    mine.get_by_role("link", name="Edit").click()
    box = mine.get_by_role("textbox", name="Message")
    box.fill("Final figures attached")
    mine.get_by_role("button", name="Save").click()
    expect(mine).to_contain_text("(edited)")
    expect(theirs).to_contain_text("Final figures attached", timeout=3_000)
    expect(theirs).to_contain_text("(edited)")

    staff.once("dialog", lambda dialog: dialog.accept())
    mine.get_by_role("link", name="Delete").click()
    expect(mine).to_contain_text("This message was deleted")
    expect(theirs).to_contain_text("This message was deleted", timeout=3_000)
    expect(theirs).not_to_contain_text("Final figures")
    expect(theirs.locator("a")).to_have_count(0)
    assert client.request.get(file_url).status == 404


def test_edit_delete_and_search_without_javascript(browser, live_server, room, login):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    login(page, "staff@example.test")
    page.goto(live_server(f"/app/rooms/{room['id']}"))
    mine = page.locator(f"#message-{room['message']}")
    mine.get_by_role("link", name="Edit").click()
    page.get_by_role("textbox", name="Message").fill("Edited without scripts")
    page.get_by_role("button", name="Save").click()
    mine = page.locator(f"#message-{room['message']}")
    expect(mine).to_contain_text("Edited without scripts")
    expect(mine).to_contain_text("(edited)")

    page.get_by_role("link", name="Search").click()
    page.get_by_label("Search conversations, messages and files").fill("scripts")
    page.get_by_role("button", name="Search").click()
    expect(page.locator(".snippet mark")).to_have_text("scripts")
    page.locator(".search-hit a").first.click()
    assert f"around={room['message']}" in page.url and page.url.endswith(
        f"#message-{room['message']}"
    )

    page.locator(f"#message-{room['message']}").get_by_role("link", name="Delete").click()
    expect(page.get_by_role("heading", name="Delete this message?")).to_be_visible()
    page.get_by_role("button", name="Delete").click()
    expect(page.locator(f"#message-{room['message']}")).to_contain_text("This message was deleted")
    page.goto(live_server("/app/search?q=scripts"))
    expect(page.get_by_text("Nothing found")).to_be_visible()
    context.close()


def test_a_removed_participant_finds_nothing(app, page, live_server, room, login, people):
    login(page, "client@example.test")
    page.goto(live_server("/portal/search?q=hello"))
    expect(page.locator(".search-hit")).to_have_count(1)
    with app.app_context():
        set_participants(
            db.session.get(Room, room["id"]), db.session.get(User, people["staff"].id), []
        )
    page.goto(live_server("/portal/search?q=hello"))
    expect(page.locator(".search-hit")).to_have_count(0)
    expect(page.get_by_text("Nothing found")).to_be_visible()


# The browser's shared stream, closed as a dropped connection leaves it; then opened again
# (live:open in every tab), as after a network loss.
DROP = "() => window.PortalLive.drop()"
RECONNECT = "() => window.PortalLive.reconnect()"


def test_a_page_that_missed_events_catches_up_edits_deletions_and_seen(
    app, new_page, live_server, room, people
):
    with app.app_context():
        staff_user = db.session.get(User, people["staff"].id)
        doomed = post_message(db.session.get(Room, room["id"]), staff_user, "Ignore this one").id
    staff, client = new_page(), new_page()
    log_in(staff, live_server.url, "staff@example.test")
    log_in(client, live_server.url, "client@example.test")
    open_live(client, live_server(f"/portal/rooms/{room['id']}"))
    client.get_by_role("textbox", name="Message").fill("Are these final?")
    client.get_by_role("button", name="Send").click()
    expect(client.locator(MESSAGES).last).to_contain_text("Are these final?")
    expect(client.locator("#messages > li.seen-by")).to_have_count(0)
    client.evaluate(DROP)

    # Meanwhile, with the client's stream down: an edit, a deletion, and staff read it all.
    with app.app_context():
        from portal.messaging.changes import delete_message, edit_message
        from portal.models import Message

        staff_user = db.session.get(User, people["staff"].id)
        edit_message(db.session.get(Message, room["message"]), staff_user, "Final figures")
        delete_message(db.session.get(Message, doomed), staff_user)
    open_live(staff, live_server(f"/app/rooms/{room['id']}"))  # marks the room read
    edited = client.locator(f"#message-{room['message']}")
    expect(edited).to_contain_text("Draft figures attached")  # nothing arrived live

    client.evaluate(RECONNECT)
    expect(edited).to_contain_text("Final figures", timeout=5_000)
    expect(edited).to_contain_text("(edited)")
    expect(client.locator(f"#message-{doomed}")).to_contain_text("This message was deleted")
    expect(client.locator("#messages > li.seen-by")).to_have_text("Seen")


def test_room_list_excerpt_follows_edits_and_deletions_live(app, new_page, live_server, room):
    from portal.messaging.changes import delete_message, edit_message
    from portal.models import Message

    client = new_page()
    log_in(client, live_server.url, "client@example.test")
    open_live(client, live_server("/portal/rooms"))
    excerpt = client.locator(".room-excerpt").first
    expect(excerpt).to_contain_text("Draft figures attached")
    with app.app_context():
        message = db.session.get(Message, room["message"])
        edit_message(message, message.author, "Final figures attached")
    expect(excerpt).to_contain_text("Final figures attached", timeout=5_000)
    with app.app_context():
        message = db.session.get(Message, room["message"])
        delete_message(message, message.author)
    expect(excerpt).to_contain_text("message deleted", timeout=5_000)
