"""Login, logout, CSRF, and who is sent where."""

import pytest

from tests.conftest import PASSWORD


def test_login_page_renders(client):
    page = client.get("/login")
    assert page.status_code == 200
    assert b'name="email"' in page.data and b'name="password"' in page.data
    assert b'name="csrf_token"' in page.data


def test_internal_user_lands_on_workspace(client, people):
    response = client.login("staff@example.test")
    assert response.status_code == 302
    assert response.headers["Location"] == "/app/rooms"
    assert client.get("/app/rooms").status_code == 200


def test_client_lands_on_portal(client, people):
    response = client.login("client@example.test")
    assert response.headers["Location"] == "/portal/rooms"
    assert client.get("/portal/rooms").status_code == 200


def test_email_is_case_insensitive(client, people):
    assert client.login("  STAFF@Example.TEST ").status_code == 302


@pytest.mark.parametrize(
    "email,password",
    [
        ("staff@example.test", "wrong password"),
        ("nobody@example.test", PASSWORD),
        ("deactivated@example.test", PASSWORD),
        ("invited@example.test", ""),
    ],
)
def test_failed_login_gives_one_generic_message(client, people, email, password):
    response = client.login(email, password)
    assert response.status_code in (200, 400)
    assert (
        b"Wrong email or password." in response.data or b"This field is required" in response.data
    )
    assert client.get("/app/rooms").status_code == 302


def test_wrong_password_and_unknown_email_read_the_same(client, people):
    wrong = client.login("staff@example.test", "nope nope nope").get_data(as_text=True)
    unknown = client.login("ghost@example.test", "nope nope nope").get_data(as_text=True)
    strip = lambda html: html.replace("staff@example.test", "").replace("ghost@example.test", "")  # noqa: E731
    import re

    token = re.compile(r'(name="csrf_token"[^>]*value="|content="|"X-CSRFToken": ")[^"]+"')
    assert token.sub("", strip(wrong)) == token.sub("", strip(unknown))


def test_forged_login_without_csrf_token_is_refused(client, people):
    response = client.post("/login", data={"email": "staff@example.test", "password": PASSWORD})
    assert response.status_code == 400
    assert b"did not come from this site" in response.data or b"expired" in response.data
    assert client.get("/app/rooms").status_code == 302


def test_logout_requires_post_and_csrf(client, people):
    client.login("staff@example.test")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    assert client.get("/app/rooms").status_code == 200
    response = client.logout()
    assert response.headers["Location"] == "/login"
    assert client.get("/app/rooms").status_code == 302


def test_anonymous_is_sent_to_login(client):
    for url in ("/app/rooms", "/portal/rooms", "/settings/users"):
        response = client.get(url)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize("url", ["/app/rooms", "/settings/users"])
def test_client_is_refused_the_workspace_and_settings(client, people, url):
    client.login("client@example.test")
    response = client.get(url)
    assert response.status_code == 404
    assert b'aria-label="Workspace"' not in response.data
    assert b"staff@example.test" not in response.data


def test_staff_does_not_use_the_client_portal(client, people):
    client.login("staff@example.test")
    assert client.get("/portal/rooms").status_code == 404


def test_login_redirects_only_to_local_paths(client, people):
    token = client.csrf_token()
    for target, expected in [
        ("/app/rooms?x=1", "/app/rooms?x=1"),
        ("https://evil.example/", "/app/rooms"),
        ("//evil.example/", "/app/rooms"),
        ("/\\evil.example", "/app/rooms"),
    ]:
        response = client.post(
            "/login",
            data={
                "email": "staff@example.test",
                "password": PASSWORD,
                "next": target,
                "csrf_token": token,
            },
        )
        assert response.headers["Location"] == expected
        client.logout()
        token = client.csrf_token()


def test_deactivated_users_open_session_stops_working(client, people, app):
    from portal.extensions import db

    client.login("staff@example.test")
    assert client.get("/app/rooms").status_code == 200
    with app.app_context():
        user = db.session.get(type(people["staff"]), people["staff"].id)
        user.active = False
        db.session.commit()
    assert client.get("/app/rooms").status_code == 302


def test_session_cookie_replayed_after_logout_fails(client, people, app):
    client.login("staff@example.test")
    cookie = client.get_cookie("session").value
    client.logout()
    replay = app.test_client()
    replay.set_cookie("session", cookie)
    assert replay.get("/app/rooms").status_code == 302


@pytest.mark.parametrize(
    "email,home", [("staff@example.test", "/app/rooms"), ("client@example.test", "/portal/rooms")]
)
def test_everyone_can_reach_change_password_and_notifications(client, people, email, home):
    client.login(email)
    page = client.get(home).get_data(as_text=True)
    assert 'href="/password/change"' in page
    assert 'href="/preferences/notifications"' in page
    assert client.get("/password/change").status_code == 200
