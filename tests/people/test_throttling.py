"""Throttling of failed logins, reset requests and invitations (limits lowered per test)."""

import pytest

from tests.conftest import PASSWORD

TOO_MANY = "Too many attempts"


@pytest.fixture
def limits(app, monkeypatch):
    """Set limits for one test; they are read on every request."""

    def set_limits(**values):
        for name, value in values.items():
            monkeypatch.setitem(app.config, name, value)

    return set_limits


def test_limits_are_on_by_default_with_the_documented_values(app):
    assert app.config["RATELIMIT_ENABLED"] is True
    assert app.config["LOGIN_FAILURE_LIMIT"] == "10 per 5 minutes"


def test_failed_logins_are_throttled_per_ip_and_email(client, people, limits):
    limits(LOGIN_FAILURE_LIMIT="3 per minute")
    for _ in range(3):
        assert client.login("staff@example.test", "wrong password").status_code == 200
    blocked = client.login("staff@example.test", PASSWORD)
    assert blocked.status_code == 429
    assert TOO_MANY in blocked.get_data(as_text=True)
    assert client.get("/app/rooms").status_code == 302
    # Another account from the same address is not locked by these failures.
    assert client.login("client@example.test").status_code == 302


def test_failed_logins_are_throttled_per_ip_across_emails(client, people, limits):
    limits(LOGIN_FAILURE_IP_LIMIT="4 per minute")
    for n in range(4):
        assert client.login(f"guess{n}@example.test", "wrong password").status_code == 200
    assert client.login("staff@example.test").status_code == 429


def test_successful_logins_do_not_count(client, people, limits):
    limits(LOGIN_FAILURE_LIMIT="2 per minute", LOGIN_FAILURE_IP_LIMIT="2 per minute")
    for _ in range(4):
        assert client.login("staff@example.test").status_code == 302
        client.logout()
    assert client.get("/login").status_code == 200


def test_forgot_password_is_throttled(client, people, limits, outbox):
    limits(PASSWORD_FORGOT_LIMIT="2 per minute")
    for _ in range(2):
        response = client.form_post("/password/forgot", {"email": "staff@example.test"})
        assert response.status_code == 200
        response.close()  # as a server does: the email goes out on close
    response = client.form_post("/password/forgot", {"email": "staff@example.test"})
    assert response.status_code == 429
    assert TOO_MANY in response.get_data(as_text=True)
    assert len(outbox.messages("staff@example.test")) == 2


def test_forgot_password_is_throttled_per_ip(client, people, limits):
    limits(PASSWORD_FORGOT_IP_LIMIT="3 per minute")
    for n in range(3):
        client.form_post("/password/forgot", {"email": f"who{n}@example.test"})
    assert client.form_post("/password/forgot", {"email": "x@example.test"}).status_code == 429


def test_invitations_are_throttled_per_admin(client, people, limits, outbox):
    limits(INVITE_LIMIT="2 per minute")
    client.login("admin@example.test")
    for n in range(2):
        data = {"email": f"p{n}@example.test", "name": f"P{n}", "kind": "client"}
        assert client.form_post("/settings/users/invite", data).status_code == 302
    data = {"email": "p9@example.test", "name": "P9", "kind": "client"}
    assert client.form_post("/settings/users/invite", data).status_code == 429
    # Re-sending shares the same budget.
    assert client.form_post(f"/settings/users/{people['invited'].id}/resend").status_code == 429
    assert len(outbox.messages()) == 2
