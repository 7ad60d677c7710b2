"""A person's data (admins): the ZIP export, unzipped, and erasure, both audited."""

import io
import json
import zipfile

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.messaging.rooms import create_room, participant_ids, set_participants
from portal.models import (
    AuditEvent,
    LoginSession,
    Message,
    MessageRevision,
    Participant,
    Room,
    User,
)
from tests.files_helpers import attachments, send, stored_files


@pytest.fixture
def history(client, app, people, make_room):
    """The client wrote two messages (one with a file) in a room with staff; staff wrote one."""
    room_id = make_room("Tax return 2025")
    client.login("client@example.test")
    send(client, room_id, [(b"my payslip", "../pay slip.txt")], body="Here it is", portal=True)
    client.form_post(f"/portal/rooms/{room_id}/messages", {"body": "Thanks, Sam"})
    client.logout()
    client.login("staff@example.test")
    client.form_post(f"/app/rooms/{room_id}/messages", {"body": "Got it"})
    client.logout()
    return room_id


def export(client, user_id):
    client.login("admin@example.test")
    response = client.form_post(f"/settings/users/{user_id}/export")
    assert response.status_code == 200
    assert response.mimetype == "application/zip" and response.is_streamed
    return zipfile.ZipFile(io.BytesIO(response.get_data()))


def erase(client, user_id, messages):
    client.login("admin@example.test")
    return client.form_post(f"/settings/users/{user_id}/erase", {"messages": messages})


def audit_rows(app, action):
    with app.app_context():
        return db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()


def test_export_holds_everything_about_the_person(client, app, people, history):
    archive = export(client, people["client"].id)
    assert archive.testzip() is None
    names = archive.namelist()
    for name in ("README.txt", "profile.json", "memberships.json", "messages.json"):
        assert name in names
    profile = json.loads(archive.read("profile.json"))
    assert (profile["email"], profile["kind"]) == ("client@example.test", "client")
    assert "password_hash" not in profile
    messages = json.loads(archive.read("messages.json"))
    assert [m["body"] for m in messages] == ["Here it is", "Thanks, Sam"]
    assert "Got it" not in archive.read("messages.json").decode()
    [file_name] = [n for n in names if n.startswith("files/")]
    assert ".." not in file_name and file_name.endswith("pay slip.txt")
    assert archive.read(file_name) == b"my payslip"
    assert messages[0]["files"] == [file_name]
    rooms = json.loads(archive.read("memberships.json"))
    assert [r["title"] for r in rooms] == ["Tax return 2025"]
    assert json.loads(archive.read("sessions.json"))  # the logins above
    for name in ("read_state.json", "preferences.json", "links.json", "emails_sent.json"):
        json.loads(archive.read(name))
    [row] = audit_rows(app, "export.made")
    assert (row.actor_id, row.user_id) == (people["admin"].id, people["client"].id)
    # The export is in the trail before the archive is built, so it lists itself.
    assert "Exported" in archive.read("audit.json").decode()


def test_export_of_an_unknown_person_is_404(client, people):
    client.login("admin@example.test")
    assert client.form_post("/settings/users/999999/export").status_code == 404


def test_erase_keeping_messages(client, app, people, history):
    from portal.models import PushSubscription

    with app.app_context():  # a browser subscribed to pushes: it goes with the person
        db.session.add(
            PushSubscription(
                user_id=people["client"].id,
                endpoint="https://fcm.googleapis.com/fcm/send/erased-device",
                p256dh="key",
                auth="auth",
            )
        )
        db.session.commit()
    assert erase(client, people["client"].id, "keep").status_code == 302
    with app.app_context():
        assert db.session.scalar(select(PushSubscription.id)) is None
        user = db.session.get(User, people["client"].id)
        assert user.name == "Former user" and user.email != "client@example.test"
        assert not user.active and user.password_hash is None
        sessions = db.session.scalars(
            select(LoginSession).where(LoginSession.user_id == user.id)
        ).all()
        assert sessions and all(s.revoked_at is not None for s in sessions)
        assert not db.session.scalars(
            select(Participant).where(Participant.user_id == user.id)
        ).all()
        bodies = db.session.scalars(
            select(Message.body).where(Message.author_id == user.id).order_by(Message.id)
        ).all()
        assert bodies == ["Here it is", "Thanks, Sam"]
    [row] = audit_rows(app, "user.erased")
    assert "2 messages kept" in row.summary and "client@example.test" not in row.summary
    assert client.login("client@example.test").status_code != 302
    client.login("staff@example.test")
    page = client.get(f"/app/rooms/{history}").get_data(as_text=True)
    assert "Former user" in page and "Here it is" in page


def test_erase_deleting_messages_removes_words_and_files(client, app, people, history):
    client.login("client@example.test")
    with app.app_context():
        first = db.session.scalar(select(Message).where(Message.body == "Thanks, Sam"))
        first_id = first.id
    client.form_post(f"/portal/rooms/{history}/messages/{first_id}/edit", {"body": "Thanks!"})
    client.logout()
    assert stored_files(app)
    assert erase(client, people["client"].id, "delete").status_code == 302
    with app.app_context():
        theirs = db.session.scalars(
            select(Message).where(Message.author_id == people["client"].id)
        ).all()
        assert all(m.deleted_at is not None and m.body == "" for m in theirs)
        revisions = db.session.scalars(
            select(MessageRevision.previous_body).where(MessageRevision.message_id == first_id)
        ).all()
        assert revisions == [""]
        assert db.session.scalar(select(Message.body).where(Message.body == "Got it"))
    assert attachments(app) == [] and stored_files(app) == []
    [row] = audit_rows(app, "user.erased")
    assert "2 messages deleted" in row.summary


@pytest.mark.parametrize(
    "target,messages,error",
    [
        ("admin", "keep", "your own account"),
        ("staff", "maybe", "keep or delete"),
    ],
)
def test_refused_erasures_change_nothing(client, app, people, target, messages, error):
    response = erase(client, people[target].id, messages)
    assert response.status_code == 400 and error in response.get_data(as_text=True)
    assert audit_rows(app, "user.erased") == []
    with app.app_context():
        assert db.session.get(User, people[target].id).name == people[target].name


def test_an_admin_must_lose_admin_before_being_erased(client, app, people, make_user):
    other = make_user("other_admin", is_admin=True)
    response = erase(client, other.id, "keep")
    assert response.status_code == 400 and "Remove admin first" in response.get_data(as_text=True)


def test_erase_page_asks_first(client, people):
    client.login("admin@example.test")
    page = client.get(f"/settings/users/{people['client'].id}/erase").get_data(as_text=True)
    assert 'name="messages" value="keep"' in page and 'value="delete"' in page


def test_an_erased_creator_is_not_added_back_when_participants_change(client, app, people):
    with app.app_context():
        room = create_room(
            db.session.get(User, people["staff"].id), "Theirs", [people["staff_all"].id]
        )
        room_id = room.id
    erase(client, people["staff"].id, "keep")
    with app.app_context():
        room = db.session.get(Room, room_id)
        set_participants(
            room, db.session.get(User, people["staff_all"].id), [people["staff_all"].id]
        )
        assert participant_ids(room) == {people["staff_all"].id}
