"""The informational items: caching, session lifetime, body limits, invisible text, quotas."""

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from portal.extensions import db
from portal.messaging.messages import BODY_MAX
from portal.models import LoginSession, Message, Room, User
from portal.models.base import utcnow
from tests.files_helpers import attachments, png, send, stored_files
from tests.harden_helpers import make_room

HX = {"HX-Request": "true"}


# Cache-Control


def test_logged_in_pages_are_no_store(client, people):
    assert "no-store" not in client.get("/login").headers.get("Cache-Control", "")
    client.login("staff@example.test")
    for path in ("/preferences/notifications", "/password/change", "/app/search"):
        assert client.get(path).headers["Cache-Control"] == "no-store"


def test_room_lists_are_private_and_revalidated_and_logout_clears_the_cache(client, people):
    # The room lists carry an ETag (tests/performance/test_room_list_caching.py): only the
    # browser may keep them, and only after asking us first; logging out empties its cache.
    client.login("staff@example.test")
    response = client.get("/app/rooms")
    assert set(response.headers["Cache-Control"].split(", ")) == {"private", "no-cache"}
    assert response.headers["ETag"].startswith('W/"')
    response = client.post("/logout")
    assert response.headers["Clear-Site-Data"] == '"cache"'


def test_files_keep_their_own_revalidating_cache_policy(client, app, people):
    room_id = make_room(app, people)
    client.login("staff@example.test")
    send(client, room_id, [(png(), "a.png")])
    (attachment,) = attachments(app)
    response = client.get(f"/files/{attachment.id}/a.png")
    assert set(response.headers["Cache-Control"].split(", ")) == {"private", "no-cache"}


# Server-side session lifetime, idle timeout, and logging in again


def age_sessions(app, email, created=None, last_seen=None):
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        values = {}
        if created is not None:
            values["created_at"] = utcnow() - created
        if last_seen is not None:
            values["last_seen_at"] = utcnow() - last_seen
        db.session.execute(
            update(LoginSession).where(LoginSession.user_id == user.id).values(values)
        )
        db.session.commit()


def test_a_session_past_its_lifetime_ends(client, app, people):
    client.login("staff@example.test")
    hours = app.config["SESSION_LIFETIME_HOURS"]
    age_sessions(app, "staff@example.test", created=timedelta(hours=hours - 1))
    assert client.get("/app/rooms").status_code == 200
    age_sessions(app, "staff@example.test", created=timedelta(hours=hours, seconds=1))
    assert client.get("/app/rooms").status_code == 302


def test_an_idle_session_ends_and_activity_keeps_it_alive(client, app, people):
    client.login("staff@example.test")
    idle = timedelta(hours=app.config["SESSION_IDLE_HOURS"])
    age_sessions(app, "staff@example.test", last_seen=idle - timedelta(minutes=5))
    assert client.get("/app/rooms").status_code == 200  # this request counts as activity
    with app.app_context():
        seen = db.session.scalar(select(LoginSession.last_seen_at))
        assert utcnow() - seen < timedelta(minutes=1)
    age_sessions(app, "staff@example.test", last_seen=idle + timedelta(seconds=1))
    assert client.get("/app/rooms").status_code == 302


def test_logging_in_again_revokes_this_browsers_previous_session(client, app, people):
    client.login("staff@example.test")
    old_cookie = client.get_cookie("session").value
    client.login("staff@example.test")
    replay = app.test_client()
    replay.set_cookie("session", old_cookie)
    assert replay.get("/app/rooms").status_code == 302
    assert client.get("/app/rooms").status_code == 200
    with app.app_context():
        sessions = db.session.scalars(select(LoginSession)).all()
        assert [s.revoked_at is None for s in sessions].count(True) == 1


# Body limits per route


def test_anonymous_pages_accept_only_small_bodies(client, app, people):
    token = client.csrf_token()
    limit = app.config["ANONYMOUS_MAX_BODY_KB"] * 1024
    big = {"csrf_token": token, "email": "a@example.test", "password": "x" * limit}
    response = client.post("/login", data=big)
    assert response.status_code == 413
    assert "That request is larger than allowed" in response.get_data(as_text=True)
    assert client.login("staff@example.test").status_code == 302


