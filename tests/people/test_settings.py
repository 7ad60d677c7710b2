"""Settings → Invite & Manage Users: who may use it, the pencil icon, and what edits do."""

import pytest
from sqlalchemy import select

from portal.access import visible_rooms
from portal.events import user_access_changed
from portal.extensions import db
from portal.messaging.rooms import create_room
from portal.models import LoginSession, Room, User


def get_user(app, user_id):
    with app.app_context():
        user = db.session.get(User, user_id)
        db.session.expunge(user)
        return user


def can_see(app, user_id, room_id):
    """What the access module answers for this user on their next request (a fresh row)."""
    with app.app_context():
        user = db.session.get(User, user_id)
        return db.session.scalar(visible_rooms(user).where(Room.id == room_id)) is not None


def edit_data(user, **changes):
    data = {"name": user.name}
    for flag in ("is_admin", "access_all_rooms", "active"):
        if getattr(user, flag):
            data[flag] = "y"
    for key, value in changes.items():
        if value is False:
            data.pop(key, None)
        else:
            data[key] = "y" if value is True else value
    return data


def test_admin_sees_internal_users_and_clients(client, people):
    client.login("admin@example.test")
    page = client.get("/settings/users")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Invite &amp; Manage Users" in html
    assert html.index("Internal users") < html.index("staff@example.test") < html.index("Clients")
    assert html.index("Clients") < html.index("client@example.test")
    for handle in ("staff", "client", "invited", "deactivated"):
        assert f'aria-label="Edit {handle.title()}"' in html
    assert "Access to all chat rooms" in html
    for status in ("invited", "active", "deactivated"):
        assert f"status-{status}" in html
    assert 'name="email"' in html and 'name="kind"' in html and 'name="name"' in html


SETTINGS_URLS = [
    ("get", "/settings/users"),
    ("get", "/settings/users/{id}/edit"),
    ("post", "/settings/users/{id}/edit"),
    ("post", "/settings/users/invite"),
    ("post", "/settings/users/{id}/resend"),
]


@pytest.mark.parametrize("method,url", SETTINGS_URLS)
@pytest.mark.parametrize("persona,status", [("staff", 403), ("staff_all", 403), ("client", 404)])
def test_non_admins_are_refused_every_settings_url(
    client, people, app, method, url, persona, status
):
    client.login(f"{persona}@example.test")
    target = people["invited"]
    url = url.format(id=target.id)
    if method == "get":
        response = client.get(url)
    else:
        response = client.form_post(
            url,
            {"name": "Hacked", "email": "new@example.test", "kind": "internal", "is_admin": "y"},
        )
    assert response.status_code == status
    body = response.get_data(as_text=True)
    assert "@example.test" not in body
    assert "Invite &amp; Manage Users" not in body
    assert get_user(app, target.id).name == "Invited"
    with app.app_context():
        assert db.session.scalar(select(User).where(User.email == "new@example.test")) is None


@pytest.mark.parametrize("method,url", SETTINGS_URLS)
def test_anonymous_is_sent_to_login_from_settings(client, people, method, url):
    url = url.format(id=people["staff"].id)
    response = client.get(url) if method == "get" else client.form_post(url)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_settings_link_is_shown_only_to_admins(client, people):
    client.login("staff@example.test")
    assert "/settings/users" not in client.get("/app/rooms").get_data(as_text=True)
    client.logout()
    client.login("admin@example.test")
    assert "/settings/users" in client.get("/app/rooms").get_data(as_text=True)


