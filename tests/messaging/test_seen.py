""" "Seen by" for staff (who read up to where) and a plain "Seen" for clients."""

import json
import re

from portal.extensions import db
from portal.live.seen import broadcast_seen
from portal.messaging.grouping import initials
from portal.messaging.messages import post_message
from portal.messaging.reading import mark_read
from portal.messaging.rooms import create_room
from portal.models import Room, User


def _user(person):
    return db.session.get(User, person.id)


def _seen_rows(page):
    return re.findall(r'<li class="seen-by" data-seen-for="(\d+)">(.*?)</li>', page)


def test_initials():
    assert initials("Ada Lovelace") == "AL"
    assert initials("Grace Brewster Hopper") == "GH"
    assert initials("Cher") == "CH"
    assert initials("") == "?"


def test_staff_see_each_readers_position_clients_see_only_seen(client, app, people, make_user):
    other = make_user("other_staff")
    with app.app_context():
        staff = _user(people["staff"])
        room = create_room(staff, "Seen room", [people["client"].id, other.id])
        first = post_message(room, _user(people["client"]), "Question one").id
        second = post_message(room, _user(people["client"]), "Question two").id
        mark_read(_user(other), room, first)  # Other_Staff read the first only
        room_id = room.id
    client.login("client@example.test")
    page = client.get(f"/portal/rooms/{room_id}").get_data(as_text=True)
    # Nobody from staff read the second message yet (staff posted nothing, opened nothing).
    assert _seen_rows(page) == []
    client.logout()

    client.login("staff@example.test")  # opening the room marks it read for staff
    page = client.get(f"/app/rooms/{room_id}").get_data(as_text=True)
    rows = dict(_seen_rows(page))
    assert 'title="Other_Staff">OT</abbr>' in rows[str(first)]
    assert rows[str(first)].startswith("Seen by ")
    assert 'title="Client">CL</abbr>' in rows[str(second)]  # the client read their own posts
    assert 'title="Staff"' not in "".join(rows.values())  # never yourself
    client.logout()

    client.login("client@example.test")
    page = client.get(f"/portal/rooms/{room_id}").get_data(as_text=True)
    assert _seen_rows(page) == [(str(second), "Seen")]
    assert "Other_Staff" not in page.split('id="messages"')[1].split("</ol>")[0]


def test_a_newer_own_message_moves_seen_away_until_staff_read_it(client, app, people):
    with app.app_context():
        staff = _user(people["staff"])
        room = create_room(staff, "Seen room", [people["client"].id])
        post_message(room, _user(people["client"]), "First")
        mark_read(staff, room)
        newer = post_message(room, _user(people["client"]), "Second").id
        room_id = room.id
    client.login("client@example.test")
    page = client.get(f"/portal/rooms/{room_id}").get_data(as_text=True)
    assert _seen_rows(page) == []
    with app.app_context():
        mark_read(_user(people["staff"]), db.session.get(Room, room_id))
    page = client.get(f"/portal/rooms/{room_id}").get_data(as_text=True)
    assert _seen_rows(page) == [(str(newer), "Seen")]


def test_live_seen_events_name_staff_only_to_staff(app, people):
    with app.app_context():
        staff = _user(people["staff"])
        room = create_room(staff, "Seen room", [people["client"].id, people["staff_all"].id])
        message = post_message(room, _user(people["client"]), "Hello")
        mark_read(staff, room)
        sent = []
        broadcast_seen(room, staff.id, message.id, sent.extend)
        to = {user_id: json.loads(json.dumps(event.data)) for user_id, event in sent}
        assert to[people["staff_all"].id]["name"] == "Staff"
        assert to[people["client"].id] == {"room_id": room.id, "staff_through": message.id}
        sent.clear()
        broadcast_seen(room, people["client"].id, message.id, sent.extend)
        assert [uid for uid, _ in sent] == [people["staff"].id, people["staff_all"].id]
        sent.clear()
        outsider_room = create_room(staff, "Not theirs", [])
        broadcast_seen(outsider_room, people["staff_all"].id, 1, sent.extend)
        assert sent == []  # all-rooms staff who are not participants leave no trace
