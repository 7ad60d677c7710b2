"""Concurrent participant edits: idempotent inserts, and a stale form never undoes a removal."""

import re

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.messaging.rooms import create_room, participant_ids, set_participants
from portal.models import Participant, Room, User


@pytest.fixture
def room_id(app, people):
    with app.app_context():
        staff = db.session.get(User, people["staff"].id)
        return create_room(staff, "Race", [people["client"].id, people["outsider"].id]).id


def members(app, room_id):
    with app.app_context():
        return participant_ids(db.session.get(Room, room_id))


def open_form(client, room_id):
    html = client.get(f"/app/rooms/{room_id}/participants").get_data(as_text=True)
    shown = re.search(r'name="shown_ids" type="hidden" value="([^"]*)"', html)
    assert shown, "the form carries who it showed"
    return shown.group(1)


def save(client, room_id, ids, shown):
    data = {"participant_ids": [str(i) for i in ids], "shown_ids": shown}
    return client.form_post(f"/app/rooms/{room_id}/participants", data)


def test_a_form_opened_before_a_removal_does_not_re_add_on_save(app, people, room_id):
    alice, bob = app.test_client(), app.test_client()
    alice.login("staff@example.test")
    bob.login("staff_all@example.test")
    shown = open_form(alice, room_id)
    # Bob removes the outsider while Alice's form is open.
    bob_shown = open_form(bob, room_id)
    ids = [people["staff"].id, people["client"].id]
    assert save(bob, room_id, ids, bob_shown).status_code == 302
    # Alice adds staff_all and saves the stale form, outsider still ticked.
    ids = [people["staff"].id, people["client"].id, people["outsider"].id, people["staff_all"].id]
    response = save(alice, room_id, ids, shown)
    assert response.status_code == 302
    assert people["outsider"].id not in members(app, room_id)
    assert people["staff_all"].id in members(app, room_id)
    page = alice.get(response.headers["Location"]).get_data(as_text=True)
    assert "The participants changed meanwhile" in page


def test_a_form_opened_before_an_addition_does_not_remove_on_save(app, people, room_id):
    alice, bob = app.test_client(), app.test_client()
    alice.login("staff@example.test")
    bob.login("staff_all@example.test")
    shown = open_form(alice, room_id)
    all_ids = [people[p].id for p in ("staff", "client", "outsider", "staff_all")]
    assert save(bob, room_id, all_ids, open_form(bob, room_id)).status_code == 302
    # Alice removes the client; staff_all (added by Bob meanwhile) was never on her form.
    save(alice, room_id, [people["staff"].id, people["outsider"].id], shown)
    assert members(app, room_id) == {people[p].id for p in ("staff", "outsider", "staff_all")}


def test_saving_an_unchanged_form_says_no_changes(client, people, room_id):
    client.login("staff@example.test")
    shown = open_form(client, room_id)
    ids = [int(i) for i in shown.split()]
    response = save(client, room_id, ids, shown)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "No changes to the participants." in page


def test_adding_someone_twice_at_once_is_idempotent(app, people, room_id, monkeypatch):
    """Two requests that both saw the person missing both insert: no IntegrityError."""
    from portal.messaging import rooms

    with app.app_context():
        room = db.session.get(Room, room_id)
        staff = db.session.get(User, people["staff"].id)
        stale = participant_ids(room)
        # The other request commits its insert after this one read the participants.
        db.session.add(Participant(room_id=room_id, user_id=people["staff_all"].id))
        db.session.commit()
        monkeypatch.setattr(rooms, "participant_ids", lambda _room: set(stale))
        added, _removed = set_participants(room, staff, [*stale, people["staff_all"].id])
        assert people["staff_all"].id in added
        count = db.session.scalar(
            select(func.count()).where(
                Participant.room_id == room_id, Participant.user_id == people["staff_all"].id
            )
        )
        assert count == 1


def test_a_form_without_shown_ids_keeps_the_old_whole_list_meaning(client, app, people, room_id):
    client.login("staff@example.test")
    response = client.form_post(
        f"/app/rooms/{room_id}/participants", {"participant_ids": [str(people["staff"].id)]}
    )
    assert response.status_code == 302
    assert members(app, room_id) == {people["staff"].id}


@pytest.mark.parametrize("shown", ["²", "9" * 40, "\x00", "1 2 x", ""])
def test_odd_shown_ids_never_fail(client, people, room_id, shown):
    client.login("staff@example.test")
    response = save(client, room_id, [people["staff"].id], shown)
    assert response.status_code in (302, 400)
