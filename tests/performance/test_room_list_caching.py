"""The room lists: bounded pages, a weak ETag over what they show, and 304s that are correct.

A 304 must never hand one viewer's (or one login's) page to another, nor hide a change the
viewer would see: new messages, read markers, renames, archiving, edits, membership, the
viewer's own name and time zone, pending flashes.
"""

import pytest
from sqlalchemy import event, update

from portal.extensions import db
from portal.messaging.changes import edit_message
from portal.messaging.messages import post_message
from portal.messaging.reading import mark_read, unread_by_room
from portal.messaging.rooms import (
    ROOM_LIST_PAGE,
    archive_room,
    create_room,
    rename_room,
    set_participants,
)
from portal.models import Message, Room, User


def tag_of(client, path="/app/rooms"):
    response = client.get(path)
    assert response.status_code == 200
    return response.headers["ETag"]


def revalidate(client, tag, path="/app/rooms"):
    return client.get(path, headers={"If-None-Match": tag})


def with_user(app, person, change):
    with app.app_context():
        change(db.session.get(User, person.id))


def with_room(app, room_id, change, person=None):
    with app.app_context():
        room = db.session.get(Room, room_id)
        change(room, db.session.get(User, person.id) if person else None)


def test_an_unchanged_list_answers_304_with_its_tag_and_cache_policy(client, people, room):
    client.login("staff@example.test")
    first = client.get("/app/rooms")
    tag = first.headers["ETag"]
    assert tag.startswith('W/"') and first.status_code == 200
    again = revalidate(client, tag)
    assert again.status_code == 304 and again.get_data() == b""
    assert again.headers["ETag"] == tag
    assert set(again.headers["Cache-Control"].split(", ")) == {"private", "no-cache"}
    # A list of tags, or the tag sent without its weak prefix, matches too.
    assert revalidate(client, f'"other", {tag[2:]}').status_code == 304
    assert revalidate(client, '"other"').status_code == 200


def test_the_client_portal_list_is_tagged_too(client, people, room):
    client.login("client@example.test")
    tag = tag_of(client, "/portal/rooms")
    assert revalidate(client, tag, "/portal/rooms").status_code == 304


@pytest.mark.parametrize(
    "change",
    [
        "new message",
        "read marker",
        "rename",
        "archive",
        "edit of the last message",
        "removed from a room",
        "viewer renamed",
        "viewer's time zone",
        "access to all rooms",
    ],
)
def test_every_change_the_viewer_would_see_changes_the_tag(client, app, people, room, change):
    client.login("client@example.test")
    with_room(app, room, lambda r, u: post_message(r, u, "first"), people["staff"])
    tag = tag_of(client, "/portal/rooms")
    staff, viewer = people["staff"], people["client"]
    if change == "new message":
        with_room(app, room, lambda r, u: post_message(r, u, "second"), staff)
    elif change == "read marker":
        with_room(app, room, lambda r, u: mark_read(u, r), viewer)
    elif change == "rename":
        with_room(app, room, lambda r, u: rename_room(r, "Renamed"))
    elif change == "archive":
        with_room(app, room, lambda r, u: archive_room(r))
    elif change == "edit of the last message":
        with app.app_context():
            message = db.session.scalar(db.select(Message).where(Message.room_id == room))
            edit_message(message, db.session.get(User, staff.id), "edited")
    elif change == "removed from a room":
        with_room(app, room, lambda r, u: set_participants(r, u, {u.id}), staff)
    elif change == "viewer renamed":
        with_user(app, viewer, lambda u: (setattr(u, "name", "New Name"), db.session.commit()))
    elif change == "viewer's time zone":
        zone = "Europe/Paris"
        with_user(app, viewer, lambda u: (setattr(u, "time_zone", zone), db.session.commit()))
    elif change == "access to all rooms":  # a client sees no more; staff below
        client.logout()
        client.login("staff_all@example.test")
        tag = tag_of(client, "/app/rooms")
        flip = lambda u: (setattr(u, "access_all_rooms", False), db.session.commit())  # noqa: E731
        with_user(app, people["staff_all"], flip)
        assert revalidate(client, tag, "/app/rooms").status_code == 200
        return
    assert revalidate(client, tag, "/portal/rooms").status_code == 200


def test_a_tag_is_never_valid_for_another_viewer_or_another_login(client, app, people, make_room):
    # Two staff members in the very same rooms, with nothing unread: identical lists.
    make_room(members=("admin",))
    client.login("staff@example.test")
    tag = tag_of(client)
    other = app.test_client()
    other.login("admin@example.test")
    assert revalidate(other, tag).status_code == 200
    # The same person logging in again (a new session and CSRF secret) gets a new page.
    client.logout()
    client.login("staff@example.test")
    assert revalidate(client, tag).status_code == 200


