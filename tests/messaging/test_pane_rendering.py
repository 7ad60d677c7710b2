"""The chat pane's server side: grouping marks, the unread divider, no-JS paths, dead ends."""

import logging
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest

from portal.extensions import db
from portal.messaging.grouping import day_label, file_kind, group_classes, initials
from portal.messaging.messages import post_message
from portal.messaging.rooms import archive_room, create_room
from portal.models import Room, User
from portal.runtime import embedded_redis, gunicorn_conf

HX = {"HX-Request": "true"}
NOON = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def msg(author_id, minutes=0, day=0):
    return SimpleNamespace(
        author_id=author_id, created_at=NOON + timedelta(days=day, minutes=minutes)
    )


def test_group_classes_follow_author_time_and_day():
    first = msg(1)
    assert group_classes(first) == ""  # a lone fragment: the script marks it
    assert group_classes(first, None, first=True) == " first-of-day"
    assert group_classes(msg(1, 5), first) == " threaded"
    assert group_classes(msg(1, 6), first) == ""  # more than five minutes later
    assert group_classes(msg(2, 1), first) == ""  # someone else
    assert group_classes(msg(None, 1), msg(None)) == ""  # former users never thread
    assert group_classes(msg(1, 1, day=1), first) == " first-of-day"


def test_initials_day_labels_and_file_kinds():
    assert initials("Cleo Client") == "CC"
    assert initials("ada") == "AD"
    assert initials("Mary Ann de la Cruz") == "MC"
    assert initials("  ") == "?"
    today = date(2026, 3, 10)
    assert day_label(NOON, today) == "Today"
    assert day_label(NOON - timedelta(days=1), today) == "Yesterday"
    assert day_label(NOON - timedelta(days=3), today) == "Saturday"
    assert day_label(NOON - timedelta(days=30), today) == "8 February 2026"
    assert file_kind("Quote 2024.pdf") == "PDF"
    assert file_kind("notes", "text/plain") == "PLAIN"
    assert file_kind(".env", "") == "FILE"


@pytest.fixture
def room_id(app, people):
    """A room by staff with client: the client says hello, then staff sends three quick notes."""
    with app.app_context():
        staff = db.session.get(User, people["staff"].id)
        client = db.session.get(User, people["client"].id)
        room = create_room(staff, "Pane", [client.id])
        post_message(room, client, "hello")
        for n in range(3):
            post_message(room, staff, f"note {n}")
        return room.id


def test_room_page_marks_groups_and_the_first_unread(client, room_id):
    client.login("client@example.test")
    page = client.get(f"/portal/rooms/{room_id}").get_data(as_text=True)
    assert page.count('class="message first-of-day"') == 1
    assert page.count('class="message threaded"') == 2
    divider = page.index('id="new-messages"')
    assert page.index("hello") < divider < page.index("note 0")  # sending read the rest
    assert page.count('class="unread-divider"') == 1
    again = client.get(f"/portal/rooms/{room_id}").get_data(as_text=True)
    assert 'id="new-messages"' not in again  # opening the room read it


def test_own_messages_never_count_as_the_first_unread(client, app, room_id, people):
    client.login("staff@example.test")
    assert 'id="new-messages"' not in client.get(f"/app/rooms/{room_id}").get_data(as_text=True)
    with app.app_context():
        room = db.session.get(Room, room_id)
        post_message(room, db.session.get(User, people["client"].id), "reply")
    page = client.get(f"/app/rooms/{room_id}").get_data(as_text=True)
    assert page.index("note 2") < page.index('id="new-messages"') < page.index("reply")


def test_a_refreshed_fragment_url_shows_the_room(client, room_id):
    client.login("client@example.test")
    url = f"/portal/rooms/{room_id}/messages"
    response = client.get(url, headers={"Accept": "text/html"})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/portal/rooms/{room_id}"
    older = client.get(url + "?before=3", headers={"Accept": "text/html"})
    assert older.headers["Location"] == f"/portal/rooms/{room_id}?before=3"
    fragment = client.get(url + "?after=0", headers={"Accept": "text/html", **HX})
    assert fragment.status_code == 200 and "<html" not in fragment.get_data(as_text=True)


