"""Pagination (keyset, catch-up) and query counts that do not grow."""

import re

from sqlalchemy import event

from portal.extensions import db
from portal.messaging.messages import post_message
from portal.messaging.rooms import create_room
from portal.models import Room, User
from tests.rooms.rooms_helpers import HX


def test_keyset_pagination_returns_every_message_once(client, app, people, room):
    with app.app_context():
        staff = db.session.get(User, people["staff"].id)
        room_obj = db.session.get(Room, room)
        for n in range(120):
            post_message(room_obj, staff, f"m{n:03d}")
    client.login("staff@example.test")
    page = client.get(f"/app/rooms/{room}").get_data(as_text=True)
    seen = re.findall(r">(m\d{3})<", page)
    assert seen == [f"m{n:03d}" for n in range(70, 120)]
    older = re.search(r'hx-get="([^"]+before=\d+)"', page).group(1).replace("&amp;", "&")
    while older:
        fragment = client.get(older, headers=HX).get_data(as_text=True)
        seen = re.findall(r">(m\d{3})<", fragment) + seen
        match = re.search(r'hx-get="([^"]+before=\d+)"', fragment)
        older = match.group(1).replace("&amp;", "&") if match else None
    assert seen == [f"m{n:03d}" for n in range(120)]
    # Without JS, "Load older" is a link to the room page with ?before=.
    link = re.search(r'<a href="(/app/rooms/\d+\?before=\d+)"', page).group(1)
    assert "m069" in client.get(link).get_data(as_text=True)


def test_catch_up_after_id(client, app, people, room):
    with app.app_context():
        staff = db.session.get(User, people["staff"].id)
        ids = [post_message(db.session.get(Room, room), staff, f"c{n}").id for n in range(5)]
    client.login("client@example.test")
    fragment = client.get(f"/portal/rooms/{room}/messages?after={ids[1]}", headers=HX).get_data(
        as_text=True
    )
    assert re.findall(r'data-message-id="(\d+)"', fragment) == [str(i) for i in ids[2:]]


def _count_queries(app, fn):
    count = 0

    def before(*_args, **_kwargs):
        nonlocal count
        count += 1

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        fn()
    finally:
        event.remove(engine, "before_cursor_execute", before)
    return count


def test_query_count_does_not_grow_with_history_or_rooms(client, app, people):
    with app.app_context():
        staff = db.session.get(User, people["staff"].id)
        client_user = db.session.get(User, people["client"].id)
        small = create_room(staff, "Small", [client_user.id])
        big = create_room(staff, "Big", [client_user.id])
        post_message(small, client_user, "one")
        for n in range(150):
            post_message(big, client_user if n % 2 else staff, f"b{n}")
        small_id, big_id = small.id, big.id
    client.login("staff@example.test")
    client.get(f"/app/rooms/{small_id}")
    client.get(f"/app/rooms/{big_id}")
    small_queries = _count_queries(app, lambda: client.get(f"/app/rooms/{small_id}"))
    big_queries = _count_queries(app, lambda: client.get(f"/app/rooms/{big_id}"))
    assert big_queries == small_queries
    list_few = _count_queries(app, lambda: client.get("/app/rooms"))
    with app.app_context():
        staff = db.session.get(User, people["staff"].id)
        for n in range(30):
            post_message(create_room(staff, f"extra {n}", []), staff, "hi")
    list_many = _count_queries(app, lambda: client.get("/app/rooms"))
    assert list_many == list_few
