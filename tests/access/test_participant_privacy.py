"""Clients never see who else is in a room (PRODUCT.md §2): every client page, fragment,
live event and email of a room shared by two clients is searched for the other client.

The room: staff with `client` and `outsider` (two clients of different companies). The
outsider reads the room and is mentioned, but never writes: an author's name may show,
a silent participant's never does. Internal users keep the full list.
"""

import json

import pytest
from sqlalchemy import select

from portal import access
from portal.extensions import db
from portal.messaging.messages import post_message
from portal.messaging.reading import mark_read
from portal.messaging.rooms import create_room
from portal.models import Message, Room, User
from portal.notify.client_emails import notify_client
from portal.notify.mentions import send_mentions
from portal.notify.reminders import send_reminders
from tests.notify_helpers import after_delay, parts
from tests.sse import of_type

OTHER = "Outsider"  # the other client's name (make_user: the handle, titled)
HIDDEN_EMAIL = "outsider@example.test"


@pytest.fixture
def shared(app, people):
    """A room of staff, client and outsider; staff wrote (mentioning both), outsider read."""
    with app.app_context():
        staff = db.session.get(User, people["staff"].id)
        members = [people["client"].id, people["outsider"].id]
        room = create_room(staff, "Quarterly figures", members)
        post_message(room, staff, "Hello @Client, the figures are in.")
        post_message(room, staff, f"@{OTHER} please check yours too.")
        mark_read(db.session.get(User, people["outsider"].id), room)
        return room.id


def assert_private(text):
    assert OTHER not in text and HIDDEN_EMAIL not in text
    assert "data-mention-name" not in text and 'class="participants"' not in text


def test_the_client_room_page_shows_no_participants(client, shared):
    client.login("client@example.test")
    page = client.get(f"/portal/rooms/{shared}").get_data(as_text=True)
    assert "the figures are in" in page and "Staff" in page  # messages and their authors
    # The outsider is only named inside the staff's own words (the mention of them).
    assert_private(page.replace(f"@{OTHER}", ""))
    assert "room-people" not in page and "Participants</h2>" not in page


def test_internal_users_keep_the_full_list(client, shared):
    client.login("staff@example.test")
    page = client.get(f"/app/rooms/{shared}").get_data(as_text=True)
    assert f'data-mention-name="{OTHER}"' in page and 'class="participants"' in page
    assert "room-people" in page


@pytest.mark.parametrize(
    "path",
    [
        "/portal/rooms",
        "/portal/rooms/{id}/messages?after=0",
        "/portal/rooms/{id}/messages?before=999999",
        "/portal/rooms/{id}/changes?since=0&from=0&through=999999",
        "/portal/search?q=figures",
        "/preferences/notifications",
    ],
)
def test_no_client_fragment_or_page_names_the_other_client(client, shared, path):
    client.login("client@example.test")
    response = client.get(path.format(id=shared), headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert_private(response.get_data(as_text=True).replace(f"@{OTHER}", ""))


def test_the_catch_up_gives_a_client_no_read_state_of_others(client, shared):
    client.login("client@example.test")
    url = f"/portal/rooms/{shared}/changes?since=0&from=0&through=999999"
    seen = client.get(url).get_json()["seen"]
    assert all(set(event) == {"room_id", "staff_through"} for event in seen)


def test_live_events_to_a_client_never_name_the_other_client(app, people, shared, open_stream):
    stream = open_stream("client@example.test")
    staff_stream = open_stream("staff@example.test")
    with app.app_context():
        room = db.session.get(Room, shared)
        outsider = db.session.get(User, people["outsider"].id)
        post_message(room, db.session.get(User, people["staff"].id), "One more thing")
        mark_read(outsider, room)
    events = stream.read_until(lambda ev: of_type(ev, "message"), timeout=5)
    events = stream.read_until(lambda ev: False, timeout=1.5)
    assert of_type(events, "message")
    text = json.dumps(events)
    assert OTHER not in text and HIDDEN_EMAIL not in text
    assert all("name" not in e for e in of_type(events, "seen"))
    # Staff hear who read: the rule hides the list from clients only.
    staff_events = staff_stream.read_until(lambda ev: of_type(ev, "seen"), timeout=5)
    assert OTHER in json.dumps(of_type(staff_events, "seen"))


def test_emails_to_a_client_name_only_the_authors(app, people, shared, outbox):
    """The 10-minute email, the reminder and the mention email (staff mentioned the client)."""
    with app.app_context():
        notify_client(people["client"].id, now=after_delay())
        send_reminders(now=after_delay(3600))
        first = db.session.scalar(select(Message).where(Message.room_id == shared).limit(1))
        send_mentions(first.id)
    emails = outbox.messages("client@example.test")
    kinds = {email["X-Portal-Notification"] for email in emails}
    assert len(kinds) >= 2, kinds
    for email in emails:
        text, html = parts(email)
        assert "Staff" in text  # the author of the quoted messages
        for part in (text, html, str(email)):
            assert HIDDEN_EMAIL not in part
            assert OTHER not in part.replace(f"@{OTHER}", "")


def test_the_rule_lives_in_the_access_module(app_ctx, people):
    """Pinned: only internal users may see a room's participants."""
    for handle, sees in [("admin", True), ("staff", True), ("staff_all", True), ("client", False)]:
        assert access.may_see_participants(db.session.get(User, people[handle].id)) is sees


def test_a_client_cannot_probe_the_room_with_a_mention(app, client, people, shared, outbox):
    """A client's `@Name` of a silent participant stays plain text (no highlight, no
    email): a mention must not confirm who is in the room. Authors they see may be named."""
    client.login("client@example.test")
    client.form_post(f"/portal/rooms/{shared}/messages", {"body": f"@{OTHER} are you here? @Staff"})
    with app.app_context():
        message = db.session.scalar(select(Message).order_by(Message.id.desc()).limit(1))
        assert [m.user_id for m in message.mentions] == [people["staff"].id]
        message_id = message.id
        send_mentions(message_id)
    page = client.get(f"/portal/rooms/{shared}").get_data(as_text=True)
    own = page[page.index(f'id="message-{message_id}"') :]
    own = own[: own.index("</li>")]
    assert f'data-user-id="{people["outsider"].id}"' not in own
    assert f'data-user-id="{people["staff"].id}">@Staff' in own
    assert outbox.messages(HIDDEN_EMAIL) == []