def test_pencil_icon_edits_name_and_admin(client, people, app):
    staff = people["staff"]
    client.login("admin@example.test")
    page = client.get(f"/settings/users/{staff.id}/edit")
    assert page.status_code == 200
    for name in ("name", "is_admin", "access_all_rooms", "active"):
        assert f'name="{name}"' in page.get_data(as_text=True)
    assert "Access to all chat rooms" in page.get_data(as_text=True)
    response = client.form_post(
        f"/settings/users/{staff.id}/edit", edit_data(staff, name="Sam Staff", is_admin=True)
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/settings/users"
    user = get_user(app, staff.id)
    assert (user.name, user.is_admin, user.active) == ("Sam Staff", True, True)


def test_edit_errors_are_inline_and_keep_input(client, people, app):
    staff = people["staff"]
    client.login("admin@example.test")
    response = client.form_post(
        f"/settings/users/{staff.id}/edit", edit_data(staff, name="  ", access_all_rooms=True)
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'class="error"' in html
    assert 'id="access_all_rooms" name="access_all_rooms" type="checkbox" value="y"' in html
    assert get_user(app, staff.id).access_all_rooms is False


def test_unknown_user_is_404(client, people):
    client.login("admin@example.test")
    assert client.get("/settings/users/999999/edit").status_code == 404


def test_client_edit_form_has_no_staff_only_fields(client, people):
    client.login("admin@example.test")
    html = client.get(f"/settings/users/{people['client'].id}/edit").get_data(as_text=True)
    assert 'name="is_admin"' not in html
    assert 'name="access_all_rooms"' not in html
    assert 'name="active"' in html


def test_forged_admin_and_all_rooms_on_a_client_change_nothing(client, people, app):
    target = people["client"]
    client.login("admin@example.test")
    response = client.form_post(
        f"/settings/users/{target.id}/edit",
        {"name": "Client", "is_admin": "y", "access_all_rooms": "y", "active": "y"},
    )
    assert response.status_code == 302
    user = get_user(app, target.id)
    assert user.is_admin is False and user.access_all_rooms is False and user.active is True


def test_all_rooms_toggle_changes_visibility_on_the_next_request(client, people, app):
    with app.app_context():
        admin = db.session.get(User, people["admin"].id)
        room = create_room(admin, "Acme — contract", [people["client"].id])
        room_id = room.id
    staff = people["staff"]
    assert not can_see(app, staff.id, room_id)

    client.login("admin@example.test")
    client.form_post(f"/settings/users/{staff.id}/edit", edit_data(staff, access_all_rooms=True))
    assert can_see(app, staff.id, room_id)

    client.form_post(
        f"/settings/users/{staff.id}/edit",
        edit_data(get_user(app, staff.id), access_all_rooms=False),
    )
    assert not can_see(app, staff.id, room_id)


def test_access_changes_send_the_signal_after_commit(client, people, app):
    staff = people["staff"]
    seen = []

    def receiver(sender, user):
        with app.app_context():
            committed = db.session.get(User, user.id)
            seen.append((committed.active, committed.access_all_rooms))

    user_access_changed.connect(receiver)
    try:
        client.login("admin@example.test")
        client.form_post(f"/settings/users/{staff.id}/edit", edit_data(staff, name="Renamed"))
        assert seen == []
        client.form_post(
            f"/settings/users/{staff.id}/edit", edit_data(staff, access_all_rooms=True)
        )
        client.form_post(
            f"/settings/users/{staff.id}/edit",
            edit_data(staff, access_all_rooms=True, active=False),
        )
    finally:
        user_access_changed.disconnect(receiver)
    assert seen == [(True, True), (False, True)]


def test_deactivating_ends_open_sessions(people, app):
    # Two independent browsers: pytest-flask's `client` keeps its last context pushed,
    # which a second client would share.
    client, staff_client = app.test_client(), app.test_client()
    staff = people["staff"]
    staff_client.login("staff@example.test")
    assert staff_client.get("/app/rooms").status_code == 200

    client.login("admin@example.test")
    response = client.form_post(f"/settings/users/{staff.id}/edit", edit_data(staff, active=False))
    assert response.status_code == 302
    assert staff_client.get("/app/rooms").status_code == 302
    with app.app_context():
        open_sessions = db.session.scalars(
            select(LoginSession).where(
                LoginSession.user_id == staff.id, LoginSession.revoked_at.is_(None)
            )
        ).all()
    assert open_sessions == []
    assert staff_client.login("staff@example.test").status_code == 200

    # Reactivated: they log in again; the old session stays dead.
    client.form_post(f"/settings/users/{staff.id}/edit", edit_data(staff, active=True))
    assert staff_client.get("/app/rooms").status_code == 302
    assert staff_client.login("staff@example.test").status_code == 302


@pytest.mark.parametrize("change", [{"is_admin": False}, {"active": False}])
def test_last_active_admin_cannot_drop_their_own_admin_right(client, people, app, change):
    admin = people["admin"]
    client.login("admin@example.test")
    response = client.form_post(f"/settings/users/{admin.id}/edit", edit_data(admin, **change))
    assert response.status_code == 400
    assert "last active admin" in response.get_data(as_text=True)
    user = get_user(app, admin.id)
    assert user.is_admin and user.active
    assert client.get("/settings/users").status_code == 200


def test_an_admin_may_step_down_when_another_admin_remains(client, people, make_user, app):
    make_user("second_admin", is_admin=True)
    admin = people["admin"]
    client.login("admin@example.test")
    response = client.form_post(
        f"/settings/users/{admin.id}/edit", edit_data(admin, is_admin=False)
    )
    assert response.status_code == 302
    assert get_user(app, admin.id).is_admin is False
    assert client.get("/settings/users").status_code == 403
