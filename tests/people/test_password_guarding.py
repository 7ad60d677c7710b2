"""Current-password guessing is throttled and ends the session; any new password kills links."""

import pytest

from portal.extensions import db
from portal.models import User
from portal.people import links
from tests.conftest import PASSWORD

NEW_PASSWORD = "a brand new password"
RESET_PREFIX = "http://portal.test/password/reset/"
INVITE_PREFIX = "http://portal.test/invite/"


def change(client, current, password=NEW_PASSWORD):
    return client.form_post(
        "/password/change", {"current": current, "password": password, "confirm": password}
    )


def forgot(client, email):
    response = client.form_post("/password/forgot", {"email": email})
    response.get_data()
    response.close()


def path_of(link):
    return link.removeprefix("http://portal.test")


def test_repeated_wrong_current_passwords_end_the_session(client, app, people):
    client.login("staff@example.test")
    limit = app.config["PASSWORD_CHANGE_MAX_FAILURES"]
    for _ in range(limit - 1):
        assert change(client, "a wrong guess").status_code == 400
    ended = change(client, "a wrong guess")
    assert ended.status_code == 302 and ended.headers["Location"].endswith("/login")
    page = client.get("/login").get_data(as_text=True)
    assert "wrong current password too many times" in page
    assert client.get("/app/rooms").status_code == 302
    # The right password then changes nothing: that session is over.
    assert change(client, PASSWORD).status_code in (302, 400)
    assert client.login("staff@example.test").status_code == 302


def test_guesses_are_limited_per_user_across_sessions(app, people, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_FAILURE_LIMIT", "3 per 5 minutes")
    monkeypatch.setitem(app.config, "PASSWORD_CHANGE_MAX_FAILURES", 100)
    first, second = app.test_client(), app.test_client()
    first.login("staff@example.test")
    second.login("staff@example.test")
    assert change(first, "guess one").status_code == 400
    assert change(second, "guess two").status_code == 400
    assert change(first, "guess three").status_code == 400
    assert change(second, "guess four").status_code == 429
    # Someone else is not affected.
    other = app.test_client()
    other.login("client@example.test")
    assert change(other, "wrong here").status_code == 400


def test_a_right_current_password_does_not_count(client, app, people, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_FAILURE_LIMIT", "1 per 5 minutes")
    client.login("staff@example.test")
    assert change(client, PASSWORD).status_code == 302
    assert change(client, NEW_PASSWORD, "another new password").status_code == 302


def test_changing_the_password_revokes_an_outstanding_reset_link(client, people, outbox):
    forgot(client, "staff@example.test")
    reset = path_of(outbox.link("staff@example.test", RESET_PREFIX))
    assert client.get(reset).status_code == 200
    client.login("staff@example.test")
    assert change(client, PASSWORD).status_code == 302
    client.logout()
    assert client.get(reset).status_code == 404


def test_a_reset_revokes_the_other_reset_link_and_pending_invitations(app, people, outbox):
    """Two reset links (two browsers asked): using one kills the other."""
    browser = app.test_client()
    forgot(browser, "client@example.test")
    first = path_of(outbox.link("client@example.test", RESET_PREFIX))
    forgot(browser, "client@example.test")
    second = path_of(outbox.link("client@example.test", RESET_PREFIX))
    assert browser.get(first).status_code == 404
    data = {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    assert browser.form_post(second, data).status_code == 302
    assert browser.get(second).status_code == 404


def test_accepting_an_invitation_revokes_every_other_link(client, app, people, outbox):
    client.login("admin@example.test")
    client.form_post(f"/settings/users/{people['invited'].id}/resend")
    invite = path_of(outbox.link("invited@example.test", INVITE_PREFIX))
    # A reset link cannot exist for an invited user; seed one directly to prove revocation.
    with app.app_context():
        user = db.session.get(User, people["invited"].id)
        token = links.issue_link(user, links.RESET, 3600)
        db.session.commit()
    client.logout()
    data = {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    assert client.form_post(invite, data).status_code == 302
    with app.app_context():
        assert links.find_link(token, links.RESET) is None


@pytest.mark.parametrize("route", ["change", "reset"])
def test_every_password_change_revokes_invitation_links(client, app, people, route):
    """Whatever way a password is set, no older single-use link keeps working."""
    with app.app_context():
        user = db.session.get(User, people["staff"].id)
        invite = links.issue_link(user, links.INVITE, 3600)
        reset = links.issue_link(user, links.RESET, 3600)
        db.session.commit()
    if route == "change":
        client.login("staff@example.test")
        assert change(client, PASSWORD).status_code == 302
    else:
        data = {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
        assert client.form_post(f"/password/reset/{reset}", data).status_code == 302
    with app.app_context():
        assert links.find_link(invite, links.INVITE) is None
        assert links.find_link(reset, links.RESET) is None
