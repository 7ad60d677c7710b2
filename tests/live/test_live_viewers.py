"""The hubs cache each room's viewers; a change to them is announced before it commits.

A removed participant, or staff losing all-rooms access, must not receive the next
message even though the hub had cached the room's viewers before the change.
"""

import json

import redis as redis_lib
from sqlalchemy import delete

from portal.extensions import db
from portal.live.hub import Hub
from portal.live.inbox import IDLE
from portal.live.publish import get_live
from portal.messaging.messages import post_message
from portal.messaging.rooms import set_participants
from portal.models import Participant, Room, User
from portal.people.admin import update_user
from tests.sse import of_type


def post(app, room_id, author_id, body):
    with app.app_context():
        post_message(db.session.get(Room, room_id), db.session.get(User, author_id), body)


def seen(stream, body, timeout=10):
    events = stream.read_until(
        lambda ev: any(body in m["html"] for m in of_type(ev, "message")), timeout=timeout
    )
    return any(body in m["html"] for m in of_type(events, "message"))


def test_removed_participant_misses_the_next_message_though_the_room_was_cached(
    app, people, room, open_stream
):
    client = open_stream("client@example.test")
    post(app, room, people["staff"].id, "Before the removal")
    assert seen(client, "Before the removal")  # the hub has now cached the room's viewers

    with app.app_context():
        staff = db.session.get(User, people["staff"].id)
        set_participants(db.session.get(Room, room), staff, [staff.id])
    post(app, room, people["staff"].id, "After the removal")
    assert not seen(client, "After the removal", timeout=2)


def test_staff_losing_all_rooms_access_misses_the_next_message(app, people, room, open_stream):
    staff_all = open_stream("staff_all@example.test")
    post(app, room, people["staff"].id, "Seen with all-rooms access")
    assert seen(staff_all, "Seen with all-rooms access")

    with app.app_context():
        admin = db.session.get(User, people["admin"].id)
        user = db.session.get(User, people["staff_all"].id)
        update_user(
            user, admin, name=user.name, is_admin=False, access_all_rooms=False, active=True
        )
    post(app, room, people["staff"].id, "Not for former all-rooms staff")
    assert not seen(staff_all, "Not for former all-rooms staff", timeout=2)


def test_added_participant_gets_the_next_message_though_the_room_was_cached(
    app, people, room, open_stream
):
    staff = open_stream("staff@example.test")
    outsider = open_stream("outsider@example.test")
    post(app, room, people["client"].id, "Only the room")
    assert seen(staff, "Only the room")

    with app.app_context():
        actor = db.session.get(User, people["staff"].id)
        set_participants(
            db.session.get(Room, room),
            actor,
            [actor.id, people["client"].id, people["outsider"].id],
        )
    post(app, room, people["client"].id, "Welcome aboard")
    assert seen(outsider, "Welcome aboard")


def _markers(pubsub, count):
    found = []
    for _ in range(50):
        item = pubsub.get_message(timeout=0.2)
        if item and item["type"] == "pmessage":
            payload = json.loads(item["data"])
            if "viewers" in payload:
                found.append((item["channel"].decode().rpartition(".")[2], payload["viewers"]))
        if len(found) >= count:
            break
    return found


def test_a_removal_is_announced_pending_before_commit_and_settled_after(app, people, room):
    with app.app_context():
        live = get_live()
        pubsub = redis_lib.Redis.from_url(app.config["REDIS_URL"]).pubsub()
        pubsub.psubscribe(live.hub.room_channel("*"))
        pubsub.get_message(timeout=1)  # the subscription's confirmation
        try:
            row = db.session.scalars(
                db.select(Participant).where(
                    Participant.room_id == room, Participant.user_id == people["client"].id
                )
            ).one()
            db.session.delete(row)
            db.session.flush()
            assert _markers(pubsub, 1) == [(str(room), "pending")]  # not yet committed
            db.session.commit()
            assert _markers(pubsub, 1) == [(str(room), "settled")]

            # A bulk statement names no room: every room (0) is announced.
            db.session.execute(delete(Participant).where(Participant.room_id == room))
            assert _markers(pubsub, 1) == [("0", "pending")]
            db.session.rollback()
            assert _markers(pubsub, 1) == [("0", "settled")]
        finally:
            pubsub.close()


def test_muting_announces_nothing(app, people, room):
    with app.app_context():
        live = get_live()
        pubsub = redis_lib.Redis.from_url(app.config["REDIS_URL"]).pubsub()
        pubsub.psubscribe(live.hub.room_channel("*"))
        pubsub.get_message(timeout=1)
        try:
            db.session.execute(
                db.update(Participant).where(Participant.room_id == room).values(muted=True)
            )
            db.session.commit()
            assert _markers(pubsub, 1) == []
        finally:
            pubsub.close()


class Counted:
    """The real viewers query, counted."""

    def __init__(self, app):
        self.app, self.calls = app, 0

    def __call__(self, room_id):
        from portal.access import viewer_ids

        self.calls += 1
        with self.app.app_context():
            return viewer_ids(room_id)


def _message(room_id):
    return json.dumps({"author_id": None, "event": {"room_id": room_id, "html": "x"}})


def _marker(state, mark="m1"):
    return json.dumps({"viewers": state, "mark": mark})


def test_the_hub_queries_a_rooms_viewers_once_until_a_change_is_announced(app, people, room):
    counted = Counted(app)
    hub = Hub(app.config["REDIS_URL"], "unit.", viewers=counted)
    subscription = hub.open(people["client"].id)
    try:
        hub._dispatch_room(room, _message(room))
        hub._dispatch_room(room, _message(room))
        assert counted.calls == 1

        hub._dispatch_room(room, _marker("pending"))  # a change may be committing
        hub._dispatch_room(room, _message(room))
        hub._dispatch_room(room, _message(room))
        assert counted.calls == 3  # resolved for every event meanwhile

        hub._dispatch_room(0, _marker("pending", "m2"))  # every room
        hub._dispatch_room(room, _marker("settled"))
        hub._dispatch_room(room, _message(room))
        hub._dispatch_room(0, _marker("settled", "m2"))
        hub._dispatch_room(room, _message(room))
        hub._dispatch_room(room, _message(room))
        assert counted.calls == 5  # cached again once every change settled
        events = [subscription.get(0) for _ in range(15)]
        assert [e.type for e in events[:14]] == ["message", "unread"] * 7
        assert events[14] == IDLE
    finally:
        hub.stop()
