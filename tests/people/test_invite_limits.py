"""Invitations: one limit inside the invite verb (every route counts), names only in emails."""

import pytest

from portal.extensions import db
from portal.models import User
from portal.people.invitations import InvitationLimitError, invite_user


@pytest.fixture
def low_limit(app, monkeypatch):
    monkeypatch.setitem(app.config, "INVITE_LIMIT", "2 per hour")


def new_conversation(client, n, name=None):
    return client.form_post(
        "/app/rooms",
        {
            "title": f"Room {n}",
            "new_client_name": name or f"New {n}",
            "new_client_email": f"new{n}@example.test",
        },
    )


def test_new_conversation_invites_count_against_the_limit(client, people, low_limit, outbox):
    client.login("staff@example.test")
    assert new_conversation(client, 1).status_code == 302
    assert new_conversation(client, 2).status_code == 302
    refused = new_conversation(client, 3)
    assert refused.status_code == 429
    page = refused.get_data(as_text=True)
    assert "too many invitations" in page and "Room 3" in page  # the draft is kept
    assert len(outbox.messages()) == 2


def test_both_routes_share_one_budget(client, people, low_limit, outbox):
    client.login("admin@example.test")
    assert new_conversation(client, 1).status_code == 302
    data = {"email": "p@example.test", "name": "P", "kind": "client"}
    assert client.form_post("/settings/users/invite", data).status_code == 302
    data = {"email": "q@example.test", "name": "Q", "kind": "client"}
    assert client.form_post("/settings/users/invite", data).status_code == 429
    assert new_conversation(client, 2).status_code == 429
    assert len(outbox.messages()) == 2


def test_the_verb_itself_enforces_the_limit(app, people, low_limit):
    with app.app_context():
        staff = db.session.get(User, people["staff"].id)
        invite_user("a@example.test", "A", "client", staff)
        invite_user("b@example.test", "B", "client", staff)
        with pytest.raises(InvitationLimitError):
            invite_user("c@example.test", "C", "client", staff)
        # Another inviter has their own budget.
        admin = db.session.get(User, people["admin"].id)
        invite_user("d@example.test", "D", "client", admin)


@pytest.mark.parametrize(
    "name",
    ["Claim your prize at https://evil.example", "Visit www.evil.example", "<b>Boss</b>"],
)
def test_an_invitee_name_cannot_carry_a_link(client, people, outbox, name):
    client.login("staff@example.test")
    response = new_conversation(client, 1, name=name)
    assert response.status_code == 422
    assert "A name can&#39;t contain a web address." in response.get_data(as_text=True)
    assert outbox.messages() == []


def test_invisible_characters_are_dropped_from_invitee_names(client, app, people, outbox):
    client.login("staff@example.test")
    name = "Nina\u202e gnp.exe\u200b New\u2066"
    assert new_conversation(client, 1, name=name).status_code == 302
    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == "new1@example.test"))
        assert user.name == "Nina gnp.exe New"
    body = outbox.messages("new1@example.test")[0].get_body(("plain",)).get_content()
    assert "\u202e" not in body and "Hello Nina gnp.exe New" in body


def test_a_name_over_the_limit_is_refused(client, people, outbox):
    client.login("staff@example.test")
    assert new_conversation(client, 1, name="N" * 121).status_code == 422
    assert outbox.messages() == []
