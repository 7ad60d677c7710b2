"""Login links: "Email me a login link" on the login page, one answer for every address,
rate-limited, single use, 15 minutes, spent only by the POST of a "Log in" button."""

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from portal.extensions import db
from portal.models import User
from portal.models.base import utcnow
from portal.people.login_links import request_login_link

LINK_PREFIX = "http://portal.test/login/link/"
INVALID = "This link is no longer valid"


@pytest.fixture(autouse=True)
def _fresh_settings():
    """The process's copy of the settings goes with each test's tables."""
    from portal.infra import settings

    settings.forget()
    yield
    settings.forget()


@pytest.fixture
def setting(app, monkeypatch):
    def set_values(**values):
        for name, value in values.items():
            monkeypatch.setitem(app.config, name, value)

    return set_values


def ask(client, email):
    """Ask for a link; closing the response (as a server does) sends the email."""
    response = client.form_post("/login/link", {"email": email})
    response.get_data()
    response.close()
    return response


def link_path(outbox, email):
    return urlsplit(outbox.link(email, LINK_PREFIX)).path


def without_tokens(html):
    return re.sub(r'(name="csrf_token"[^>]*value="|content="|"X-CSRFToken": ")[^"]+"', "", html)


def test_the_login_page_offers_a_login_link(client):
    html = client.get("/login").get_data(as_text=True)
    assert "Email me a login link" in html
    assert 'href="/login/link"' in html
    form = client.get("/login/link").get_data(as_text=True)
    assert 'name="email"' in form and "Send login link" in form
    assert '<label for="email"' in form


def test_a_login_link_logs_in_once_by_its_button(app, client, people, outbox):
    assert ask(client, " Client@Example.test ").status_code == 200
    [message] = outbox.messages("client@example.test")
    assert message["Subject"] == "Your login link for Portal Messaging"
    assert "15 minutes" in message.get_body(("plain",)).get_content()
    path = link_path(outbox, "client@example.test")

    page = client.get(path)  # what a mail scanner does: it must not log in or spend the link
    assert page.status_code == 200
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers["Cache-Control"] == "no-store"
    assert ">Log in</button>" in page.get_data(as_text=True)
    assert client.get("/portal/rooms").status_code == 302
    assert client.get(path).status_code == 200

    response = client.form_post(path)
    assert response.status_code == 302
    assert response.headers["Location"] == "/portal/rooms"
    assert client.get("/portal/rooms").status_code == 200

    other = app.test_client()
    assert other.get(path).status_code == 404
    assert INVALID in other.get(path).get_data(as_text=True)
    assert other.form_post(path).status_code == 404
    assert other.get("/portal/rooms").status_code == 302


def test_the_post_needs_its_csrf_token(app, client, people, outbox):
    ask(client, "staff@example.test")
    path = link_path(outbox, "staff@example.test")
    response = client.post(path, data={})
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)
    assert client.get("/app/rooms").status_code == 302
    assert client.form_post(path).status_code == 302  # the link was not spent


def test_every_address_gets_the_same_answer(client, people, outbox):
    answers = [
        ask(client, email)
        for email in (
            "staff@example.test",
            "ghost@example.test",
            "deactivated@example.test",
            "invited@example.test",
        )
    ]
    assert {r.status_code for r in answers} == {200}
    assert len({without_tokens(r.get_data(as_text=True)) for r in answers}) == 1
    assert [m["To"] for m in outbox.messages()] == ["Staff <staff@example.test>"]


def test_a_newer_link_replaces_the_older_one(client, people, outbox):
    ask(client, "staff@example.test")
    first = link_path(outbox, "staff@example.test")
    ask(client, "staff@example.test")
    second = link_path(outbox, "staff@example.test")
    assert first != second
    assert client.get(first).status_code == 404
    assert client.form_post(second).status_code == 302


def test_a_login_link_expires_after_15_minutes(app, client, people, outbox):
    with app.app_context():
        request_login_link("staff@example.test", now=utcnow() - timedelta(minutes=16))
    assert client.get(link_path(outbox, "staff@example.test")).status_code == 404
    with app.app_context():
        request_login_link("staff@example.test", now=utcnow() - timedelta(minutes=14))
    assert client.get(link_path(outbox, "staff@example.test")).status_code == 200


