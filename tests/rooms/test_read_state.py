"""Read state and unread counts: per user and room, never your own messages."""

from portal.extensions import db
from portal.messaging.messages import post_message
from portal.messaging.rooms import create_room
from portal.models import Room, User


def test_unread_counts_exclude_own_messages_and_opening_marks_read(client, app, people, room):
    with app.app_context():
        staff = db.session.get(User, people["staff"].id)
        room_obj = db.session.get(Room, room)
        for n in range(3):
            post_message(room_obj, staff, f"staff message {n}")
    client.login("client@example.test")
    listing = client.get("/portal/rooms").get_data(as_text=True)
    assert f'id="unread-{room}" data-count="3"' in listing
    client.get(f"/portal/rooms/{room}")
    assert f'id="unread-{room}" data-count="0"' in client.get("/portal/rooms").get_data(
        as_text=True
    )
    client.logout()
    client.login("staff@example.test")
    # Staff's own three messages never count, and replying marks what came before as read.
    assert f'id="unread-{room}" data-count="0"' in client.get("/app/rooms").get_data(as_text=True)


def test_unread_counts_stop_at_the_cap(client, app, people, room):
    from portal.messaging.reading import UNREAD_CAP, unread_counts, unread_counts_for_users

    with app.app_context():
        staff = db.session.get(User, people["staff"].id)
        client_user = db.session.get(User, people["client"].id)
        room_obj = db.session.get(Room, room)
        for n in range(UNREAD_CAP + 5):
            post_message(room_obj, staff, f"backlog {n}")
        assert unread_counts(client_user, [room]) == {room: UNREAD_CAP}
        assert unread_counts_for_users(room, {client_user.id}) == {client_user.id: UNREAD_CAP}
    client.login("client@example.test")
    listing = client.get("/portal/rooms").get_data(as_text=True)
    assert f'id="unread-{room}" data-count="{UNREAD_CAP}" aria-label="99+ unread">99+<' in listing
    assert f'data-count="{UNREAD_CAP}" data-cap="{UNREAD_CAP}"' in listing  # the layout's total
    assert "> 99+<span" in listing


def test_read_marker_is_clamped_to_existing_messages(client, app, people, room):
    client.login("client@example.test")
    client.form_post(f"/portal/rooms/{room}/read", {"through": "999999999"})
    with app.app_context():
        post_message(db.session.get(Room, room), db.session.get(User, people["staff"].id), "after")
    assert 'data-count="1"' in client.get("/portal/rooms").get_data(as_text=True)


def test_all_rooms_users_get_read_state_too(client, app, people, room):
    client.login("staff_all@example.test")
    assert f'id="unread-{room}" data-count="1"' in client.get("/app/rooms").get_data(as_text=True)
    client.get(f"/app/rooms/{room}")
    assert f'id="unread-{room}" data-count="0"' in client.get("/app/rooms").get_data(as_text=True)


def test_room_list_is_newest_activity_first_with_excerpt(client, app, people):
    with app.app_context():
        staff = db.session.get(User, people["staff"].id)
        older = create_room(staff, "Older room", [])
        newer = create_room(staff, "Newer room", [])
        post_message(older, staff, "bump " + "long " * 40)
    client.login("staff@example.test")
    listing = client.get("/app/rooms").get_data(as_text=True)
    assert listing.index("Older room") < listing.index("Newer room")
    assert "Staff: bump long" in listing and "…" in listing
    assert newer


def test_unread_counts_use_each_rooms_own_read_marker(app, people):
    from portal.messaging.reading import mark_read, unread_counts

    with app.app_context():
        staff = db.session.get(User, people["staff"].id)
        client_user = db.session.get(User, people["client"].id)
        rooms = [create_room(staff, f"Room {n}", [client_user.id]) for n in range(3)]
        posted = [
            [post_message(room, staff, f"{n}-{i}").id for i in range(n + 2)]
            for n, room in enumerate(rooms)
        ]
        mark_read(client_user, rooms[1])  # all 3 read
        mark_read(client_user, rooms[2], through_id=posted[2][1])  # 2 of 4 read
        counts = unread_counts(client_user, [r.id for r in rooms])
        assert counts == {rooms[0].id: 2, rooms[2].id: 2}
