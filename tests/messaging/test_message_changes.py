"""Edit and delete a message: the rules, the history, the tombstone, files, email, pages."""

import io
import json
import os
import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from portal.access import can_delete, can_edit
from portal.extensions import db
from portal.messaging.changes import (
    SETTLE_SECONDS,
    audit_trail,
    changed_since,
    delete_message,
    edit_message,
    settled_cursor,
)
from portal.messaging.grouping import initials
from portal.messaging.messages import MessageError, post_message
from portal.messaging.rooms import archive_room, create_room
from portal.messaging.search import search
from portal.messaging.uploads import stored_name
from portal.models import Attachment, Message, MessageRevision, Room, User
from portal.notify.client_emails import notify_client
from tests.files_helpers import HX
from tests.notify_helpers import after_delay, parts


def _user(person):
    return db.session.get(User, person.id)


@pytest.fixture
def room_id(app, people):
    with app.app_context():
        room = create_room(_user(people["staff"]), "Tax return", [people["client"].id])
        return room.id


def _post(app, room_id, person, body):
    with app.app_context():
        message = post_message(db.session.get(Room, room_id), _user(person), body)
        return message.id


# --- the rules (portal/access.py): each condition has a case that fails without it ---

ROOM = SimpleNamespace(id=1, is_archived=False)


def _message(author_id=1, room_id=1, deleted=False):
    return SimpleNamespace(author_id=author_id, room_id=room_id, is_deleted=deleted)


def _person(user_id=1, internal=True, admin=False):
    return SimpleNamespace(id=user_id, is_internal=internal, is_admin=admin)


@pytest.fixture
def sees(monkeypatch):
    """can_view / can_post answer from a set of user ids, without a database."""
    viewers = {1, 2, 3}
    monkeypatch.setattr("portal.access.can_view", lambda user, room: user.id in viewers)
    return viewers


RULES = [
    # (who, message, room archived, viewer?, can edit, can delete)
    ("author", _message(), False, True, True, True),
    ("another participant", _message(author_id=9), False, True, False, False),
    ("author, deleted message", _message(deleted=True), False, True, False, False),
    ("author, message of another room", _message(room_id=2), False, True, False, False),
    ("author, archived room", _message(), True, True, False, False),
    ("author, no longer in the room", _message(), False, False, False, False),
    ("admin, someone else's message", _message(author_id=9), False, True, False, True),
    ("admin, a room they can't see", _message(author_id=9), False, False, False, False),
    ("admin, archived room", _message(author_id=9), True, True, False, False),
    ("admin, deleted message", _message(author_id=9, deleted=True), False, True, False, False),
]


@pytest.mark.parametrize("case,message,archived,viewer,edit,delete", RULES)
def test_edit_and_delete_rules(sees, case, message, archived, viewer, edit, delete):
    admin = case.startswith("admin")
    user = _person(user_id=1 if viewer else 7, admin=admin)
    room = SimpleNamespace(id=1, is_archived=archived)
    assert can_edit(user, message, room) is edit, case
    assert can_delete(user, message, room) is delete, case


def test_a_client_cannot_moderate(sees):
    client = _person(user_id=1, internal=False, admin=True)  # forged flag: clients are never admins
    assert can_delete(client, _message(author_id=9), ROOM) is False


# --- edit ---


def test_edit_keeps_history_and_marks_edited(app, people, room_id):
    message_id = _post(app, room_id, people["staff"], "First words")
    with app.app_context():
        message = db.session.get(Message, message_id)
        edit_message(message, _user(people["staff"]), "Second words")
        revisions = db.session.scalars(select(MessageRevision)).all()
        assert [(r.action, r.previous_body, r.actor_id) for r in revisions] == [
            ("edit", "First words", people["staff"].id)
        ]
        assert message.edited_at is not None and message.body == "Second words"
        edit_message(message, _user(people["staff"]), "Second words")  # unchanged: no revision
        assert len(db.session.scalars(select(MessageRevision)).all()) == 1
        with pytest.raises(MessageError):
            edit_message(message, _user(people["staff"]), "   ")


