"""Conditional GETs of the room page and its message fragments: a weak ETag from what the
page shows, 304 (no body) while nothing changed, a new tag when anything shown changes."""

import re

from portal.extensions import db
from portal.messaging.changes import delete_message, edit_message
from portal.messaging.messages import post_message
from portal.messaging.reading import mark_read
from portal.models import Message, Room, User

HX = {"HX-Request": "true"}


def _page(client, room_id, etag=None, side="app", **headers):
    if etag:
        headers["If-None-Match"] = etag
    return client.get(f"/{side}/rooms/{room_id}", headers=headers)


def _settled(client, room_id, side="app"):
    """The tag of the page once opening it has marked everything read."""
    _page(client, room_id, side=side)
    return _page(client, room_id, side=side).headers["ETag"]


def _post(app, room_id, person, body):
    with app.app_context():
        room, author = db.session.get(Room, room_id), db.session.get(User, person.id)
        return post_message(room, author, body).id


def _digest(etag):
    return etag[3:-1].split(".")[0]


def _nonce(response):
    return re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"]).group(1)


def test_an_unchanged_room_page_answers_304_without_a_body(client, room):
    client.login("staff@example.test")
    etag = _settled(client, room)
    first = _page(client, room)
    # Same content, same digest; each rendered page's tag also carries its CSP nonce.
    assert first.status_code == 200 and _digest(first.headers["ETag"]) == _digest(etag)
    assert etag.startswith('W/"')
    assert first.headers["Cache-Control"] == "private, no-cache"

    again = _page(client, room, first.headers["ETag"])
    assert again.status_code == 304 and again.get_data() == b""
    assert again.headers["ETag"] == first.headers["ETag"]
    assert again.headers["Cache-Control"] == "private, no-cache"
    # The kept copy's <style nonce> still matches the policy the 304 brings along.
    assert f'<style nonce="{_nonce(again)}">' in first.get_data(as_text=True)
    assert _nonce(_page(client, room)) != _nonce(first)  # a rendered page: a fresh nonce


def test_new_messages_edits_and_deletes_change_the_tag(client, app, people, room):
    client.login("staff@example.test")
    etag = _settled(client, room)
    message_id = _post(app, room, people["client"], "One more thing")
    changed = _page(client, room, etag)
    assert changed.status_code == 200 and "One more thing" in changed.get_data(as_text=True)

    etag = _settled(client, room)
    with app.app_context():
        edit_message(db.session.get(Message, message_id), people["client"], "One more thing!")
    assert _page(client, room, etag).status_code == 200

    etag = _settled(client, room)
    with app.app_context():
        delete_message(db.session.get(Message, message_id), people["client"])
    deleted = _page(client, room, etag)
    assert deleted.status_code == 200 and "This message was deleted" in deleted.get_data(
        as_text=True
    )


def test_read_positions_change_the_tag(client, app, people, room):
    _post(app, room, people["client"], "Unread for staff")
    client.login("staff@example.test")
    opened = _page(client, room)  # shows the "New messages" divider, then marks it read
    assert 'id="new-messages"' in opened.get_data(as_text=True)
    reread = _page(client, room, opened.headers["ETag"])
    assert reread.status_code == 200 and 'id="new-messages"' not in reread.get_data(as_text=True)
    assert _page(client, room, reread.headers["ETag"]).status_code == 304

    # Someone else reading moves their "Seen by" marker on this page.
    _post(app, room, people["staff"], "A reply")
    etag = _settled(client, room)
    with app.app_context():
        mark_read(db.session.get(User, people["client"].id), db.session.get(Room, room))
    seen = _page(client, room, etag)
    assert seen.status_code == 200 and 'title="Client"' in seen.get_data(as_text=True)