def test_logged_in_forms_other_than_uploads_have_their_own_limit(client, app, people):
    room_id = make_room(app, people)
    client.login("staff@example.test")
    limit = app.config["FORM_MAX_BODY_KB"] * 1024
    response = client.form_post(f"/app/rooms/{room_id}/rename", {"title": "x" * limit})
    assert response.status_code == 413
    # The composer still takes an upload far larger than that.
    ok = send(client, room_id, [(b"x" * (limit * 2), "big.bin")])
    assert ok.status_code == 302


# Invisible characters


@pytest.mark.parametrize("body", ["\u200b", "\u200b\u200c\u2060\ufeff", " \u202e \n\u2066"])
def test_a_message_of_only_invisible_characters_is_empty(client, app, people, body):
    room_id = make_room(app, people)
    client.login("staff@example.test")
    response = client.form_post(f"/app/rooms/{room_id}/messages", {"body": body}, headers=HX)
    assert response.status_code == 422
    assert "Write a message or attach a file" in response.get_data(as_text=True)


def test_bidi_overrides_are_dropped_from_messages_titles_and_names(client, app, people):
    room_id = make_room(app, people)
    client.login("staff@example.test")
    client.form_post(f"/app/rooms/{room_id}/rename", {"title": "Invoice \u202egnp.exe\u200b"})
    client.form_post(f"/app/rooms/{room_id}/messages", {"body": "pay \u202eme\u2069 now"})
    client.logout()
    client.login("admin@example.test")
    staff = people["staff"]
    client.form_post(
        f"/settings/users/{staff.id}/edit", {"name": "Sta\u200bff \u2067Boss", "active": "y"}
    )
    with app.app_context():
        assert db.session.get(Room, room_id).title == "Invoice gnp.exe"
        assert db.session.scalar(select(Message.body)) == "pay me now"
        assert db.session.get(User, staff.id).name == "Staff Boss"


def test_a_title_of_only_invisible_characters_is_refused(client, people):
    client.login("staff@example.test")
    response = client.form_post("/app/rooms", {"title": "\u200b\u202e"})
    assert response.status_code == 422
    assert "Give the conversation a title." in response.get_data(as_text=True)


# Message rate limit and storage quota


def test_messages_are_rate_limited_per_user(client, app, people, monkeypatch):
    monkeypatch.setitem(app.config, "MESSAGE_LIMIT", "3 per minute")
    room_id = make_room(app, people)
    client.login("staff@example.test")
    url = f"/app/rooms/{room_id}/messages"
    for n in range(3):
        assert client.form_post(url, {"body": f"m{n}"}, headers=HX).status_code == 200
    refused = client.form_post(url, {"body": "one too many"}, headers=HX)
    assert refused.status_code == 429
    assert "sending messages very fast" in refused.get_data(as_text=True)
    other = app.test_client()
    other.login("client@example.test")
    assert other.form_post(f"/portal/rooms/{room_id}/messages", {"body": "hi"}).status_code == 302


def test_the_storage_quota_refuses_uploads_past_it(client, app, people, monkeypatch):
    monkeypatch.setitem(app.config, "STORAGE_QUOTA_MB", 1)
    room_id = make_room(app, people)
    client.login("staff@example.test")
    assert send(client, room_id, [(b"x" * 700_000, "a.bin")]).status_code == 302
    refused = send(client, room_id, [(b"y" * 400_000, "b.bin")], body="keep", htmx=True)
    assert refused.status_code == 413
    assert "file storage is full (the quota is 1 MB)" in refused.get_data(as_text=True)
    assert len(attachments(app)) == 1 and len(stored_files(app)) == 1


def test_a_long_message_is_still_refused_with_its_own_words(client, app, people):
    room_id = make_room(app, people)
    client.login("staff@example.test")
    body = "x" * (BODY_MAX + 1)
    response = client.form_post(f"/app/rooms/{room_id}/messages", {"body": body}, headers=HX)
    assert response.status_code == 422
