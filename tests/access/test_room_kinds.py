"""Kinds of room (PRODUCT.md §1b) as policy rows: announcements (clients read only) and
team-only rooms (no client is ever added or shown), each rule tried from every side."""

import re

import pytest
from sqlalchemy import func, select

from portal import access
from portal.extensions import db
from portal.messaging.messages import post_message
from portal.messaging.rooms import RoomError, create_room, set_participants
from portal.models import Message, Participant, Room, User
from portal.models.rooms import ANNOUNCEMENT
from portal.notify import inbound
from portal.notify.client_emails import notify_client
from portal.notify.replies import reply_address
from tests.notify_helpers import after_delay
from tests.reply_helpers import reply

NEWS = "Office closed on Friday"
HUDDLE = "Partners' huddle"
GET, POST = "GET", "POST"


@pytest.fixture
def rooms(app, people):
    """An announcement (staff, client) and a team-only room (staff), each with a message."""
    with app.app_context():
        staff = db.session.get(User, people["staff"].id)
        news = create_room(staff, NEWS, [people["client"].id], kind=ANNOUNCEMENT)
        post_message(news, staff, "We are closed on Friday.")
        huddle = create_room(staff, HUDDLE, [], team_only=True)
        post_message(huddle, staff, "Fee review at 3.")
        return {"news": news.id, "huddle": huddle.id}


# (persona, method, url, expected status): the rows of the policy table for room kinds.
ROWS = [
    ("staff", POST, "/app/rooms/{news}/messages", 302),
    ("staff_all", POST, "/app/rooms/{news}/messages", 302),
    ("admin", POST, "/app/rooms/{news}/messages", 404),
    ("client", GET, "/portal/rooms/{news}", 200),
    ("client", GET, "/portal/rooms/{news}/messages?after=0", 200),
    ("client", POST, "/portal/rooms/{news}/read", 204),
    ("client", POST, "/portal/rooms/{news}/messages", 403),
    ("client", POST, "/app/rooms/{news}/messages", 404),
    ("outsider", GET, "/portal/rooms/{news}", 404),
    ("outsider", POST, "/portal/rooms/{news}/messages", 404),
    ("staff", GET, "/app/rooms/{huddle}", 200),
    ("staff", POST, "/app/rooms/{huddle}/messages", 302),
    ("staff_all", GET, "/app/rooms/{huddle}", 200),
    ("admin", GET, "/app/rooms/{huddle}", 404),
    ("client", GET, "/portal/rooms/{huddle}", 404),
    ("client", POST, "/portal/rooms/{huddle}/messages", 404),
    ("client", GET, "/portal/rooms/{huddle}/changes?since=0&from=0&through=9", 404),
]


@pytest.mark.parametrize("persona,method,url,expected", ROWS)
def test_room_kind_policy(client, rooms, persona, method, url, expected):
    client.login(f"{persona}@example.test")
    url = url.format(**rooms)
    if method == GET:
        response = client.get(url)
    else:
        response = client.form_post(url, {"body": "A reply", "through": "999999"})
    assert response.status_code == expected
    if expected == 404:
        body = response.get_data(as_text=True)
        assert NEWS not in body and HUDDLE not in body


# Announcements


def count_messages(room_id):
    return db.session.scalar(select(func.count(Message.id)).where(Message.room_id == room_id))


def test_a_client_reads_an_announcement_without_a_composer(client, rooms):
    client.login("client@example.test")
    page = client.get(f"/portal/rooms/{rooms['news']}").get_data(as_text=True)
    assert "We are closed on Friday." in page
    assert 'id="composer"' not in page
    assert "you can read it, but replies are not possible here" in page
    listing = client.get("/portal/rooms").get_data(as_text=True)
    assert NEWS in listing and "announcement</span>" in listing


@pytest.mark.parametrize("htmx", [False, True])
def test_a_clients_post_to_an_announcement_is_refused_with_the_reason(app, client, rooms, htmx):
    client.login("client@example.test")
    headers = {"HX-Request": "true"} if htmx else {}
    response = client.form_post(
        f"/portal/rooms/{rooms['news']}/messages", {"body": "Thanks!"}, headers=headers
    )
    assert response.status_code == 403
    assert "announcement" in response.get_data(as_text=True)
    with app.app_context():
        assert count_messages(rooms["news"]) == 1


def test_staff_write_in_announcements_and_the_workspace_labels_them(client, rooms):
    client.login("staff@example.test")
    page = client.get(f"/app/rooms/{rooms['news']}").get_data(as_text=True)
    assert 'id="composer"' in page and "announcement</span>" in page
    listing = client.get("/app/rooms").get_data(as_text=True)
    assert "New Announcement" in listing and "/app/rooms/new?kind=announcement" in listing
    assert "announcement</span>" in listing and "team only</span>" in listing


def test_new_announcement_creates_an_announcement_without_javascript(app, client, people):
    client.login("staff@example.test")
    form = client.get("/app/rooms/new?kind=announcement").get_data(as_text=True)
    assert "<h1>New Announcement</h1>" in form
    assert re.search(r'<input checked[^>]*value="announcement"', form)
    response = client.form_post(
        "/app/rooms",
        {
            "title": "Holiday hours",
            "kind": "announcement",
            "participant_ids": [people["client"].id],
        },
    )
    assert response.status_code == 302
    with app.app_context():
        room = db.session.scalar(select(Room).where(Room.title == "Holiday hours"))
        assert room.kind == ANNOUNCEMENT and not room.team_only


