"""Inviting people: the email, the single-use link, re-send, expiry, and activation."""

import hashlib
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from portal.access import visible_rooms
from portal.extensions import db
from portal.messaging.rooms import create_room
from portal.models import Invitation, Room, User
from portal.models.base import utcnow
from portal.people.invitations import InvitationEmailError, InvitationError, invite_user

INVALID = "This link is no longer valid — ask for a new invitation."
NEW_PASSWORD = "a long new password"


def invite(client, email="new@example.test", name="Nina New", kind="client"):
    return client.form_post("/settings/users/invite", {"email": email, "name": name, "kind": kind})


def path_of(link):
    return urlsplit(link).path


def set_password(client, path, password=NEW_PASSWORD, confirm=None):
    return client.form_post(path, {"password": password, "confirm": confirm or password})


def load(app, email):
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        if user is not None:
            db.session.expunge(user)
        return user


def test_admin_invites_a_client_who_gets_an_email(client, people, app, outbox):
    client.login("admin@example.test")
    response = invite(client, email="  Nina@Example.TEST ")
    assert response.status_code == 302
    assert "Invitation sent to nina@example.test" in client.get("/settings/users").get_data(
        as_text=True
    )
    user = load(app, "nina@example.test")
    assert (user.kind, user.name, user.status, user.password_hash) == (
        "client",
        "Nina New",
        "invited",
        None,
    )
    [message] = outbox.messages("nina@example.test")
    assert message.get_body(preferencelist=("html",)) is not None
    link = outbox.link("nina@example.test", "http://portal.test/invite/")
    assert link in message.get_body(preferencelist=("html",)).get_content()


def test_invite_link_uses_the_configured_base_url_not_the_host(people, app, outbox):
    with app.test_request_context("/settings/users/invite", base_url="http://evil.example"):
        admin = db.session.get(User, people["admin"].id)
        invite_user("n@example.test", "N", "client", admin)
    text = outbox.messages("n@example.test")[-1].get_body(("plain",)).get_content()
    assert "http://portal.test/invite/" in text
    assert "evil.example" not in text


def test_only_a_hash_of_the_token_is_stored(client, people, app, outbox):
    client.login("admin@example.test")
    invite(client)
    token = path_of(outbox.link("new@example.test", "http://portal.test/invite/")).rsplit("/")[-1]
    with app.app_context():
        [stored] = db.session.scalars(select(Invitation)).all()
        assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert token not in stored.token_hash
        assert stored.expires_at - stored.created_at == timedelta(days=7)


def test_following_the_link_sets_a_password_and_logs_in(client, people, app, outbox):
    client.login("admin@example.test")
    invite(client)
    client.logout()
    path = path_of(outbox.link("new@example.test", "http://portal.test/invite/"))
    page = client.get(path)
    assert page.status_code == 200
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert 'name="password"' in page.get_data(as_text=True)
    assert 'name="confirm"' in page.get_data(as_text=True)
    response = set_password(client, path)
    assert response.status_code == 302
    assert response.headers["Location"] == "/portal/rooms"
    assert client.get("/portal/rooms").status_code == 200
    user = load(app, "new@example.test")
    assert user.status == "active" and user.activated_at is not None
    client.logout()
    assert client.login("new@example.test", NEW_PASSWORD).status_code == 302


def test_an_invited_internal_user_lands_in_the_workspace(client, people, outbox):
    client.login("admin@example.test")
    invite(client, email="colleague@example.test", name="Col", kind="internal")
    client.logout()
    path = path_of(outbox.link("colleague@example.test", "http://portal.test/invite/"))
    assert set_password(client, path).headers["Location"] == "/app/rooms"


@pytest.mark.parametrize(
    "password,confirm,error",
    [
        ("short", "short", "at least 10 characters"),
        ("new@example.test", "new@example.test", "can&#39;t be your email"),
        ("a long new password", "a different one!!", "don&#39;t match"),
    ],
)
def test_password_rules_on_the_invite_page(client, people, app, outbox, password, confirm, error):
    client.login("admin@example.test")
    invite(client)
    client.logout()
    path = path_of(outbox.link("new@example.test", "http://portal.test/invite/"))
    response = set_password(client, path, password, confirm)
    assert response.status_code == 400
    assert error in response.get_data(as_text=True)
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert load(app, "new@example.test").status == "invited"
    assert set_password(client, path).status_code == 302


def test_the_link_works_once(client, people, outbox):
    client.login("admin@example.test")
    invite(client)
    client.logout()
    path = path_of(outbox.link("new@example.test", "http://portal.test/invite/"))
    assert set_password(client, path).status_code == 302
    client.logout()
    for response in (client.get(path), set_password(client, path, "another password!")):
        assert response.status_code == 404
        assert INVALID in response.get_data(as_text=True)
        assert response.headers["Referrer-Policy"] == "no-referrer"
    assert client.login("new@example.test", "another password!").status_code == 200


def test_the_link_expires_after_seven_days(client, people, app, outbox):
    with app.app_context():
        admin = db.session.get(User, people["admin"].id)
        invite_user("late@example.test", "Late", "client", admin, now=utcnow() - timedelta(days=7))
    path = path_of(outbox.link("late@example.test", "http://portal.test/invite/"))
    response = client.get(path)
    assert response.status_code == 404
    assert INVALID in response.get_data(as_text=True)

    with app.app_context():
        admin = db.session.get(User, people["admin"].id)
        invite_user(
            "early@example.test", "Early", "client", admin, now=utcnow() - timedelta(days=6)
        )
    path = path_of(outbox.link("early@example.test", "http://portal.test/invite/"))
    assert client.get(path).status_code == 200


