"""The access rules (PRODUCT.md §2) as a table: every room route × every persona.

Each case logs in as the persona, calls the route on a room they may or may not see, and
checks the status — and that a refusal never shows the room's title or its messages.
"""

import re

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.messaging.messages import post_message
from portal.messaging.rooms import create_room, set_participants
from portal.models import Room, User

TITLE = "Secret merger plans"
SECRET = "the codename is BLUEBIRD"

# persona → (email handle to log in as, or None for anonymous)
PERSONAS = [
    "admin",
    "staff",
    "creator",
    "added",
    "staff_all",
    "client",
    "outsider",
    "invited",
    "removed",
    "removed_client",
    "deactivated",
    "anonymous",
]
VIEWERS = {"creator", "added", "staff_all"}  # internal users who see the room
CLIENT_VIEWERS = {"client"}
LOGGED_OUT = {"invited", "deactivated", "anonymous"}  # no working session

OK = "ok"
GET, POST = "GET", "POST"

# (method, url template, form data, expected status when allowed, prefix)
ROOM_ROUTES = [
    (GET, "/app/rooms/{id}", None, 200, "app-room"),
    (GET, "/app/rooms/{id}/messages?after=0", None, 200, "app"),
    (GET, "/app/rooms/{id}/messages?before=999999999", None, 200, "app"),
    (
        POST,
        "/app/rooms/{id}/messages",
        {"body": "hello", "client_msg_id": "policy-test-1"},
        302,
        "app",
    ),
    (POST, "/app/rooms/{id}/read", {"through": "999999999"}, 204, "app"),
    (GET, "/app/rooms/{id}/participants", None, 200, "app"),
    (POST, "/app/rooms/{id}/participants", {"participant_ids": []}, 302, "app"),
    (POST, "/app/rooms/{id}/rename", {"title": "Renamed"}, 302, "app"),
    (POST, "/app/rooms/{id}/archive", {}, 302, "app"),
    (POST, "/app/rooms/{id}/unarchive", {}, 302, "app"),
    (GET, "/portal/rooms/{id}", None, 200, "portal"),
    (GET, "/portal/rooms/{id}/messages?after=0", None, 200, "portal"),
    (GET, "/portal/rooms/{id}/messages?before=999999999", None, 200, "portal"),
    (
        POST,
        "/portal/rooms/{id}/messages",
        {"body": "hello", "client_msg_id": "policy-test-2"},
        302,
        "portal",
    ),
    (POST, "/portal/rooms/{id}/read", {"through": "999999999"}, 204, "portal"),
    (GET, "/app/rooms/{id}/changes?since=0&from=0&through=999999999", None, 200, "app"),
    (GET, "/portal/rooms/{id}/changes?since=0&from=0&through=999999999", None, 200, "portal"),
]

# Routes that are not about one room, each covered by the test module named.
OTHER_ROUTES = {
    "/": "test_auth",
    "/login": "test_auth",
    "/logout": "test_auth",
    "/healthz": "test_health",
    "/static/<path:filename>": "flask static files",
    "/brand.css": "test_brand_time_zone (public: the accent colour only)",
    "/brand/logo/<version>.png": "test_portal_settings (public: the current logo only)",
    "/app/rooms": "rooms/test_read_state (room list shows only visible rooms)",
    "/app/rooms/new": "rooms/test_new_conversation (internal only)",
    "/portal/rooms": "rooms/test_sending (client room list)",
    "/settings/users": "test_settings",
    "/settings/users/invite": "test_settings",
    "/settings/portal": "test_portal_settings (admins only: staff 403, clients 404)",
    "/settings/users/<int:user_id>/edit": "test_settings",
    "/settings/users/<int:user_id>/resend": "test_invitations",
    "/settings/audit": "test_message_policy (admins only; only rooms they can see now)",
    "/settings/activity": "test_records_policy (admins only)",
    "/settings/activity.csv": "test_records_policy (admins only)",
    "/settings/users/<int:user_id>/export": "test_records_policy (admins only)",
    "/settings/users/<int:user_id>/erase": "test_records_policy (admins only)",
    "/app/rooms/<int:room_id>/export": "test_records_policy (internal users who see the room)",
    "/invite/<token>": "test_invitations",
    "/password/forgot": "test_password_reset",
    "/invitation/resend": "test_invitation_pending_login (same answer for every email)",
    "/password/reset/<token>": "test_password_reset",
    "/push/key": "notify/test_push (login required; the public VAPID key only)",
    "/push/subscriptions": "notify/test_push (login and CSRF; own subscriptions only)",
    "/push/subscriptions/delete": "notify/test_push (someone else's: nothing removed)",
    "/push/notifications/<int:message_id>": "notify/test_push (access rules: 204 when not theirs)",
    "/sw.js": "web/test_installable (public static script, scope /)",
    "/manifest.webmanifest": "web/test_installable (public: name and colours only)",
    "/icon-<int:size>.png": "web/test_installable (public: the firm's initial)",
    "/login/link": "test_login_links (same answer for every email; throttled; off → 404)",
    "/login/link/<token>": "test_login_links (single use, POST only spends it, 15 minutes)",
    "/password/change": "test_password_reset",
    "/files/<int:attachment_id>/<filename>": "test_downloads (viewers 200; others, anonymous 404)",
    "/stream": "test_stream (channel from the session user; removal cuts room events)",
    "/preferences/notifications": "test_preferences (own settings only, own rooms only)",
    "/unsubscribe/<token>": "test_preferences (the signed token is the credential)",
    "/inbound/email": "test_inbound_http (shared secret; posts only as a token's participant)",
    "/reply/held/<token>": "test_reply_authentication (signed link to the person's own "
    "address; GET posts nothing; POST re-checks participation and the right to post)",
    "/app/rooms/<int:room_id>/messages/<int:message_id>/edit": "test_message_policy",
    "/app/rooms/<int:room_id>/messages/<int:message_id>/delete": "test_message_policy",
    "/portal/rooms/<int:room_id>/messages/<int:message_id>/edit": "test_message_policy",
    "/portal/rooms/<int:room_id>/messages/<int:message_id>/delete": "test_message_policy",
    "/app/search": "test_message_policy (results only from rooms visible now)",
    "/portal/search": "test_message_policy (results only from rooms visible now)",
}


