"""Rooms end to end through the test client: with and without htmx."""

import re

import pytest
from sqlalchemy import event, func, select

from portal.extensions import db
from portal.messaging.messages import post_message
from portal.messaging.rooms import create_room, participant_ids
from portal.models import Message, Room, User

HX = {"HX-Request": "true"}


@pytest.fixture
def room(app, people):
    """A room made by `staff` with `client`, holding one message from the client."""
    with app.app_context():
        staff = db.session.get(User, people["staff"].id)
        room = create_room(staff, "Website redesign", [people["client"].id])
        post_message(room, db.session.get(User, people["client"].id), "Hello from the client")
        return room.id


def _messages(app, room_id):
    with app.app_context():
        return list(
            db.session.scalars(
                select(Message.body).where(Message.room_id == room_id).order_by(Message.id)
            )
        )


# New Conversation


def test_new_conversation_without_js(client, app, people):
    client.login("staff@example.test")
    page = client.get("/app/rooms/new").get_data(as_text=True)
    assert "New Conversation" in page and 'name="title"' in page
    assert "Internal users" in page and "Clients" in page
    assert 'name="participant_ids"' in page
    response = client.form_post(
        "/app/rooms",
        {"title": "  Kick-off  ", "participant_ids": [people["client"].id, people["admin"].id]},
    )
    assert response.status_code == 302
    room_id = int(response.headers["Location"].rsplit("/", 1)[1])
    with app.app_context():
        room = db.session.get(Room, room_id)
        assert room.title == "Kick-off"
        assert participant_ids(room) == {
            people["staff"].id,
            people["client"].id,
            people["admin"].id,
        }
    assert "Kick-off" in client.get("/app/rooms").get_data(as_text=True)


