"""New Conversation: the form with and without JavaScript, participants, inviting a client."""

import re

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.messaging.rooms import participant_ids
from portal.models import Room, User


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