def expected_status(persona, prefix, allowed):
    if persona in LOGGED_OUT:
        return 302  # to the login page
    if prefix == "app-room" and persona in CLIENT_VIEWERS:
        return 302  # a workspace link to a room they may view: to its portal page
    if prefix.startswith("app"):
        if persona in {"client", "outsider", "removed_client"}:
            return 404  # clients never see the workspace
        return allowed if persona in VIEWERS else 404
    if persona in CLIENT_VIEWERS:
        return allowed
    return 404  # staff don't use the portal; other clients can't see the room


@pytest.fixture
def world(make_user, app):
    """A room made by `creator` with `added`, `client` and `invited`; two people removed."""
    users = {
        "admin": make_user("admin", is_admin=True),
        "staff": make_user("staff"),
        "creator": make_user("creator"),
        "added": make_user("added"),
        "staff_all": make_user("staff_all", access_all_rooms=True),
        "client": make_user("client", kind="client"),
        "outsider": make_user("outsider", kind="client"),
        "invited": make_user("invited", kind="client", password=None),
        "removed": make_user("removed"),
        "removed_client": make_user("removed_client", kind="client"),
        "deactivated": make_user("deactivated"),
    }
    with app.app_context():
        creator = db.session.get(User, users["creator"].id)
        member_ids = [
            users[h].id
            for h in ("added", "client", "invited", "removed", "removed_client", "deactivated")
        ]
        room = create_room(creator, TITLE, member_ids)
        post_message(room, creator, SECRET)
        keep = [users[h].id for h in ("creator", "added", "client", "invited", "deactivated")]
        set_participants(room, creator, keep)
        room_id = room.id
    return users, room_id


def request_as(client, app, users, persona, method, url, data=None):
    """One request by `persona`: a GET, or a POST carrying their CSRF token."""
    token = _log_in(client, app, users, persona)
    if method == GET:
        return client.get(url)
    return client.post(url, data={**(data or {}), "csrf_token": token})


def _log_in(client, app, users, persona):
    """Log in as `persona`; returns a CSRF token valid for the resulting session."""
    if persona == "anonymous":
        return client.csrf_token()
    if persona == "invited":
        assert client.login("invited@example.test", "").status_code != 302
        return client.csrf_token()
    client.login(f"{persona}@example.test")
    token = client.csrf_token()
    if persona == "deactivated":
        with app.app_context():
            db.session.get(User, users["deactivated"].id).active = False
            db.session.commit()
    return token


CASES = [(p, r) for p in PERSONAS for r in ROOM_ROUTES]


@pytest.mark.parametrize("persona,route", CASES, ids=[f"{p}-{r[0]}-{r[1]}" for p, r in CASES])
def test_room_route_policy(client, app, world, persona, route):
    users, room_id = world
    method, template, data, allowed, prefix = route
    url = template.format(id=room_id)
    response = request_as(client, app, users, persona, method, url, data)
    expected = expected_status(persona, prefix, allowed)
    assert response.status_code == expected, response.get_data(as_text=True)[:500]
    body = response.get_data(as_text=True)
    if expected >= 400 or expected == 302 and persona in LOGGED_OUT:
        assert TITLE not in body and SECRET not in body
        assert "Renamed" not in body
    if expected == 302 and persona in LOGGED_OUT:
        assert response.headers["Location"].startswith("/login")


