"""The "Post my reply" page in Chromium: readable at phone size (axe), and its one button
posts the held reply with JavaScript off, while merely opening it posts nothing."""

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import HeldReply, Message, Participant
from portal.notify.held_replies import _serializer
from tests.e2e.test_axe import axe_violations
from tests.e2e.test_chat_pane import VIEWPORTS
from tests.notify_helpers import post, room_with
from tests.reply_helpers import reply

pytestmark = pytest.mark.e2e


@pytest.fixture
def held_link(app, people, live_server):
    """A held reply of the client's and the path of its "Post my reply" link."""
    with app.app_context():
        room = room_with(people["staff"], people["client"])
        post(room, people["staff"], "Your tax return is ready to sign")
        participant = db.session.scalar(
            select(Participant).where(
                Participant.room_id == room.id, Participant.user_id == people["client"].id
            )
        )
        raw = bytes(reply("reply+x@portal.test", text="Signed — see you Monday"))
        held = HeldReply(
            key="e2e-held",
            user_id=people["client"].id,
            room_id=room.id,
            participant_id=participant.id,
            raw=raw,
            reason="no valid DKIM signature of example.test and no trusted result",
        )
        db.session.add(held)
        db.session.commit()
        return f"/reply/held/{_serializer().dumps(held.id)}"


def _client_messages(app, people):
    with app.app_context():
        query = select(Message.body).where(Message.author_id == people["client"].id)
        return list(db.session.scalars(query))


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_the_page_passes_axe_and_posts_with_javascript_off(
    browser, live_server, app, people, held_link, size
):
    context = browser.new_context(viewport=VIEWPORTS[size], java_script_enabled=False)
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        page.goto(live_server(held_link))
        assert page.get_by_text("Signed — see you Monday").is_visible()
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        assert _client_messages(app, people) == []  # opening the link posts nothing

        page.get_by_role("button", name="Post my reply").click()
        page.wait_for_load_state()
        assert page.get_by_role("heading", name="Your reply was posted").is_visible()
        assert _client_messages(app, people) == ["Signed — see you Monday"]
    finally:
        context.close()

    # axe needs JavaScript; the page itself has no script of its own.
    context = browser.new_context(viewport=VIEWPORTS[size])
    try:
        page = context.new_page()
        page.goto(live_server(held_link))
        assert page.get_by_role("heading", name="Your reply was already posted").is_visible()
        page.goto(live_server("/reply/held/not-a-real-token"))
        assert axe_violations(page) == []
    finally:
        context.close()


def test_the_unposted_page_passes_axe(browser, live_server, held_link):
    context = browser.new_context(viewport=VIEWPORTS["phone"])
    try:
        page = context.new_page()
        page.goto(live_server(held_link))
        assert axe_violations(page) == []
    finally:
        context.close()
