"""Records routes (Settings → Activity, a person's data) as a table: admins only.

Other staff get 403, clients 404, anyone logged out the login page; a refusal never
shows a row of the trail, never streams a file, and never erases anyone.
"""

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.infra import audit
from portal.models import AuditEvent, User

SECRET_SUMMARY = "Granted the codename BLUEBIRD"

GET, POST = "GET", "POST"
# (method, url, form data, status for an admin)
ROUTES = [
    (GET, "/settings/activity", None, 200),
    (GET, "/settings/activity?kind=settings.changed&page=1", None, 200),
    (GET, "/settings/activity.csv", None, 200),
    (POST, "/settings/users/{target}/export", {}, 200),
    (GET, "/settings/users/{target}/erase", None, 200),
    (POST, "/settings/users/{target}/erase", {"messages": "delete"}, 302),
]
PERSONAS = {
    "admin": None,
    "staff": 403,
    "staff_all": 403,
    "client": 404,
    "outsider": 404,
    "deactivated": 302,
    "anonymous": 302,
}
CASES = [(p, r) for p in PERSONAS for r in ROUTES]


@pytest.fixture
def trail(app, people, make_user):
    target = make_user("target", kind="client")
    with app.app_context():
        audit.record(audit.SYSTEM, "settings.changed", summary=SECRET_SUMMARY)
        db.session.commit()
    return target


@pytest.mark.parametrize("persona,route", CASES, ids=[f"{p}-{r[0]}-{r[1]}" for p, r in CASES])
def test_records_routes_are_for_admins_only(client, app, people, trail, persona, route):
    method, url, data, allowed = route
    url = url.format(target=trail.id)
    if persona != "anonymous":
        client.login(f"{persona}@example.test")
    token = client.csrf_token()
    if method == GET:
        response = client.get(url)
    else:
        response = client.post(url, data={**data, "csrf_token": token})
    expected = PERSONAS[persona] or allowed
    assert response.status_code == expected
    if persona == "admin":
        return
    body = response.get_data()
    assert SECRET_SUMMARY.encode() not in body and not body.startswith(b"PK")
    with app.app_context():
        assert db.session.get(User, trail.id).name == "Target"
        actions = db.session.scalars(select(AuditEvent.action)).all()
        assert actions == ["settings.changed"]  # no export or erasure was recorded


def test_records_links_show_only_to_admins(client, people):
    client.login("admin@example.test")
    assert "/settings/activity" in client.get("/settings/users").get_data(as_text=True)
    client.logout()
    client.login("staff@example.test")
    page = client.get("/app/rooms").get_data(as_text=True)
    assert "/settings/activity" not in page


# Conversation export: internal users who may see the room; a client in it gets 404 too.
EXPORTERS = {
    "staff": 200,  # created it
    "staff_all": 200,
    "admin": 404,  # admins see only their rooms unless all-rooms is on
    "client": 404,
    "outsider": 404,
    "deactivated": 302,
    "anonymous": 302,
}


@pytest.mark.parametrize("persona", EXPORTERS)
def test_conversation_export_is_for_internal_users_who_see_the_room(
    client, app, people, make_room, persona
):
    room_id = make_room("Secret merger plans")
    if persona != "anonymous":
        client.login(f"{persona}@example.test")
    response = client.get(f"/app/rooms/{room_id}/export")
    assert response.status_code == EXPORTERS[persona]
    body = response.get_data()
    if EXPORTERS[persona] == 200:
        assert body.startswith(b"PK")
        return
    assert b"Secret merger plans" not in body and not body.startswith(b"PK")
    with app.app_context():
        actions = sorted(db.session.scalars(select(AuditEvent.action)))
        assert actions == ["participant.added", "room.created"]  # no export recorded
