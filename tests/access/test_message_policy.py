"""The access rules for editing, deleting and searching, as a table: route × persona.

The message in the room is the creator's. Editing is the author's alone; deleting is
the author's, or an admin's who can see the room; search shows a room's messages only
to whoever may see that room now.
"""

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import Message, User
from tests.access.test_policy import LOGGED_OUT, PERSONAS, SECRET, TITLE, _log_in, request_as, world  # noqa: F401 (a fixture)

GET, POST = "GET", "POST"
STAFF_VIEWERS = {"creator", "added", "staff_all"}

# (method, url template, form data, status for the author, prefix)
MESSAGE_ROUTES = [
    (GET, "/app/rooms/{id}/messages/{mid}/edit", None, 200, "app"),
    (POST, "/app/rooms/{id}/messages/{mid}/edit", {"body": "changed words"}, 302, "app"),
    (GET, "/app/rooms/{id}/messages/{mid}/delete", None, 200, "app"),
    (POST, "/app/rooms/{id}/messages/{mid}/delete", {}, 302, "app"),
    (GET, "/portal/rooms/{id}/messages/{mid}/edit", None, 200, "portal"),
    (POST, "/portal/rooms/{id}/messages/{mid}/edit", {"body": "changed words"}, 302, "portal"),
    (GET, "/portal/rooms/{id}/messages/{mid}/delete", None, 200, "portal"),
    (POST, "/portal/rooms/{id}/messages/{mid}/delete", {}, 302, "portal"),
]


def expected_status(persona, prefix, allowed):
    if persona in LOGGED_OUT:
        return 302  # to the login page
    if prefix == "app":
        if persona == "creator":
            return allowed
        return 403 if persona in STAFF_VIEWERS else 404
    return 403 if persona == "client" else 404  # the client sees the room, not as author


CASES = [(p, r) for p in PERSONAS for r in MESSAGE_ROUTES]


@pytest.mark.parametrize("persona,route", CASES, ids=[f"{p}-{r[0]}-{r[1]}" for p, r in CASES])
def test_message_route_policy(client, app, world, persona, route):  # noqa: F811 (the shared fixture)
    users, room_id = world
    method, template, data, allowed, prefix = route
    with app.app_context():
        message_id = db.session.scalar(select(Message.id).where(Message.body == SECRET))
    url = template.format(id=room_id, mid=message_id)
    response = request_as(client, app, users, persona, method, url, data)
    expected = expected_status(persona, prefix, allowed)
    assert response.status_code == expected, response.get_data(as_text=True)[:500]
    body = response.get_data(as_text=True)
    if expected >= 400 or persona in LOGGED_OUT:
        assert TITLE not in body and SECRET not in body
    with app.app_context():
        message = db.session.get(Message, message_id)
        changed = message.body != SECRET
    assert changed is (method == POST and expected == allowed and persona not in LOGGED_OUT)


SEARCHERS = [
    ("creator", "app", True),
    ("added", "app", True),
    ("staff_all", "app", True),
    ("admin", "app", False),
    ("staff", "app", False),
    ("removed", "app", False),
    ("client", "portal", True),
    ("outsider", "portal", False),
    ("removed_client", "portal", False),
]


@pytest.mark.parametrize("persona,prefix,sees", SEARCHERS)
def test_search_finds_only_rooms_visible_now(client, app, world, persona, prefix, sees):  # noqa: F811 (the shared fixture)
    users, room_id = world
    _log_in(client, app, users, persona)
    for query in ("bluebird", "codename blue", "merger"):
        response = client.get(f"/{prefix}/search", query_string={"q": query})
        assert response.status_code == 200
        body = response.get_data(as_text=True)
        assert (f"/rooms/{room_id}" in body) is sees, (persona, query)
        assert (TITLE in body) is sees, (persona, query)


@pytest.mark.parametrize("persona", PERSONAS)
def test_search_pages_belong_to_their_side(client, app, world, persona):  # noqa: F811 (the shared fixture)
    users, _room_id = world
    _log_in(client, app, users, persona)
    workspace, portal = client.get("/app/search?q=x"), client.get("/portal/search?q=x")
    if persona in LOGGED_OUT:
        assert workspace.status_code == portal.status_code == 302
    elif persona in {"client", "outsider", "removed_client"}:
        assert (workspace.status_code, portal.status_code) == (404, 200)
    else:
        assert (workspace.status_code, portal.status_code) == (200, 404)


def test_admin_may_delete_others_messages_only_in_rooms_they_see(client, app, world):  # noqa: F811 (the shared fixture)
    users, room_id = world
    with app.app_context():
        message_id = db.session.scalar(select(Message.id).where(Message.body == SECRET))
    url = f"/app/rooms/{room_id}/messages/{message_id}"
    client.login("admin@example.test")
    assert client.form_post(f"{url}/delete").status_code == 404
    with app.app_context():
        db.session.get(User, users["admin"].id).access_all_rooms = True
        db.session.commit()
    assert client.form_post(f"{url}/edit", {"body": "admin words"}).status_code == 403
    assert client.form_post(f"{url}/delete").status_code == 302
    with app.app_context():
        message = db.session.get(Message, message_id)
        assert message.deleted_at is not None and message.deleted_by_id == users["admin"].id


# Settings → Message audit: admins only (other staff 403, clients 404, as for settings),
# and only the rooms the admin can see now.
AUDITORS = [
    ("admin", 200),
    ("staff", 403),
    ("creator", 403),
    ("staff_all", 403),
    ("client", 404),
    ("outsider", 404),
    ("removed", 403),
    ("invited", 302),
    ("deactivated", 302),
    ("anonymous", 302),
]


@pytest.fixture
def edited_world(app, world):  # noqa: F811 (the shared fixture)
    """The world, with the creator's secret message edited once and then deleted."""
    from portal.messaging.changes import delete_message, edit_message

    users, room_id = world
    with app.app_context():
        message = db.session.scalar(select(Message).where(Message.body == SECRET))
        creator = db.session.get(User, users["creator"].id)
        edit_message(message, creator, "nothing to see")
        delete_message(message, creator)
    return world


@pytest.mark.parametrize("persona,status", AUDITORS)
def test_audit_page_is_for_admins_only(client, app, edited_world, persona, status):
    users, room_id = edited_world
    response = request_as(client, app, users, persona, GET, "/settings/audit")
    assert response.status_code == status
    body = response.get_data(as_text=True)
    # The admin does not see this room (no all-rooms access): its history stays hidden too.
    assert SECRET not in body and TITLE not in body and "nothing to see" not in body
    if persona in LOGGED_OUT:
        assert response.headers["Location"].startswith("/login")


def test_audit_page_shows_edits_and_deletions_in_rooms_the_admin_sees(client, app, edited_world):
    users, room_id = edited_world
    with app.app_context():
        db.session.get(User, users["admin"].id).access_all_rooms = True
        db.session.commit()
    client.login("admin@example.test")
    page = client.get("/settings/audit").get_data(as_text=True)
    assert TITLE in page and SECRET in page and "nothing to see" in page
    assert "Edited by Creator" in page and "Deleted by Creator" in page
    assert "moderation" not in page
    only = client.get(f"/settings/audit?room={room_id}").get_data(as_text=True)
    assert SECRET in only and "show all" in only
    assert "No message has been edited" in client.get("/settings/audit?room=999999").get_data(
        as_text=True
    )
