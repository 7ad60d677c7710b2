"""@mentions: found among participants, highlighted, and emailed at once to the away."""

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.live import presence
from portal.live.publish import get_live
from portal.messaging.changes import delete_message, edit_message
from portal.messaging.mentions import mentioned_users
from portal.messaging.messages import post_message
from portal.messaging.reading import mark_read
from portal.messaging.rendering import message_html
from portal.messaging.rooms import create_room
from portal.models import Mention, NotificationLog, Participant, User
from portal.notify.mentions import send_mentions
from tests.notify_helpers import parts

pytestmark = pytest.mark.usefixtures("app_ctx")


def _user(person):
    return db.session.get(User, person.id)


@pytest.fixture
def room(people):
    staff = _user(people["staff"])
    return create_room(staff, "Mentions", [people["client"].id, people["staff_all"].id])


def test_participants_named_with_at_are_mentions(room, people):
    body = "Hi @client and @STAFF_ALL, not @Outsider, not email@client.test"
    found = {u.id for u in mentioned_users(room.id, body, people["staff"].id)}
    assert found == {people["client"].id, people["staff_all"].id}
    assert mentioned_users(room.id, "@Staff wrote this", people["staff"].id) == []


def test_mentions_render_as_spans_outside_links_and_escaped(room, people):
    message = post_message(
        room, _user(people["staff"]), "@Client <b>see</b> https://x.test/@Client now"
    )
    html = str(message_html(message.body, message.mentions))
    assert html.startswith(f'<span class="mention" data-user-id="{people["client"].id}">@Client')
    assert "&lt;b&gt;" in html
    assert 'href="https://x.test/@Client"' in html and html.count("mention") == 1


def test_away_participant_gets_one_email_with_the_latest_text(room, people, outbox):
    message = post_message(room, _user(people["staff"]), "@Client please sign")
    edit_message(message, _user(people["staff"]), "@Client please sign today")
    assert send_mentions(message.id) == 1
    assert send_mentions(message.id) == 0  # a duplicate job sends nothing
    [email] = outbox.messages("client@example.test")
    assert email["Subject"] == "Staff mentioned you in “Mentions”"
    assert email["X-Portal-Notification"] == "mention"
    text, _html = parts(email)
    assert "please sign today" in text
    keys = db.session.scalars(select(NotificationLog.key)).all()
    assert keys == [f"mention:{people['client'].id}:{message.id}"]


def test_online_read_muted_or_opted_out_people_get_no_email(app, room, people, outbox):
    live = get_live()
    token = presence.join(app, live, people["client"].id)
    message = post_message(room, _user(people["staff"]), "@Client online now")
    assert send_mentions(message.id) == 0
    presence.leave(live, people["client"].id, token)

    read = post_message(room, _user(people["staff"]), "@Client read it already")
    mark_read(_user(people["client"]), room)
    assert send_mentions(read.id) == 0

    db.session.scalars(
        select(Participant).where(Participant.user_id == people["staff_all"].id)
    ).one().muted = True
    _user(people["client"]).email_notifications = False
    db.session.commit()
    both = post_message(room, _user(people["staff"]), "@Client and @Staff_All, muted/off")
    assert send_mentions(both.id) == 0
    assert outbox.messages() == []


def test_a_deleted_message_sends_no_mention(room, people, outbox):
    message = post_message(room, _user(people["staff"]), "@Client oops")
    delete_message(message, _user(people["staff"]))
    assert send_mentions(message.id) == 0
    assert db.session.scalars(select(Mention)).all() == []
    assert outbox.messages() == []


def test_the_mentioned_person_sees_the_highlight(client, people):
    with client.application.app_context():
        room = create_room(_user(people["staff"]), "Mentions", [people["client"].id])
        post_message(room, _user(people["staff"]), "Over to you @Client")
        room_id = room.id
    client.login("client@example.test")
    page = client.get(f"/portal/rooms/{room_id}").get_data(as_text=True)
    assert f'.mention[data-user-id="{people["client"].id}"]' in page
    assert f'<span class="mention" data-user-id="{people["client"].id}">@Client</span>' in page