@pytest.mark.parametrize(
    "title,error",
    [
        ("", "Give the conversation a title."),
        ("   ", "Give the conversation a title."),
        ("x" * 121, "at most 120"),
    ],
)
def test_new_conversation_errors_inline_with_input_kept(client, app, people, title, error):
    client.login("staff@example.test")
    response = client.form_post(
        "/app/rooms", {"title": title, "participant_ids": [people["client"].id]}
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert error in page
    assert re.search(rf'value="{people["client"].id}"[^>]*\n?\s*checked', page)
    with app.app_context():
        assert db.session.scalar(select(func.count(Room.id))) == 0


def test_new_conversation_refuses_unknown_or_deactivated_people(client, app, people):
    client.login("staff@example.test")
    response = client.form_post(
        "/app/rooms", {"title": "T", "participant_ids": [people["deactivated"].id]}
    )
    assert response.status_code == 422
    assert "can&#39;t be added" in response.get_data(as_text=True)
    response = client.form_post("/app/rooms", {"title": "T", "participant_ids": ["999999"]})
    assert response.status_code == 422


def test_creator_is_always_a_participant(client, app, people):
    client.login("staff@example.test")
    response = client.form_post("/app/rooms", {"title": "Solo"})
    room_id = int(response.headers["Location"].rsplit("/", 1)[1])
    with app.app_context():
        assert participant_ids(db.session.get(Room, room_id)) == {people["staff"].id}
    # Leaving the creator out of Edit Participants keeps them in.
    client.form_post(
        f"/app/rooms/{room_id}/participants", {"participant_ids": [people["client"].id]}
    )
    with app.app_context():
        assert participant_ids(db.session.get(Room, room_id)) == {
            people["staff"].id,
            people["client"].id,
        }


# Sending


def test_send_without_js_redirects_back_to_the_room(client, app, room):
    client.login("staff@example.test")
    response = client.form_post(f"/app/rooms/{room}/messages", {"body": "Line one\nLine two"})
    assert response.status_code == 302
    assert re.match(rf"^/app/rooms/{room}#message-\d+$", response.headers["Location"])
    page = client.get(f"/app/rooms/{room}").get_data(as_text=True)
    assert "Line one\nLine two" in page


def test_send_with_htmx_returns_the_fragment_and_a_fresh_client_msg_id(client, app, room):
    client.login("staff@example.test")
    response = client.form_post(
        f"/app/rooms/{room}/messages",
        {"body": "via htmx", "client_msg_id": "htmx-msg-0001"},
        headers=HX,
    )
    assert response.status_code == 200
    assert "HX-Request" in response.headers["Vary"]
    html = response.get_data(as_text=True)
    assert '<li class="message"' in html and "via htmx" in html
    assert "<html" not in html
    new_id = re.search(
        r'name="client_msg_id" id="client_msg_id" value="([^"]+)" hx-swap-oob="true"', html
    )
    assert new_id and new_id.group(1) != "htmx-msg-0001"


def test_client_sends_from_the_portal(client, app, room):
    client.login("client@example.test")
    assert (
        client.form_post(f"/portal/rooms/{room}/messages", {"body": "from portal"})
        .headers["Location"]
        .startswith(f"/portal/rooms/{room}#message-")
    )
    response = client.form_post(
        f"/portal/rooms/{room}/messages", {"body": "htmx portal"}, headers=HX
    )
    assert response.status_code == 200 and "htmx portal" in response.get_data(as_text=True)
    assert _messages(app, room)[-2:] == ["from portal", "htmx portal"]


@pytest.mark.parametrize("body", ["", "   ", "\n\n\t"])
def test_empty_messages_are_refused(client, app, room, body):
    client.login("staff@example.test")
    response = client.form_post(f"/app/rooms/{room}/messages", {"body": body})
    assert response.status_code == 422
    assert "Write a message" in response.get_data(as_text=True)
    response = client.form_post(f"/app/rooms/{room}/messages", {"body": body}, headers=HX)
    assert response.status_code == 422
    assert response.headers["HX-Retarget"] == "#composer-error"
    assert "Write a message" in response.get_data(as_text=True)
    assert _messages(app, room) == ["Hello from the client"]


def test_too_long_message_is_refused_and_the_draft_kept(client, app, room):
    client.login("staff@example.test")
    body = "word " * 2001  # 10,005 characters
    response = client.form_post(f"/app/rooms/{room}/messages", {"body": body.strip() + "!"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "the limit is 10,000" in page
    assert "word word word" in page  # kept in the textarea
    assert len(_messages(app, room)) == 1
    assert (
        client.form_post(f"/app/rooms/{room}/messages", {"body": "x" * 10_000}).status_code == 302
    )


def test_double_submit_creates_one_message(client, app, room):
    client.login("staff@example.test")
    data = {"body": "only once", "client_msg_id": "double-submit-42"}
    first = client.form_post(f"/app/rooms/{room}/messages", data)
    second = client.form_post(f"/app/rooms/{room}/messages", data)
    assert first.headers["Location"] == second.headers["Location"]
    assert _messages(app, room).count("only once") == 1


def test_archived_room_is_read_only_and_listed_apart(client, app, room):
    client.login("staff@example.test")
    assert client.form_post(f"/app/rooms/{room}/archive").status_code == 302
    page = client.get(f"/app/rooms/{room}").get_data(as_text=True)
    assert "archived" in page and 'id="composer"' not in page
    assert client.form_post(f"/app/rooms/{room}/messages", {"body": "late"}).status_code == 403
    assert client.form_post(f"/app/rooms/{room}/rename", {"title": "New"}).status_code == 403
    assert (
        client.form_post(f"/app/rooms/{room}/participants", {"participant_ids": []}).status_code
        == 403
    )
    listing = client.get("/app/rooms").get_data(as_text=True)
    assert listing.index("Archived") < listing.index("Website redesign")
    client.logout()
    client.login("client@example.test")
    assert client.form_post(f"/portal/rooms/{room}/messages", {"body": "late"}).status_code == 403
    client.logout()
    client.login("staff@example.test")
    client.form_post(f"/app/rooms/{room}/unarchive")
    assert client.form_post(f"/app/rooms/{room}/messages", {"body": "back"}).status_code == 302


def test_rename(client, app, room):
    client.login("staff@example.test")
    assert (
        client.form_post(f"/app/rooms/{room}/rename", {"title": "Redesign v2"}).status_code == 302
    )
    assert "Redesign v2" in client.get(f"/app/rooms/{room}").get_data(as_text=True)
    response = client.form_post(f"/app/rooms/{room}/rename", {"title": ""}, follow_redirects=True)
    assert "Give the conversation a title." in response.get_data(as_text=True)


# Participants


def test_added_participant_sees_full_history_and_removed_one_loses_access_at_once(
    client, app, people, room
):
    client.login("staff@example.test")
    client.form_post(
        f"/app/rooms/{room}/participants",
        {"participant_ids": [people["client"].id, people["admin"].id, people["outsider"].id]},
    )
    other = app.test_client()
    other.login("outsider@example.test")
    assert "Hello from the client" in other.get(f"/portal/rooms/{room}").get_data(as_text=True)
    client.form_post(f"/app/rooms/{room}/participants", {"participant_ids": [people["client"].id]})
    assert other.get(f"/portal/rooms/{room}").status_code == 404
    assert (
        other.form_post(f"/portal/rooms/{room}/messages", {"body": "still here?"}).status_code
        == 404
    )
    assert "Website redesign" not in other.get("/portal/rooms").get_data(as_text=True)


def test_edit_participants_page_lists_everyone_grouped(client, app, people, room):
    client.login("staff@example.test")
    page = client.get(f"/app/rooms/{room}/participants").get_data(as_text=True)
    assert "Edit Participants" in page
    for person in ("Admin", "Staff_All", "Client", "Outsider", "Invited"):
        assert person in page
    assert "Deactivated" not in page


# Read state and unread counts


def test_unread_counts_exclude_own_messages_and_opening_marks_read(client, app, people, room):
    with app.app_context():
        staff = db.session.get(User, people["staff"].id)
        room_obj = db.session.get(Room, room)
        for n in range(3):
            post_message(room_obj, staff, f"staff message {n}")
    client.login("client@example.test")
    listing = client.get("/portal/rooms").get_data(as_text=True)
    assert f'id="unread-{room}" data-count="3"' in listing
    client.get(f"/portal/rooms/{room}")
    assert f'id="unread-{room}" data-count="0"' in client.get("/portal/rooms").get_data(
        as_text=True
    )
    client.logout()
    client.login("staff@example.test")
    # Staff's own three messages never count, and replying marks what came before as read.
    assert f'id="unread-{room}" data-count="0"' in client.get("/app/rooms").get_data(as_text=True)


def test_read_marker_is_clamped_to_existing_messages(client, app, people, room):
    client.login("client@example.test")
    client.form_post(f"/portal/rooms/{room}/read", {"through": "999999999"})
    with app.app_context():
        post_message(db.session.get(Room, room), db.session.get(User, people["staff"].id), "after")
    assert 'data-count="1"' in client.get("/portal/rooms").get_data(as_text=True)


def test_all_rooms_users_get_read_state_too(client, app, people, room):
    client.login("staff_all@example.test")
    assert f'id="unread-{room}" data-count="1"' in client.get("/app/rooms").get_data(as_text=True)
    client.get(f"/app/rooms/{room}")
    assert f'id="unread-{room}" data-count="0"' in client.get("/app/rooms").get_data(as_text=True)


def test_room_list_is_newest_activity_first_with_excerpt(client, app, people):
    with app.app_context():
        staff = db.session.get(User, people["staff"].id)
        older = create_room(staff, "Older room", [])
        newer = create_room(staff, "Newer room", [])
        post_message(older, staff, "bump " + "long " * 40)
    client.login("staff@example.test")
    listing = client.get("/app/rooms").get_data(as_text=True)
    assert listing.index("Older room") < listing.index("Newer room")
    assert "Staff: bump long" in listing and "…" in listing
    assert newer


# Pagination and query counts


def test_keyset_pagination_returns_every_message_once(client, app, people, room):
    with app.app_context():
        staff = db.session.get(User, people["staff"].id)
        room_obj = db.session.get(Room, room)
        for n in range(120):
            post_message(room_obj, staff, f"m{n:03d}")
    client.login("staff@example.test")
    page = client.get(f"/app/rooms/{room}").get_data(as_text=True)
    seen = re.findall(r">(m\d{3})<", page)
    assert seen == [f"m{n:03d}" for n in range(70, 120)]
    older = re.search(r'hx-get="([^"]+before=\d+)"', page).group(1).replace("&amp;", "&")
    while older:
        fragment = client.get(older, headers=HX).get_data(as_text=True)
        seen = re.findall(r">(m\d{3})<", fragment) + seen
        match = re.search(r'hx-get="([^"]+before=\d+)"', fragment)
        older = match.group(1).replace("&amp;", "&") if match else None
    assert seen == [f"m{n:03d}" for n in range(120)]
    # Without JS, "Load older" is a link to the room page with ?before=.
    link = re.search(r'<a href="(/app/rooms/\d+\?before=\d+)"', page).group(1)
    assert "m069" in client.get(link).get_data(as_text=True)


def test_catch_up_after_id(client, app, people, room):
    with app.app_context():
        staff = db.session.get(User, people["staff"].id)
        ids = [post_message(db.session.get(Room, room), staff, f"c{n}").id for n in range(5)]
    client.login("client@example.test")
    fragment = client.get(f"/portal/rooms/{room}/messages?after={ids[1]}", headers=HX).get_data(
        as_text=True
    )
    assert re.findall(r'data-message-id="(\d+)"', fragment) == [str(i) for i in ids[2:]]


def _count_queries(app, fn):
    count = 0

    def before(*_args, **_kwargs):
        nonlocal count
        count += 1

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        fn()
    finally:
        event.remove(engine, "before_cursor_execute", before)
    return count


def test_query_count_does_not_grow_with_history_or_rooms(client, app, people):
    with app.app_context():
        staff = db.session.get(User, people["staff"].id)
        client_user = db.session.get(User, people["client"].id)
        small = create_room(staff, "Small", [client_user.id])
        big = create_room(staff, "Big", [client_user.id])
        post_message(small, client_user, "one")
        for n in range(150):
            post_message(big, client_user if n % 2 else staff, f"b{n}")
        small_id, big_id = small.id, big.id
    client.login("staff@example.test")
    client.get(f"/app/rooms/{small_id}")
    client.get(f"/app/rooms/{big_id}")
    small_queries = _count_queries(app, lambda: client.get(f"/app/rooms/{small_id}"))
    big_queries = _count_queries(app, lambda: client.get(f"/app/rooms/{big_id}"))
    assert big_queries == small_queries
    list_few = _count_queries(app, lambda: client.get("/app/rooms"))
    with app.app_context():
        staff = db.session.get(User, people["staff"].id)
        for n in range(30):
            post_message(create_room(staff, f"extra {n}", []), staff, "hi")
    list_many = _count_queries(app, lambda: client.get("/app/rooms"))
    assert list_many == list_few


def test_new_conversation_can_invite_a_new_client(client, app, people):
    import email
    import os
    import pathlib

    client.login("staff@example.test")
    response = client.form_post(
        "/app/rooms",
        {
            "title": "Onboarding",
            "new_client_name": "Nina New",
            "new_client_email": "Nina@Example.test",
        },
    )
    assert response.status_code == 302
    room_id = int(response.headers["Location"].rsplit("/", 1)[1])
    with app.app_context():
        nina = db.session.scalar(select(User).where(User.email == "nina@example.test"))
        assert nina.kind == "client" and nina.status == "invited"
        assert participant_ids(db.session.get(Room, room_id)) == {people["staff"].id, nina.id}
    outbox = app.config["MAIL_OUTBOX_DIR"]
    sent = [
        email.message_from_bytes(pathlib.Path(outbox, f).read_bytes()) for f in os.listdir(outbox)
    ]
    assert [m["To"] for m in sent] == ["Nina New <nina@example.test>"]


def test_inviting_an_existing_email_from_new_conversation_keeps_the_form(client, app, people):
    client.login("staff@example.test")
    response = client.form_post(
        "/app/rooms",
        {"title": "Dup", "new_client_name": "Again", "new_client_email": "client@example.test"},
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "already a user with the email client@example.test" in page
    assert 'value="Dup"' in page
    with app.app_context():
        assert db.session.scalar(select(func.count(Room.id))) == 0


def test_unread_counts_use_each_rooms_own_read_marker(app, people):
    from portal.messaging.reading import mark_read, unread_counts

    with app.app_context():
        staff = db.session.get(User, people["staff"].id)
        client_user = db.session.get(User, people["client"].id)
        rooms = [create_room(staff, f"Room {n}", [client_user.id]) for n in range(3)]
        posted = [
            [post_message(room, staff, f"{n}-{i}").id for i in range(n + 2)]
            for n, room in enumerate(rooms)
        ]
        mark_read(client_user, rooms[1])  # all 3 read
        mark_read(client_user, rooms[2], through_id=posted[2][1])  # 2 of 4 read
        counts = unread_counts(client_user, [r.id for r in rooms])
        assert counts == {rooms[0].id: 2, rooms[2].id: 2}