def test_resend_issues_a_new_link_and_kills_the_old_one(client, people, outbox):
    client.login("admin@example.test")
    invite(client)
    old = path_of(outbox.link("new@example.test", "http://portal.test/invite/"))
    user_id = load(client.application, "new@example.test").id
    page = client.get("/settings/users").get_data(as_text=True)
    assert f'action="/settings/users/{user_id}/resend"' in page
    response = client.form_post(f"/settings/users/{user_id}/resend")
    assert response.status_code == 302
    new = path_of(outbox.link("new@example.test", "http://portal.test/invite/"))
    assert new != old
    assert len(outbox.messages("new@example.test")) == 2
    client.logout()
    assert INVALID in client.get(old).get_data(as_text=True)
    assert set_password(client, new).status_code == 302


def test_resend_is_refused_for_active_users(client, people, outbox):
    client.login("admin@example.test")
    client.form_post(f"/settings/users/{people['client'].id}/resend")
    assert "is not waiting for an invitation" in client.get("/settings/users").get_data(
        as_text=True
    )
    assert outbox.messages() == []


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),
        lambda t: t[:20],
        lambda t: t + "x" * 200,
        lambda t: "not-a-token",
    ],
)
def test_tampered_tokens_get_the_generic_page(client, people, outbox, tamper):
    client.login("admin@example.test")
    invite(client)
    client.logout()
    token = path_of(outbox.link("new@example.test", "http://portal.test/invite/")).split("/")[-1]
    response = client.get(f"/invite/{tamper(token)}")
    assert response.status_code == 404
    assert INVALID in response.get_data(as_text=True)


def test_a_deactivated_invitees_link_stops_working(client, people, app, outbox):
    client.login("admin@example.test")
    invite(client)
    path = path_of(outbox.link("new@example.test", "http://portal.test/invite/"))
    user = load(app, "new@example.test")
    client.form_post(f"/settings/users/{user.id}/edit", {"name": user.name})
    assert load(app, "new@example.test").status == "deactivated"
    client.logout()
    assert INVALID in client.get(path).get_data(as_text=True)


def test_inviting_an_existing_email_says_so(client, people, app, outbox):
    client.login("admin@example.test")
    response = invite(client, email="STAFF@example.test", name="Someone Else")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "There is already a user with the email staff@example.test." in html
    assert 'value="Someone Else"' in html
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id)).where(User.email.like("staff@%"))) == 1
    assert outbox.messages() == []


@pytest.mark.parametrize(
    "data,error",
    [
        ({"email": "not an email", "name": "Nina"}, "Enter a valid email address."),
        ({"email": "nina@example.test", "name": ""}, "This field is required."),
        ({"email": "nina@example.test", "name": "Nina", "kind": "admin"}, "Not a valid choice"),
    ],
)
def test_invite_errors_are_inline_and_keep_input(client, people, outbox, data, error):
    client.login("admin@example.test")
    response = client.form_post("/settings/users/invite", {"kind": "client", **data})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert error in html
    assert f'value="{data["email"]}"' in html
    assert outbox.messages() == []


def test_invite_user_verb_for_the_new_conversation_form(app, people, outbox):
    with app.app_context():
        admin = db.session.get(User, people["admin"].id)
        user = invite_user("Fresh@Example.test", " Fresh  Client ", "client", invited_by=admin)
        assert (user.email, user.name, user.status) == (
            "fresh@example.test",
            "Fresh Client",
            "invited",
        )
        with pytest.raises(ValueError, match="already a user"):
            invite_user("fresh@example.test", "Again", "client", invited_by=admin)
        with pytest.raises(InvitationError):
            invite_user("x@example.test", "X", "robot", invited_by=admin)
    assert len(outbox.messages("fresh@example.test")) == 1


def test_an_invited_client_sees_rooms_they_were_added_to_once_active(client, people, app, outbox):
    with app.app_context():
        admin = db.session.get(User, people["admin"].id)
        user = invite_user("new@example.test", "Nina", "client", admin)
        room_id = create_room(admin, "Nina — onboarding", [user.id]).id
    path = path_of(outbox.link("new@example.test", "http://portal.test/invite/"))
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "new@example.test"))
        assert db.session.scalar(visible_rooms(user).where(Room.id == room_id)) is None
    set_password(client, path)
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "new@example.test"))
        assert db.session.scalar(visible_rooms(user).where(Room.id == room_id)) is not None


def test_a_failed_email_is_reported_and_can_be_re_sent(client, people, app, outbox, monkeypatch):
    def broken(*args, **kwargs):
        raise ConnectionRefusedError("smtp down")

    monkeypatch.setattr("portal.people.invitations.send_email", broken)
    client.login("admin@example.test")
    invite(client)
    html = client.get("/settings/users").get_data(as_text=True)
    assert "the email could not be sent" in html
    user = load(app, "new@example.test")
    assert user.status == "invited"
    with app.app_context(), pytest.raises(InvitationEmailError):
        invite_user("other@example.test", "O", "client", db.session.get(User, people["admin"].id))
    monkeypatch.undo()
    client.form_post(f"/settings/users/{user.id}/resend")
    assert len(outbox.messages("new@example.test")) == 1
