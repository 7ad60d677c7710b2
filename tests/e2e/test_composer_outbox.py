"""The composer sends every message as its own (issue 30 #9, #5): typed fast, refused for
sending too fast, or while the database is down, each message is shown at once, kept
pending and sent again after Retry-After — never glued to the next one."""

import itertools
import socket

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from portal.extensions import db
from portal.models import Message
from tests.conftest import PASSWORD
from tests.e2e.conftest import serve

pytestmark = pytest.mark.e2e

WORDS = ["ok", "thx", "👍", "sure"]


def _replies(count, prefix=""):
    return [f"{prefix}{word} {n}" for n, word in zip(range(count), itertools.cycle(WORDS))]


def _stored(app, room_id):
    with app.app_context():
        return db.session.scalars(
            select(Message.body).where(Message.room_id == room_id).order_by(Message.id)
        ).all()


def _open_room(page, server, room_id, email="staff@example.test"):
    page.goto(server("/login"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
    page.goto(server(f"/app/rooms/{room_id}"))
    return page.get_by_role("textbox", name="Message")


def _type_fast(box, replies):
    for reply in replies:
        box.press_sequentially(reply)
        box.press("Enter")


def test_forty_short_replies_typed_fast_are_forty_messages(
    app, people, make_room, page, live_server
):
    room_id = make_room("Quick replies")
    box = _open_room(page, live_server, room_id)
    replies = _replies(40)
    _type_fast(box, replies)
    messages = page.locator("#messages li.message")
    expect(messages).to_have_count(40, timeout=30_000)
    expect(page.locator("#outbox li")).to_have_count(0)
    assert messages.locator(".body").all_inner_texts() == replies
    assert _stored(app, room_id) == replies
    expect(box).to_have_value("")


@pytest.fixture(scope="module")
def limited_server(server_env, tmp_root):
    """A server whose send limit a fast typist meets: four messages per five seconds."""
    with serve(server_env, tmp_root, MESSAGE_LIMIT="4 per 5 seconds") as server:
        yield server


def test_at_the_limit_each_refused_message_waits_its_turn_and_goes_out_alone(
    app, people, make_room, new_page, limited_server
):
    room_id = make_room("Too fast")
    page = new_page()
    box = _open_room(page, limited_server, room_id)
    replies = _replies(10, prefix="FAST-")
    _type_fast(box, replies)
    # The fifth was refused: it shows at once, as its own message, saying why and when.
    waiting = page.locator("#outbox li[data-state=waiting]")
    expect(waiting.first).to_contain_text("Not sent yet: you are sending messages very fast.")
    expect(waiting.first).to_contain_text("Sending it again in")
    expect(box).to_have_value("")  # nothing left in the box to be glued to what comes next
    box.press_sequentially("typed while waiting")
    expect(page.locator("#outbox li")).to_have_count(0, timeout=30_000)
    messages = page.locator("#messages li.message")
    expect(messages).to_have_count(10)
    assert messages.locator(".body").all_inner_texts() == replies
    assert _stored(app, room_id) == replies
    expect(box).to_have_value("typed while waiting")


@pytest.fixture(scope="module")
def database_down_server(server_env, tmp_root):
    """The same app with its database unreachable (a closed port), answering quickly."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    with serve(
        server_env,
        tmp_root,
        ready="/static/favicon.svg",
        DATABASE_URL=f"postgresql://postgres@127.0.0.1:{closed}/portal",
        UNAVAILABLE_RETRY_AFTER_SECONDS="2",
    ) as server:
        yield server


def test_a_send_while_the_database_is_down_is_kept_and_sent_when_it_is_back(
    app, people, make_room, page, live_server, database_down_server
):
    room_id = make_room("Outage")
    box = _open_room(page, live_server, room_id)
    down = {"answers": 0}

    def through_the_outage(route):
        """The first attempt reaches the server whose database is down; later ones don't."""
        if route.request.method == "POST" and down["answers"] == 0:
            down["answers"] += 1
            path = route.request.url.split(live_server(""), 1)[1]
            route.fulfill(response=route.fetch(url=database_down_server(path)))
        else:
            route.continue_()

    page.route("**/messages", through_the_outage)
    box.fill("Sent during the outage")
    box.press("Enter")
    pending = page.locator("#outbox li")
    expect(pending).to_contain_text("Sent during the outage")
    expect(pending).to_contain_text("Not sent yet: the portal cannot save messages just now.")
    expect(pending).to_contain_text("Sending it again in 2 s.")
    sent = page.locator("#messages li.message").filter(has_text="Sent during the outage")
    expect(sent).to_have_count(1, timeout=15_000)
    expect(pending).to_have_count(0)
    assert down["answers"] == 1
    assert _stored(app, room_id) == ["Sent during the outage"]


def test_a_message_refused_for_good_stays_to_edit_or_discard(
    app, people, make_room, page, live_server
):
    room_id = make_room("Too long")
    box = _open_room(page, live_server, room_id)
    box.fill("x" * 10_500)
    box.press("Enter")
    failed = page.locator("#outbox li[data-state=failed]")
    expect(failed).to_contain_text("Not sent: That message is 10,500 characters long")
    box.fill("A short one")
    box.press("Enter")
    expect(page.locator("#messages li.message").filter(has_text="A short one")).to_have_count(1)
    # Back into the box only when the box is empty: never glued to another draft.
    box.fill("Another draft")
    failed.get_by_role("button", name="Edit").click()
    expect(page.locator("#composer-error")).to_contain_text("Send or clear the message")
    box.fill("")
    failed.get_by_role("button", name="Edit").click()
    expect(box).to_have_value("x" * 10_500)
    expect(page.locator("#outbox li")).to_have_count(0)
    box.press("Enter")
    page.locator("#outbox li[data-state=failed]").get_by_role("button", name="Discard").click()
    expect(page.locator("#outbox li")).to_have_count(0)
    expect(box).to_have_value("")
    assert _stored(app, room_id) == ["A short one"]