def test_older_page_links_back_to_the_newest(client, room_id):
    client.login("client@example.test")
    page = client.get(f"/portal/rooms/{room_id}?before=4").get_data(as_text=True)
    assert "Back to the newest messages" in page
    assert "Back to the newest" not in client.get(f"/portal/rooms/{room_id}").get_data(as_text=True)


def test_a_refused_send_without_js_says_so_at_the_top(client, room_id):
    client.login("client@example.test")
    response = client.form_post(f"/portal/rooms/{room_id}/messages", {"body": "   "})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert page.index(
        'class="flash flash-error" role="alert">Your message was not sent'
    ) < page.index('id="messages"')


def test_workspace_room_link_takes_a_client_to_the_portal(client, room_id, people):
    client.login("client@example.test")
    response = client.get(f"/app/rooms/{room_id}")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/portal/rooms/{room_id}"
    assert client.get("/app/rooms").status_code == 404
    assert client.get(f"/app/rooms/{room_id}/participants").status_code == 404
    client.logout()
    client.login("outsider@example.test")
    assert client.get(f"/app/rooms/{room_id}").status_code == 404


def test_layouts_show_the_unread_total(client, room_id):
    client.login("client@example.test")
    page = client.get("/portal/rooms").get_data(as_text=True)
    assert 'id="unread-total" data-count="3"' in page
    client.get(f"/portal/rooms/{room_id}")
    page = client.get("/portal/rooms").get_data(as_text=True)
    assert 'id="unread-total" data-count="0"' in page


def test_archived_rooms_are_labelled_in_the_clients_list(client, app, people):
    with app.app_context():
        staff = db.session.get(User, people["staff"].id)
        room = create_room(staff, "Old work", [people["client"].id])
        archive_room(room)
    client.login("client@example.test")
    page = client.get("/portal/rooms").get_data(as_text=True)
    assert 'Old work <span class="tag">archived</span>' in page


def test_change_password_keeps_the_app_layout(client, people):
    client.login("client@example.test")
    assert 'aria-label="Portal"' in client.get("/password/change").get_data(as_text=True)
    client.logout()
    client.login("staff@example.test")
    assert 'aria-label="Workspace"' in client.get("/password/change").get_data(as_text=True)


def test_a_used_invitation_link_offers_log_in(client):
    page = client.get("/invite/not-a-token").get_data(as_text=True)
    assert '<a href="/login">Log in</a>' in page


def test_archive_asks_for_confirmation_and_edit_user_has_switches(client, room_id, people):
    client.login("staff@example.test")
    page = client.get(f"/app/rooms/{room_id}/participants").get_data(as_text=True)
    assert "<summary>Archive conversation…</summary>" in page and "Yes, archive it" in page
    client.logout()
    client.login("admin@example.test")
    page = client.get(f"/settings/users/{people['staff'].id}/edit").get_data(as_text=True)
    assert '<div class="switches">' in page


def test_make_run_says_when_it_is_ready_and_redis_starts_quietly(monkeypatch, caplog):
    monkeypatch.setenv("HOST", "0.0.0.0")  # noqa: S104
    monkeypatch.setenv("PORT", "5055")
    server = SimpleNamespace(log=logging.getLogger("gunicorn-test"))
    with caplog.at_level(logging.INFO, logger="gunicorn-test"):
        gunicorn_conf.when_ready(server)
    assert "Portal Messaging is ready at http://127.0.0.1:5055" in caplog.text
    monkeypatch.setattr(embedded_redis, "server_binary", lambda: "redis-server")
    args = embedded_redis.server_args("/tmp/r.sock", "/tmp")  # noqa: S108
    assert args[args.index("--loglevel") + 1] == "warning"
