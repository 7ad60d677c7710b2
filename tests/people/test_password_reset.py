"""Password reset by email, password change, and what each does to open sessions."""

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from portal.extensions import db
from portal.models import User
from portal.models.base import utcnow
from portal.people.passwords import request_password_reset
from tests.conftest import PASSWORD

INVALID = "This link is no longer valid"
NEW_PASSWORD = "a brand new password"
RESET_PREFIX = "http://portal.test/password/reset/"


def forgot(client, email):
    """Ask for a reset; closing the response (as a server does) sends the email."""
    response = client.form_post("/password/forgot", {"email": email})
    response.get_data()
    response.close()
    return response


def reset_path(outbox, email):
    return urlsplit(outbox.link(email, RESET_PREFIX)).path


def without_tokens(html):
    return re.sub(r'(name="csrf_token"[^>]*value="|content="|"X-CSRFToken": ")[^"]+"', "", html)


def test_login_page_links_to_forgot_password(client):
    html = client.get("/login").get_data(as_text=True)
    assert "Forgot your password?" in html
    assert 'href="/password/forgot"' in html
    assert 'name="email"' in client.get("/password/forgot").get_data(as_text=True)


def test_forgot_password_emails_a_reset_link(client, people, outbox):
    response = forgot(client, " Staff@Example.test ")
    assert response.status_code == 200
    assert "Check your email" in response.get_data(as_text=True)
    [message] = outbox.messages("staff@example.test")
    assert message["Subject"] == "Reset your Portal Messaging password"
    assert reset_path(outbox, "staff@example.test").startswith("/password/reset/")


def test_the_reset_email_goes_out_only_after_the_response(client, people, outbox):
    response = client.form_post("/password/forgot", {"email": "staff@example.test"})
    assert response.status_code == 200
    assert outbox.messages() == []
    response.close()
    assert len(outbox.messages("staff@example.test")) == 1


def test_forgot_password_reads_the_same_whether_or_not_the_email_exists(client, people, outbox):
    known = forgot(client, "staff@example.test")
    unknown = forgot(client, "ghost@example.test")
    deactivated = forgot(client, "deactivated@example.test")
    invited = forgot(client, "invited@example.test")
    bodies = {
        without_tokens(r.get_data(as_text=True)) for r in (known, unknown, deactivated, invited)
    }
    assert {r.status_code for r in (known, unknown, deactivated, invited)} == {200}
    assert len(bodies) == 1
    assert [m["To"] for m in outbox.messages()] == ["Staff <staff@example.test>"]


def test_reset_sets_the_password_and_ends_every_session(people, app, outbox):
    other_device, browser = app.test_client(), app.test_client()
    other_device.login("staff@example.test")
    assert other_device.get("/app/rooms").status_code == 200
    cookie = other_device.get_cookie("session").value

    forgot(browser, "staff@example.test")
    path = reset_path(outbox, "staff@example.test")
    page = browser.get(path)
    assert page.status_code == 200
    assert page.headers["Referrer-Policy"] == "no-referrer"
    response = browser.form_post(path, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/app/rooms"
    assert browser.get("/app/rooms").status_code == 200

    assert other_device.get("/app/rooms").status_code == 302
    replay = app.test_client()
    replay.set_cookie("session", cookie)
    assert replay.get("/app/rooms").status_code == 302
    fresh = app.test_client()
    assert fresh.login("staff@example.test", PASSWORD).status_code == 200
    assert fresh.login("staff@example.test", NEW_PASSWORD).status_code == 302


def test_reset_link_works_once_and_a_newer_one_replaces_it(client, people, outbox):
    forgot(client, "staff@example.test")
    first = reset_path(outbox, "staff@example.test")
    forgot(client, "staff@example.test")
    second = reset_path(outbox, "staff@example.test")
    assert INVALID in client.get(first).get_data(as_text=True)
    data = {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    assert client.form_post(second, data).status_code == 302
    client.logout()
    response = client.form_post(second, data)
    assert response.status_code == 404
    assert INVALID in response.get_data(as_text=True)


def test_reset_link_expires_after_an_hour(client, people, app, outbox):
    with app.app_context():
        request_password_reset("staff@example.test", now=utcnow() - timedelta(minutes=61))
    assert client.get(reset_path(outbox, "staff@example.test")).status_code == 404
    with app.app_context():
        request_password_reset("staff@example.test", now=utcnow() - timedelta(minutes=59))
    assert client.get(reset_path(outbox, "staff@example.test")).status_code == 200


def test_tampered_reset_token_and_invite_token_are_not_interchangeable(client, people, outbox):
    forgot(client, "staff@example.test")
    token = reset_path(outbox, "staff@example.test").split("/")[-1]
    assert client.get(f"/password/reset/{token[:-2]}xy").status_code == 404
    assert client.get(f"/invite/{token}").status_code == 404


def test_reset_link_stops_working_when_the_user_is_deactivated(client, people, app, outbox):
    forgot(client, "staff@example.test")
    path = reset_path(outbox, "staff@example.test")
    with app.app_context():
        db.session.get(User, people["staff"].id).active = False
        db.session.commit()
    assert INVALID in client.get(path).get_data(as_text=True)


def test_reset_password_rules(client, people, outbox):
    forgot(client, "staff@example.test")
    path = reset_path(outbox, "staff@example.test")
    response = client.form_post(path, {"password": "short", "confirm": "short"})
    assert response.status_code == 400
    assert "at least 10 characters" in response.get_data(as_text=True)
    assert client.get(path).status_code == 200


def test_change_password_ends_other_sessions_but_not_this_one(people, app):
    here, elsewhere = app.test_client(), app.test_client()
    here.login("client@example.test")
    elsewhere.login("client@example.test")
    assert 'name="current"' in here.get("/password/change").get_data(as_text=True)
    response = here.form_post(
        "/password/change",
        {"current": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert here.get("/portal/rooms").status_code == 200
    assert elsewhere.get("/portal/rooms").status_code == 302


@pytest.mark.parametrize(
    "current,password,error",
    [
        ("wrong password", NEW_PASSWORD, "not your current password"),
        (PASSWORD, "short", "at least 10 characters"),
    ],
)
def test_change_password_errors(client, people, current, password, error):
    client.login("staff@example.test")
    response = client.form_post(
        "/password/change", {"current": current, "password": password, "confirm": password}
    )
    assert response.status_code == 400
    assert error in response.get_data(as_text=True)
    assert client.get("/app/rooms").status_code == 200


def test_session_replay_after_logout_fails(people, app):
    browser = app.test_client()
    browser.login("client@example.test")
    cookie = browser.get_cookie("session").value
    browser.logout()
    replay = app.test_client()
    replay.set_cookie("session", cookie)
    assert replay.get("/portal/rooms").status_code == 302
