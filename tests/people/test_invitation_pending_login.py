"""An invited user who tries to log in is offered a re-send, revealing no account to anyone."""

import re

import pytest

INVITE_PREFIX = "http://portal.test/invite/"


def without_tokens(html):
    html = re.sub(r'(name="csrf_token"[^>]*value="|content="|"X-CSRFToken": ")[^"]+"', "", html)
    return re.sub(r'name="email"[^>]*value="[^"]*"', "", html)


def resend(client, email):
    response = client.form_post("/invitation/resend", {"email": email})
    response.get_data()
    response.close()  # as a server does: the email goes out after the answer
    return response


def test_a_failed_login_offers_a_resend_and_looks_the_same_for_every_email(client, people):
    pages = {}
    for email in ("invited@example.test", "nobody@example.test", "staff@example.test"):
        response = client.login(email, "not the password")
        assert response.status_code == 200
        pages[email] = without_tokens(response.get_data(as_text=True))
    assert len(set(pages.values())) == 1
    page = pages["invited@example.test"]
    assert "Wrong email or password." in page
    assert "Re-send my invitation" in page and 'action="/invitation/resend"' in page


def test_the_login_form_prefills_the_resend_with_the_typed_email(client, people):
    html = client.login("invited@example.test", "whatever it is").get_data(as_text=True)
    assert 'name="email" value="invited@example.test"' in html


@pytest.mark.parametrize(
    "email,sent",
    [
        ("invited@example.test", True),
        ("INVITED@example.test ", True),
        ("nobody@example.test", False),
        ("staff@example.test", False),
        ("deactivated@example.test", False),
    ],
)
def test_resend_answers_the_same_and_emails_only_a_pending_invitation(
    client, people, outbox, email, sent
):
    response = resend(client, email)
    assert response.status_code == 200
    assert "If an invitation is pending for this address, we've re-sent it" in (
        response.get_data(as_text=True)
    )
    assert bool(outbox.messages()) is sent
    if sent:
        link = outbox.link("invited@example.test", INVITE_PREFIX)
        assert client.get(link.removeprefix("http://portal.test")).status_code == 200
        text = outbox.messages()[-1].get_body(("plain",)).get_content()
        assert "You are invited to Portal Messaging" in text


def test_a_resend_supersedes_earlier_invitation_links(client, people, outbox):
    resend(client, "invited@example.test")
    first = outbox.link("invited@example.test", INVITE_PREFIX).removeprefix("http://portal.test")
    resend(client, "invited@example.test")
    assert client.get(first).status_code == 404


def test_resends_are_throttled(client, app, people, outbox, monkeypatch):
    monkeypatch.setitem(app.config, "PASSWORD_FORGOT_LIMIT", "2 per 15 minutes")
    assert resend(client, "invited@example.test").status_code == 200
    assert resend(client, "invited@example.test").status_code == 200
    assert resend(client, "invited@example.test").status_code == 429
    assert len(outbox.messages()) == 2


def test_the_resend_page_works_without_a_failed_login(client):
    html = client.get("/invitation/resend").get_data(as_text=True)
    assert "<h1>Re-send my invitation</h1>" in html and 'name="email"' in html
    assert client.form_post("/invitation/resend", {"email": ""}).status_code == 400