def test_an_unknown_kind_is_refused_and_nothing_created(app, client, people):
    client.login("staff@example.test")
    response = client.form_post("/app/rooms", {"title": "Odd", "kind": "broadcast"})
    assert response.status_code == 422
    assert "Choose a chat room or an announcement." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Room).where(Room.title == "Odd")) is None


def test_clients_get_the_same_emails_for_announcements(app, people, rooms, outbox):
    with app.app_context():
        notify_client(people["client"].id, now=after_delay())
    [email] = outbox.messages("client@example.test")
    assert NEWS in str(email["Subject"]) + email.get_body(("plain",)).get_content()


def test_an_emailed_reply_to_an_announcement_is_refused_as_announcement(app, people, rooms):
    """Not posted; the client is told why by an automatic answer (not a silent bounce)."""
    from jobs.notifications import answer_reply
    from portal.infra.queues import get_queue
    from portal.notify.reply_answers import JOB

    with app.app_context():
        address = reply_address(people["client"].id, rooms["news"])
        [outcome] = inbound.receive(bytes(reply(address)), "client@example.test", [address])
        assert (outcome.status, outcome.reason) == (inbound.ANSWERED, "announcement")
        assert count_messages(rooms["news"]) == 1
        [job] = [job for job in get_queue().jobs if job.func_name == JOB]
        answer_reply(*job.args, **job.kwargs)
        [answer] = outbox_messages(app, "client@example.test")
        text = answer.get_body(("plain",)).get_content()
        assert "is an announcement: you can read it, but replies are not possible" in text


# Team-only rooms


def test_team_only_refuses_a_client_at_creation(app, client, people):
    client.login("staff@example.test")
    response = client.form_post(
        "/app/rooms",
        {"title": "Internal", "team_only": "y", "participant_ids": [people["client"].id]},
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "no client can be added (Client)" in page
    with app.app_context():
        assert db.session.scalar(select(Room).where(Room.title == "Internal")) is None


def test_team_only_refuses_inviting_a_new_client(app, client, people):
    client.login("staff@example.test")
    data = {"title": "Internal", "team_only": "y", "new_client_email": "new@example.test"}
    response = client.form_post("/app/rooms", data)
    assert response.status_code == 422
    assert "untick Team only to invite a new client" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(User).where(User.email == "new@example.test")) is None


def test_edit_participants_refuses_a_client_in_a_team_only_room(app, client, people, rooms):
    client.login("staff@example.test")
    url = f"/app/rooms/{rooms['huddle']}/participants"
    page = client.get(url).get_data(as_text=True)
    assert "Team only" in page and 'name="team_only"' in page
    response = client.form_post(
        url,
        {"team_only": "y", "participant_ids": [people["staff"].id, people["client"].id]},
    )
    assert response.status_code == 422
    assert "no client can be added" in response.get_data(as_text=True)
    with app.app_context():
        assert people["client"].id not in {
            p.user_id for p in db.session.get(Room, rooms["huddle"]).participants
        }


def test_switching_to_team_only_is_refused_while_a_client_stays(app, client, people, room):
    client.login("staff@example.test")
    url = f"/app/rooms/{room}/participants"
    members = [people["staff"].id, people["client"].id]
    response = client.form_post(url, {"team_only": "y", "participant_ids": members})
    assert response.status_code == 422
    with app.app_context():
        assert not db.session.get(Room, room).team_only
    response = client.form_post(url, {"team_only": "y", "participant_ids": [people["staff"].id]})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Room, room).team_only
    client.logout()
    client.login("client@example.test")
    assert client.get(f"/portal/rooms/{room}").status_code == 404


def test_the_verb_refuses_too(app_ctx, people, rooms):
    staff = db.session.get(User, people["staff"].id)
    with pytest.raises(RoomError):
        set_participants(db.session.get(Room, rooms["huddle"]), staff, [people["client"].id])
    with pytest.raises(RoomError):
        create_room(staff, "Internal", [people["client"].id], team_only=True)


def test_a_client_row_in_a_team_only_room_still_shows_nothing(app, client, people, rooms):
    """Should a client row ever reach a team-only room (a race, a hand edit), the room
    stays out of the client's portal, search, stream and viewers."""
    with app.app_context():
        db.session.add(Participant(room_id=rooms["huddle"], user_id=people["client"].id))
        db.session.commit()
        assert people["client"].id not in access.viewer_ids(rooms["huddle"])
    client.login("client@example.test")
    assert HUDDLE not in client.get("/portal/rooms").get_data(as_text=True)
    assert client.get(f"/portal/rooms/{rooms['huddle']}").status_code == 404
    found = client.get("/portal/search?q=fee").get_data(as_text=True)
    assert "Fee review" not in found and HUDDLE not in found


# The rules, pinned in the access module


def test_may_write_pins_announcements(app_ctx, people, rooms):
    news = db.session.get(Room, rooms["news"])
    assert access.may_write(db.session.get(User, people["staff"].id), news)
    assert not access.may_write(db.session.get(User, people["client"].id), news)
    assert not access.can_post(db.session.get(User, people["client"].id), news)


def test_may_join_and_visible_rooms_pin_team_only(app_ctx, people, rooms):
    huddle = db.session.get(Room, rooms["huddle"])
    assert access.may_join(db.session.get(User, people["staff"].id), huddle)
    assert not access.may_join(db.session.get(User, people["client"].id), huddle)
    db.session.add(Participant(room_id=huddle.id, user_id=people["client"].id))
    db.session.commit()
    client = db.session.get(User, people["client"].id)
    assert HUDDLE not in {r.title for r in db.session.scalars(access.visible_rooms(client))}


def outbox_messages(app, to):
    from tests.conftest import Outbox

    return Outbox(app.config["MAIL_OUTBOX_DIR"]).messages(to)