def test_a_deactivated_user_cannot_use_a_link_issued_before(app, client, people, outbox):
    ask(client, "staff@example.test")
    path = link_path(outbox, "staff@example.test")
    with app.app_context():
        db.session.get(User, people["staff"].id).active = False
        db.session.commit()
    assert client.form_post(path).status_code == 404
    assert client.get("/app/rooms").status_code == 302


def test_tokens_of_other_links_do_not_log_in(client, people, outbox):
    client.form_post("/password/forgot", {"email": "staff@example.test"}).close()
    reset_token = outbox.link("staff@example.test", "http://portal.test/password/reset/")
    token = reset_token.rsplit("/", 1)[1]
    assert client.get(f"/login/link/{token}").status_code == 404
    assert client.form_post(f"/login/link/{token}").status_code == 404
    assert client.get(f"/login/link/{'x' * 500}").status_code == 404


def test_staff_only_keeps_clients_on_passwords(client, people, outbox, setting):
    setting(LOGIN_LINKS="staff")
    ask(client, "client@example.test")
    ask(client, "staff@example.test")
    assert [m["To"] for m in outbox.messages()] == ["Staff <staff@example.test>"]


def test_switching_links_to_staff_stops_a_client_link_already_sent(client, people, outbox, setting):
    ask(client, "client@example.test")
    path = link_path(outbox, "client@example.test")
    setting(LOGIN_LINKS="staff")
    assert client.form_post(path).status_code == 404
    assert client.get("/portal/rooms").status_code == 302


def test_off_removes_login_links(client, people, outbox, setting):
    ask(client, "staff@example.test")
    path = link_path(outbox, "staff@example.test")
    setting(LOGIN_LINKS="off")
    assert "login link" not in client.get("/login").get_data(as_text=True)
    assert client.get("/login/link").status_code == 404
    assert client.form_post("/login/link", {"email": "staff@example.test"}).status_code == 404
    assert client.form_post(path).status_code == 404
    assert len(outbox.messages()) == 1


def test_login_links_are_throttled_per_address(client, people, outbox, setting):
    setting(LOGIN_LINK_LIMIT="2 per minute")
    for _ in range(2):
        assert ask(client, "staff@example.test").status_code == 200
    response = ask(client, "staff@example.test")
    assert response.status_code == 429
    assert "Too many attempts" in response.get_data(as_text=True)
    assert len(outbox.messages("staff@example.test")) == 2


def test_login_links_are_throttled_per_ip(client, people, setting):
    setting(LOGIN_LINK_IP_LIMIT="3 per minute")
    for n in range(3):
        assert ask(client, f"who{n}@example.test").status_code == 200
    assert ask(client, "staff@example.test").status_code == 429


def test_admins_switch_login_links_in_settings(app, people, outbox):
    from portal.infra import settings

    admin, visitor = app.test_client(), app.test_client()
    admin.login("admin@example.test")
    page = admin.get("/settings/portal").get_data(as_text=True)
    assert 'name="login_links"' in page and "Nobody: passwords only" in page
    base = {"portal_name": "Portal Messaging", "accent_colour": "#2f5bd3"}
    base["sidebar_colour"] = "#1f2a44"
    response = admin.form_post("/settings/portal", {**base, "login_links": "staff"})
    assert response.status_code == 302
    settings.forget()
    ask(visitor, "client@example.test")
    ask(visitor, "staff@example.test")
    assert [m["To"] for m in outbox.messages()] == ["Staff <staff@example.test>"]

    assert admin.form_post("/settings/portal", {**base, "login_links": "off"}).status_code == 302
    settings.forget()
    assert "login link" not in visitor.get("/login").get_data(as_text=True)
    assert visitor.get("/login/link").status_code == 404

    refused = admin.form_post("/settings/portal", {**base, "login_links": "sometimes"})
    assert refused.status_code == 422
    assert "Choose who may log in with a login link." in refused.get_data(as_text=True)
    with app.app_context():
        assert settings.value("LOGIN_LINKS") == "off"