def test_edit_page_without_js_then_room_shows_edited(client, app, people, room_id):
    message_id = _post(app, room_id, people["staff"], "Old <b>text</b>")
    client.login("staff@example.test")
    url = f"/app/rooms/{room_id}/messages/{message_id}/edit"
    page = client.get(url).get_data(as_text=True)
    assert 'name="body"' in page and "Old &lt;b&gt;text&lt;/b&gt;" in page
    response = client.form_post(url, {"body": "New text"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"around={message_id}#message-{message_id}")
    room = client.get(f"/app/rooms/{room_id}").get_data(as_text=True)
    assert "New text" in room and "(edited)" in room and "Old" not in room


def test_edit_with_htmx_swaps_in_place(client, app, people, room_id):
    message_id = _post(app, room_id, people["staff"], "Old text")
    client.login("staff@example.test")
    url = f"/app/rooms/{room_id}/messages/{message_id}/edit"
    form = client.get(url, headers=HX)
    assert form.status_code == 200 and 'class="message editing"' in form.get_data(as_text=True)
    cancel = client.get(url + "?cancel=1", headers=HX).get_data(as_text=True)
    assert "Old text" in cancel and "editing" not in cancel
    saved = client.form_post(url, {"body": "New text"}, headers=HX)
    assert saved.status_code == 200
    assert "New text" in saved.get_data(as_text=True) and "(edited)" in saved.get_data(as_text=True)
    empty = client.form_post(url, {"body": ""}, headers=HX)
    assert empty.status_code == 422 and "Delete it instead" in empty.get_data(as_text=True)


def test_editing_in_an_archived_room_is_refused(client, app, people, room_id):
    message_id = _post(app, room_id, people["staff"], "Old text")
    with app.app_context():
        archive_room(db.session.get(Room, room_id))
    client.login("staff@example.test")
    url = f"/app/rooms/{room_id}/messages/{message_id}"
    assert client.form_post(f"{url}/edit", {"body": "x"}).status_code == 403
    assert client.form_post(f"{url}/delete").status_code == 403


def test_a_client_edits_their_own_message_in_the_portal(client, app, people, room_id):
    message_id = _post(app, room_id, people["client"], "From the client")
    client.login("client@example.test")
    url = f"/portal/rooms/{room_id}/messages/{message_id}/edit"
    assert client.get(url).status_code == 200
    assert client.form_post(url, {"body": "Edited by client"}).status_code == 302
    assert "Edited by client" in client.get(f"/portal/rooms/{room_id}").get_data(as_text=True)
    assert client.get(f"/app/rooms/{room_id}/messages/{message_id}/edit").status_code == 404


def test_edited_text_is_what_the_email_quotes(app, people, room_id, outbox):
    message_id = _post(app, room_id, people["staff"], "Original wording")
    with app.app_context():
        edit_message(db.session.get(Message, message_id), _user(people["staff"]), "Final wording")
        notify_client(people["client"].id, now=after_delay())
    [email] = outbox.messages("client@example.test")
    text, html = parts(email)
    assert "Final wording" in text and "Original" not in text and "Original" not in html


# --- delete ---


def _post_file(app, room_id, person, body, name="contract.pdf"):
    from werkzeug.datastructures import FileStorage

    with app.app_context():
        upload = FileStorage(io.BytesIO(b"%PDF-1.4 secret"), filename=name)
        message = post_message(db.session.get(Room, room_id), _user(person), body, files=[upload])
        attachment = message.attachments[0]
        return (
            message.id,
            attachment.id,
            os.path.join(app.config["UPLOAD_DIR"], stored_name(attachment)),
        )


def test_delete_tombstones_removes_files_and_404s_them(client, app, people, room_id):
    message_id, attachment_id, path = _post_file(app, room_id, people["staff"], "Signed copy")
    client.login("client@example.test")
    file_url = f"/files/{attachment_id}/contract.pdf"
    assert client.get(file_url).status_code == 200
    staff = app.test_client()
    staff.login("staff@example.test")
    url = f"/app/rooms/{room_id}/messages/{message_id}/delete"
    page = staff.get(url).get_data(as_text=True)
    assert "Delete this message?" in page and "Signed copy" in page
    assert staff.form_post(url).status_code == 302
    assert client.get(file_url).status_code == 404
    assert not os.path.exists(path)
    room = client.get(f"/portal/rooms/{room_id}").get_data(as_text=True)
    assert "This message was deleted" in room and "Signed copy" not in room
    assert "contract.pdf" not in room
    with app.app_context():
        message = db.session.get(Message, message_id)
        assert message.body == "" and message.deleted_by_id == people["staff"].id
        assert db.session.scalars(select(Attachment)).all() == []
        [revision] = db.session.scalars(select(MessageRevision)).all()
        assert (revision.action, revision.previous_body) == ("delete", "Signed copy")


def test_delete_with_htmx_returns_the_tombstone(client, app, people, room_id):
    message_id = _post(app, room_id, people["staff"], "Oops")
    client.login("staff@example.test")
    response = client.form_post(f"/app/rooms/{room_id}/messages/{message_id}/delete", headers=HX)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "This message was deleted" in body
    assert "Oops" not in body and "message-actions" not in body


def test_a_deleted_message_is_never_emailed(app, people, room_id, outbox):
    keep = _post(app, room_id, people["staff"], "Still here")
    gone = _post(app, room_id, people["staff"], "Regrettable words")
    with app.app_context():
        delete_message(db.session.get(Message, gone), _user(people["staff"]))
        notify_client(people["client"].id, now=after_delay())
    [email] = outbox.messages("client@example.test")
    text, html = parts(email)
    assert "Still here" in text and "Regrettable" not in text and "Regrettable" not in html
    assert keep


def test_only_deleted_messages_unread_sends_nothing(app, people, room_id, outbox):
    gone = _post(app, room_id, people["staff"], "Regrettable words")
    with app.app_context():
        delete_message(db.session.get(Message, gone), _user(people["staff"]))
        notify_client(people["client"].id, now=after_delay())
    assert outbox.messages("client@example.test") == []


def test_room_list_names_a_deleted_last_message(client, app, people, room_id):
    message_id = _post(app, room_id, people["staff"], "Regrettable words")
    with app.app_context():
        delete_message(db.session.get(Message, message_id), _user(people["staff"]))
    client.login("client@example.test")
    page = client.get("/portal/rooms").get_data(as_text=True)
    assert "message deleted" in page and "Regrettable" not in page


# --- search follows edits and deletions ---


def test_search_follows_edits_and_deletions(app, people, room_id):
    message_id = _post(app, room_id, people["staff"], "The invoice is attached")
    with app.app_context():
        staff = _user(people["staff"])
        assert [h.message_id for h in search(staff, "invoice")[1]] == [message_id]
        edit_message(db.session.get(Message, message_id), staff, "The receipt is attached")
        assert search(staff, "invoice")[1] == []
        assert [h.message_id for h in search(staff, "receipt")[1]] == [message_id]
        delete_message(db.session.get(Message, message_id), staff)
        assert search(staff, "receipt")[1] == []


# --- catch-up: a page that missed live events replays edits, deletions, reads ---


def _cursor(page):
    return int(re.search(r'data-changes-cursor="(\d+)"', page).group(1))


def test_catch_up_replays_missed_edits_deletions_and_reads(client, app, people, room_id):
    first = _post(app, room_id, people["client"], "Keep me")
    second = _post(app, room_id, people["client"], "Change me")
    third = _post(app, room_id, people["client"], "Drop me")
    client.login("staff@example.test")
    page = client.get(f"/app/rooms/{room_id}").get_data(as_text=True)
    assert 'data-changes-url="/app/rooms/' in page
    cursor = _cursor(page)
    with app.app_context():  # meanwhile, while this page's stream was down
        edit_message(db.session.get(Message, second), _user(people["client"]), "Changed")
        delete_message(db.session.get(Message, third), _user(people["client"]))
    url = f"/app/rooms/{room_id}/changes?since={cursor}&from={first}&through={third}"
    data = client.get(url).get_json()
    assert [u["message_id"] for u in data["updates"]] == [second, third]
    assert "Changed" in data["updates"][0]["html"] and "(edited)" in data["updates"][0]["html"]
    assert "This message was deleted" in data["updates"][1]["html"]
    assert "Drop me" not in json.dumps(data)
    # The client read everything: staff hear where (as the live `seen` event says it).
    assert data["seen"] == [
        {
            "room_id": room_id,
            "user_id": people["client"].id,
            "name": people["client"].name,
            "initials": initials(people["client"].name),
            "through": third,
        }
    ]
    # Outside the page's range: nothing; the client hears only how far staff read.
    assert client.get(url.replace(f"from={first}", f"from={third + 1}")).get_json()["updates"] == []
    client.logout()
    client.login("client@example.test")
    mine = client.get(f"/portal/rooms/{room_id}/changes?since=0&from={first}&through={third}")
    staff_read = third  # the staff page above marked the room read
    assert mine.get_json()["seen"] == [{"room_id": room_id, "staff_through": staff_read}]


def test_catch_up_cursor_passes_only_settled_revisions(app, people, room_id):
    message_id = _post(app, room_id, people["staff"], "One")
    with app.app_context():
        room, message = db.session.get(Room, room_id), db.session.get(Message, message_id)
        start = message.created_at
        edit_message(message, _user(people["staff"]), "Two", now=start)
        edit_message(message, _user(people["staff"]), "Three", now=start + timedelta(seconds=90))
        first, second = db.session.scalars(select(MessageRevision.id).order_by("id")).all()
        # 100 s after the first edit: only the first is settled; the second replays again.
        now = start + timedelta(seconds=100)
        changed, cursor = changed_since(room, 0, message_id, message_id, now=now)
        assert [m.id for m in changed] == [message_id] and cursor == first
        changed, cursor = changed_since(room, cursor, message_id, message_id, now=now)
        assert [m.body for m in changed] == ["Three"] and cursor == first
        later = start + timedelta(seconds=90 + SETTLE_SECONDS)
        assert changed_since(room, cursor, message_id, message_id, now=later)[1] == second
        assert changed_since(room, second, message_id, message_id, now=later) == ([], second)
        assert settled_cursor(now=later) == second and settled_cursor(now=start) == 0


def test_catch_up_is_refused_outside_the_room(client, app, people, room_id):
    client.login("outsider@example.test")
    assert client.get(f"/portal/rooms/{room_id}/changes?since=0").status_code == 404
    client.logout()
    assert client.get(f"/app/rooms/{room_id}/changes?since=0").status_code in (302, 401)


def test_audit_trail_chains_edits_marks_moderation_and_pages(app, people, room_id):
    message_id = _post(app, room_id, people["client"], "One")
    with app.app_context():
        message, client = db.session.get(Message, message_id), _user(people["client"])
        edit_message(message, client, "Two")
        edit_message(message, client, "Three")
        delete_message(message, _user(people["admin"]))
        admin = _user(people["admin"])
        admin.access_all_rooms = True
        entries, older = audit_trail(admin)
        assert [(e.action, e.previous, e.replacement) for e in entries] == [
            ("delete", "Three", None),
            ("edit", "Two", "Three"),
            ("edit", "One", "Two"),
        ]
        assert older is None and entries[0].moderation and not entries[1].moderation
        assert entries[0].actor_name == people["admin"].name
        page, older = audit_trail(admin, limit=2)
        assert [e.previous for e in page] == ["Three", "Two"] and older == page[-1].id
        rest, last = audit_trail(admin, before=older, limit=2)
        assert [e.previous for e in rest] == ["One"] and last is None
        admin.access_all_rooms = False  # not a participant: the room's history is hidden
        assert audit_trail(admin) == ([], None)