def test_room_list_shows_only_visible_rooms(client, app, world):
    users, room_id = world
    for persona, sees in [
        ("creator", True),
        ("added", True),
        ("staff_all", True),
        ("admin", False),
        ("staff", False),
        ("removed", False),
    ]:
        client.login(f"{persona}@example.test")
        assert (TITLE in client.get("/app/rooms").get_data(as_text=True)) is sees, persona
        client.logout()
    for persona, sees in [("client", True), ("outsider", False), ("removed_client", False)]:
        client.login(f"{persona}@example.test")
        assert (TITLE in client.get("/portal/rooms").get_data(as_text=True)) is sees, persona
        client.logout()


def test_every_route_is_covered_by_the_policy_table(app):
    covered = {re.sub(r"\?.*$", "", r[1]).replace("{id}", "<int:room_id>") for r in ROOM_ROUTES}
    missing = [
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.rule not in covered and rule.rule not in OTHER_ROUTES
    ]
    assert not missing, f"routes with no access test: {missing}"


def test_admin_sees_every_room_only_with_all_rooms_access(client, app, world):
    users, room_id = world
    client.login("admin@example.test")
    assert client.get(f"/app/rooms/{room_id}").status_code == 404
    with app.app_context():
        db.session.get(User, users["admin"].id).access_all_rooms = True
        db.session.commit()
    assert client.get(f"/app/rooms/{room_id}").status_code == 200
    assert (
        client.form_post(f"/app/rooms/{room_id}/messages", {"body": "admin here"}).status_code
        == 302
    )


def test_all_rooms_toggle_takes_effect_on_next_request(client, app, world):
    users, room_id = world
    client.login("staff_all@example.test")
    assert client.get(f"/app/rooms/{room_id}").status_code == 200
    with app.app_context():
        db.session.get(User, users["staff_all"].id).access_all_rooms = False
        db.session.commit()
    assert client.get(f"/app/rooms/{room_id}").status_code == 404
    assert TITLE not in client.get("/app/rooms").get_data(as_text=True)


def test_client_sees_rooms_once_portal_account_is_active(client, app, world):
    users, room_id = world
    with app.app_context():
        from portal.models.base import utcnow

        invited = db.session.get(User, users["invited"].id)
        invited.set_password("now a real password")
        invited.activated_at = utcnow()
        db.session.commit()
    client.login("invited@example.test", "now a real password")
    assert TITLE in client.get("/portal/rooms").get_data(as_text=True)
    page = client.get(f"/portal/rooms/{room_id}").get_data(as_text=True)
    assert SECRET in page  # the full history, from before they joined


def test_client_cannot_manage_participants_even_by_forging(client, app, world):
    users, room_id = world
    client.login("client@example.test")
    forged = {"participant_ids": [users["outsider"].id]}
    assert client.form_post(f"/app/rooms/{room_id}/participants", forged).status_code == 404
    assert client.form_post(f"/portal/rooms/{room_id}/participants", forged).status_code in (
        404,
        405,
    )
    with app.app_context():
        from portal.messaging.rooms import participant_ids

        assert users["outsider"].id not in participant_ids(db.session.get(Room, room_id))


def test_forged_privilege_fields_in_room_forms_change_nothing(client, app, world):
    users, room_id = world
    client.login("creator@example.test")
    forged = {
        "is_admin": "y",
        "access_all_rooms": "y",
        "kind": "internal",
        "author_id": users["admin"].id,
    }
    client.form_post("/app/rooms", {"title": "Another", **forged})
    client.form_post(f"/app/rooms/{room_id}/messages", {"body": "forged", **forged})
    client.form_post(
        f"/app/rooms/{room_id}/participants", {"participant_ids": [users["client"].id], **forged}
    )
    with app.app_context():
        creator = db.session.get(User, users["creator"].id)
        assert not creator.is_admin and not creator.access_all_rooms
        from sqlalchemy import select

        from portal.models import Message

        message = db.session.scalar(select(Message).where(Message.body == "forged"))
        assert message.author_id == creator.id


def test_viewer_ids_are_exactly_who_may_view(app, world):
    from portal.access import can_view, viewer_ids

    users, room_id = world
    with app.app_context():
        room = db.session.get(Room, room_id)
        expected = {
            u.id for u in db.session.scalars(select(User)) if u.is_active and can_view(u, room)
        }
        assert viewer_ids(room_id) == expected
        members = ("creator", "added", "staff_all", "client", "deactivated")  # still active here
        assert expected == {users[h].id for h in members}