def test_a_page_with_flashes_is_never_tagged_nor_answered_304(client, people, room):
    client.login("staff@example.test")
    tag = tag_of(client)
    with client.session_transaction() as session:
        session["_flashes"] = [("info", "Saved.")]
    response = revalidate(client, tag)
    assert response.status_code == 200 and "Saved." in response.get_data(as_text=True)
    assert "ETag" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"
    assert revalidate(client, tag).status_code == 304  # flash shown once, same list


def make_rooms(app, people, count, archived=0):
    """`count` rooms by staff with the client in them, the last `archived` archived."""
    with app.app_context():
        staff = db.session.get(User, people["staff"].id)
        ids = [create_room(staff, f"Room {n:03}", [people["client"].id]).id for n in range(count)]
        if archived:
            db.session.execute(
                update(Room).where(Room.id.in_(ids[-archived:])).values(archived_at=db.func.now())
            )
            db.session.commit()
        return ids


def test_the_list_shows_one_page_of_rooms_with_links_to_the_others(client, app, people):
    ids = make_rooms(app, people, ROOM_LIST_PAGE + 2)
    client.login("client@example.test")
    first = client.get("/portal/rooms").get_data(as_text=True)
    assert first.count('<li id="room-') == ROOM_LIST_PAGE
    assert 'href="/portal/rooms?page=2">Older conversations' in first
    assert "Newer conversations" not in first
    second = client.get("/portal/rooms?page=2").get_data(as_text=True)
    shown = {i for i in ids if f'id="room-{i}"' in second}
    assert len(shown) == 2 and 'href="/portal/rooms">Newer conversations' in second
    assert "Older conversations" not in second
    # The sidebar total still counts every room's unread messages, not only this page's.
    assert first.count('<li id="room-') + second.count('<li id="room-') == len(ids)


@pytest.mark.parametrize("page", ["abc", "0", "-1", "٣", "99999999999999999999", "1.5"])
def test_odd_page_numbers_show_the_first_page(client, app, people, page):
    make_rooms(app, people, 3)
    client.login("staff@example.test")
    response = client.get(f"/app/rooms?page={page}")
    assert response.status_code == 200
    assert response.get_data(as_text=True).count('<li id="room-') == 3


def test_far_pages_are_empty_but_lead_back(client, app, people):
    make_rooms(app, people, 3)
    client.login("staff@example.test")
    page = client.get("/app/rooms?page=9").get_data(as_text=True)
    assert '<li id="room-' not in page and "Newer conversations" in page
    assert "No conversations yet" not in page


def test_workspace_lists_archived_rooms_after_the_others_across_pages(client, app, people):
    ids = make_rooms(app, people, ROOM_LIST_PAGE + 3, archived=3)
    client.login("staff@example.test")
    first = client.get("/app/rooms").get_data(as_text=True)
    second = client.get("/app/rooms?page=2").get_data(as_text=True)
    # The newest-active rooms fill page 1; the (newer still) archived ones come after them.
    assert all(f'id="room-{i}"' in first for i in ids[:-3])
    assert "<h2>Archived</h2>" not in first
    assert "<h2>Archived</h2>" in second
    assert all(f'id="room-{i}"' in second.split("<h2>Archived</h2>")[1] for i in ids[-3:])


def count_statements(app):
    seen = []
    with app.app_context():
        engine = db.engine
    listener = lambda *args: seen.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    return seen, lambda: event.remove(engine, "before_cursor_execute", listener)


@pytest.mark.parametrize("path,email", [("/app/rooms", "staff"), ("/portal/rooms", "client")])
def test_the_list_runs_the_same_few_statements_for_3_rooms_or_60(client, app, people, path, email):
    client.login(f"{email}@example.test")
    counts = []
    for rooms in (3, 57):
        make_rooms(app, people, rooms)
        client.get(path)  # the session's activity touch may write once: not counted
        seen, stop = count_statements(app)
        assert client.get(path).status_code == 200
        stop()
        counts.append(len(seen))
    assert counts[0] == counts[1] <= 5


def test_unread_totals_are_computed_once_per_request_and_forgotten_when_a_marker_moves(
    app, people, room
):
    with app.test_request_context("/"), app.app_context():
        staff = db.session.get(User, people["staff"].id)
        viewer = db.session.get(User, people["client"].id)
        post_message(db.session.get(Room, room), staff, "hello")
        assert unread_by_room(viewer) == {room: 1}
        seen, stop = count_statements(app)
        assert unread_by_room(viewer) == {room: 1}  # the same request: no query
        stop()
        assert seen == []
        mark_read(viewer, db.session.get(Room, room))
        assert unread_by_room(viewer) == {}