def test_a_tag_never_validates_for_another_viewer_or_login(client, app, people, room):
    client.login("staff@example.test")
    etag = _settled(client, room)
    other = app.test_client()
    other.login("staff_all@example.test")
    _page(other, room)
    assert _page(other, room, etag).status_code == 200

    client.logout()
    client.login("staff@example.test")  # the same person, a new login session
    assert _page(client, room, etag).status_code == 200


def test_the_time_zone_and_a_pending_flash_change_the_answer(client, app, people, room):
    client.login("staff@example.test")
    etag = _settled(client, room)
    with app.app_context():
        db.session.get(User, people["staff"].id).time_zone = "Asia/Tokyo"
        db.session.commit()
    assert _page(client, room, etag).status_code == 200

    etag = _settled(client, room)
    with client.session_transaction() as session:
        session["_flashes"] = [("info", "Shown once")]
    flashed = _page(client, room, etag)
    assert flashed.status_code == 200 and "Shown once" in flashed.get_data(as_text=True)


def test_forged_or_foreign_tags_get_the_page(client, room):
    client.login("staff@example.test")
    etag = _settled(client, room)
    digest, nonce, mac = etag[3:-1].split(".")
    for forged in (f'W/"{digest}.{nonce}x.{mac}"', f'W/"{digest}.{nonce}.{mac[::-1]}"', "*"):
        assert _page(client, room, forged).status_code == 200
    assert _page(client, room, f'W/"{digest}"').status_code == 304  # no nonce: none repeated


def test_a_refused_send_is_never_cached(client, room):
    client.login("staff@example.test")
    token = client.csrf_token()
    refused = client.post(f"/app/rooms/{room}/messages", data={"csrf_token": token, "body": "   "})
    assert refused.status_code == 422
    assert "ETag" not in refused.headers and refused.headers["Cache-Control"] == "no-store"


def test_catch_up_fragments_answer_304_until_a_message_arrives(client, app, people, room):
    with app.app_context():
        newest = db.session.scalar(db.select(db.func.max(Message.id)))
    client.login("client@example.test")
    url = f"/portal/rooms/{room}/messages?after={newest}"
    empty = client.get(url, headers=HX)
    assert empty.status_code == 200 and empty.get_data() == b""
    assert empty.headers["Cache-Control"] == "private, no-cache"
    again = client.get(url, headers={**HX, "If-None-Match": empty.headers["ETag"]})
    assert again.status_code == 304 and again.get_data() == b""

    _post(app, room, people["staff"], "Caught up")
    fresh = client.get(url, headers={**HX, "If-None-Match": empty.headers["ETag"]})
    assert fresh.status_code == 200 and "Caught up" in fresh.get_data(as_text=True)

    older = client.get(f"/portal/rooms/{room}/messages?before={newest + 1}", headers=HX)
    assert older.status_code == 200 and "Hello from the client" in older.get_data(as_text=True)
    tag = older.headers["ETag"]
    assert tag != fresh.headers["ETag"]
    headers = {**HX, "If-None-Match": tag}
    assert (
        client.get(
            f"/portal/rooms/{room}/messages?before={newest + 1}", headers=headers
        ).status_code
        == 304
    )


def test_two_tabs_showing_one_revalidated_page_both_send(client, app, room):
    client.login("staff@example.test")
    page = client.get(f"/app/rooms/{room}")
    page = client.get(f"/app/rooms/{room}")
    assert _page(client, room, page.headers["ETag"]).status_code == 304  # the second tab
    composer_id = re.search(
        r'id="client_msg_id" name="client_msg_id" type="hidden" value="([^"]+)"',
        page.get_data(as_text=True),
    ).group(1)
    url = f"/app/rooms/{room}/messages"
    for body in ("From the first tab", "From the first tab", "From the second tab"):
        client.form_post(url, {"body": body, "client_msg_id": composer_id})
    with app.app_context():
        bodies = db.session.scalars(db.select(Message.body).where(Message.room_id == room))
        bodies = list(bodies)
    assert bodies.count("From the first tab") == 1  # a double submit still counts once
    assert bodies.count("From the second tab") == 1
