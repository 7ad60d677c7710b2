"""Every condition of the access rules and the notification rules, pinned one by one.

Each test isolates one condition: removing that condition from `portal/access.py` or
`portal/notify/` makes exactly that test fail (they test the rules themselves, never
through a route whose guard might shadow them).
"""

from datetime import timedelta

import pytest
from flask_login import AnonymousUserMixin
from sqlalchemy import event, select
from werkzeug.exceptions import Forbidden, NotFound

from portal import access
from portal.extensions import db
from portal.models import Attachment, Message, Participant, ReadState, Room, User
from portal.models.base import utcnow
from portal.notify.client_emails import client_recipients
from portal.notify.recipients import may_email, unread

T0 = utcnow() - timedelta(days=1)


@pytest.fixture
def world(app, people):
    """Room "member" (staff created, client and staff_all's peer invited), room "other"."""
    with app.app_context():
        staff = db.session.get(User, people["staff"].id)
        member = Room(title="member", created_by_id=staff.id, created_at=T0)
        other = Room(title="other", created_by_id=people["admin"].id, created_at=T0)
        db.session.add_all([member, other])
        db.session.flush()
        for handle in ("staff", "client", "invited", "deactivated"):
            db.session.add(Participant(room_id=member.id, user_id=people[handle].id, added_at=T0))
        db.session.commit()
        yield {"member": member.id, "other": other.id, **{k: v.id for k, v in people.items()}}


def user(ids, handle):
    return db.session.get(User, ids[handle])


def room(ids, name):
    return db.session.get(Room, ids[name])


def visible(u):
    return {r.title for r in db.session.scalars(access.visible_rooms(u))}


# visible_rooms / can_view


def test_anonymous_sees_nothing(app_ctx, world):
    assert visible(AnonymousUserMixin()) == set()
    assert visible(None) == set()


def test_a_deactivated_participant_sees_nothing(app_ctx, world):
    assert visible(user(world, "deactivated")) == set()


def test_an_invited_not_activated_participant_sees_nothing(app_ctx, world):
    assert visible(user(world, "invited")) == set()


def test_all_rooms_staff_see_every_room(app_ctx, world):
    assert visible(user(world, "staff_all")) == {"member", "other"}


def test_a_client_with_the_all_rooms_flag_still_sees_only_their_rooms(app_ctx, world):
    client = user(world, "client")
    client.access_all_rooms = True  # never set by the app; the rule must not trust it
    assert visible(client) == {"member"}


def test_a_participant_sees_their_room_only(app_ctx, world):
    assert visible(user(world, "client")) == {"member"}
    assert visible(user(world, "outsider")) == set()


def test_internal_creator_sees_their_room_without_being_a_participant(app_ctx, world):
    db.session.execute(Participant.__table__.delete().where(Participant.user_id == world["staff"]))
    assert visible(user(world, "staff")) == {"member"}


def test_a_client_creator_who_is_not_a_participant_does_not_see_it(app_ctx, world):
    r = room(world, "other")
    r.created_by_id = world["outsider"]
    assert visible(user(world, "outsider")) == set()


def test_can_view(app_ctx, world):
    assert access.can_view(user(world, "client"), room(world, "member"))
    assert not access.can_view(user(world, "client"), room(world, "other"))


# can_post / can_manage / can_change


def test_can_post_needs_an_unarchived_room(app_ctx, world):
    r = room(world, "member")
    assert access.can_post(user(world, "client"), r)
    r.archived_at = utcnow()
    assert not access.can_post(user(world, "client"), r)


def test_can_post_needs_view(app_ctx, world):
    assert not access.can_post(user(world, "outsider"), room(world, "member"))


def test_can_manage_is_for_internal_users_only(app_ctx, world):
    """A client who can view the room still may not manage it (not only the blueprint)."""
    r = room(world, "member")
    assert access.can_view(user(world, "client"), r)
    assert not access.can_manage(user(world, "client"), r)
    assert access.can_manage(user(world, "staff"), r)


def test_can_manage_needs_view(app_ctx, world):
    outsider_staff = user(world, "admin")  # internal, not in "member", no all-rooms access
    assert not access.can_manage(outsider_staff, room(world, "member"))


def test_can_change_needs_an_unarchived_room(app_ctx, world):
    r = room(world, "member")
    assert access.can_change(user(world, "staff"), r)
    r.archived_at = utcnow()
    assert not access.can_change(user(world, "staff"), r)
    assert access.can_manage(user(world, "staff"), r)


def test_can_change_needs_manage(app_ctx, world):
    assert not access.can_change(user(world, "client"), room(world, "member"))


# load_room, ensure_*, load_attachment


def test_load_room_is_404_for_a_room_you_cannot_view(app_ctx, world):
    assert access.load_room(world["member"], user(world, "client")).id == world["member"]
    with pytest.raises(NotFound):
        access.load_room(world["member"], user(world, "outsider"))


def test_load_room_answers_can_post_without_asking_again(app_ctx, world):
    client = user(world, "client")
    r = access.load_room(world["member"], client)
    statements = []
    record = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", record)
    try:
        assert access.can_post(client, r)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert statements == []


def test_a_room_loaded_for_one_user_is_not_visible_to_another(app_ctx, world):
    r = access.load_room(world["member"], user(world, "client"))
    assert not access.can_view(user(world, "outsider"), r)


def test_a_loaded_room_answers_for_itself_only(app_ctx, world):
    access.load_room(world["member"], user(world, "client"))
    assert not access.can_view(user(world, "client"), room(world, "other"))


def test_a_room_loaded_before_a_deactivation_is_not_visible_after_it(app_ctx, world):
    client = user(world, "client")
    r = access.load_room(world["member"], client)
    client.active = False
    assert not access.can_view(client, r)


def test_a_write_after_loading_the_room_asks_again(app_ctx, world):
    client = user(world, "client")
    r = access.load_room(world["member"], client)
    db.session.execute(Participant.__table__.delete().where(Participant.user_id == client.id))
    assert not access.can_view(client, r)


def test_a_flush_after_loading_the_room_asks_again(app_ctx, world):
    client = user(world, "client")
    r = access.load_room(world["member"], client)
    membership = db.session.scalar(select(Participant).where(Participant.user_id == client.id))
    db.session.delete(membership)
    db.session.flush()
    assert not access.can_view(client, r)


def test_a_new_transaction_after_loading_the_room_asks_again(app_ctx, world):
    client = user(world, "client")
    r = access.load_room(world["member"], client)
    with db.engine.begin() as other:  # someone else removes the client meanwhile
        other.execute(Participant.__table__.delete().where(Participant.user_id == client.id))
    db.session.commit()
    assert not access.can_view(client, r)


@pytest.mark.parametrize(
    "guard,handle,archived",
    [
        ("ensure_can_post", "client", True),
        ("ensure_can_manage", "client", False),
        ("ensure_can_change", "staff", True),
    ],
)
def test_guards_are_403(app_ctx, world, guard, handle, archived):
    r = room(world, "member")
    getattr(access, guard)(r, user(world, "staff"))  # allowed: no exception
    r.archived_at = utcnow() if archived else None
    with pytest.raises(Forbidden):
        getattr(access, guard)(r, user(world, handle))


def test_load_attachment_follows_the_room(app_ctx, world):
    message = Message(room_id=world["member"], author_id=world["staff"], body="f")
    message.attachments = [
        Attachment(filename="a.txt", storage_name="ab/x.bin", content_type="text/plain", size=1)
    ]
    db.session.add(message)
    db.session.commit()
    attachment_id = message.attachments[0].id
    assert access.load_attachment(attachment_id, user(world, "client")).id == attachment_id
    with pytest.raises(NotFound):
        access.load_attachment(attachment_id, user(world, "outsider"))


# viewer_ids (who live events go to)


def test_viewer_ids(app_ctx, world):
    ids = access.viewer_ids(world["member"])
    assert world["staff"] in ids and world["client"] in ids  # active participants
    assert world["staff_all"] in ids  # all-rooms staff
    assert world["invited"] not in ids  # not activated
    assert world["deactivated"] not in ids  # deactivated
    assert world["outsider"] not in ids and world["admin"] not in ids


def test_viewer_ids_include_an_internal_creator_but_never_a_client_creator(app_ctx, world):
    r = room(world, "other")
    assert world["admin"] in access.viewer_ids(r.id)
    r.created_by_id = world["outsider"]
    db.session.commit()
    assert world["outsider"] not in access.viewer_ids(r.id)


def test_viewer_ids_all_rooms_needs_internal_and_active(app_ctx, world):
    outsider = user(world, "outsider")
    outsider.access_all_rooms = True
    staff_all = user(world, "staff_all")
    staff_all.active = False
    db.session.commit()
    ids = access.viewer_ids(world["other"])
    assert world["outsider"] not in ids and world["staff_all"] not in ids


def test_viewer_ids_creator_must_be_active(app_ctx, world):
    user(world, "admin").active = False
    db.session.commit()
    assert world["admin"] not in access.viewer_ids(world["other"])


# Decorators


def test_internal_client_and_admin_only_routes(client, people):
    client.login("client@example.test")
    assert client.get("/app/rooms").status_code == 404  # internal_required: clients 404
    assert client.get("/settings/users").status_code == 404  # admin_required via internal
    client.logout()
    client.login("staff@example.test")
    assert client.get("/portal/rooms").status_code == 404  # client_required: staff 404
    assert client.get("/settings/users").status_code == 403  # admin_required: staff 403


def test_home_endpoint(app_ctx, world):
    assert access.home_endpoint(user(world, "staff")) == "workspace.rooms"
    assert access.home_endpoint(user(world, "client")) == "client.rooms"


# Notification rules (portal/notify/recipients.py and client_recipients)


def post(world, author, when, room_name="member"):
    message = Message(
        room_id=world[room_name],
        author_id=world[author] if author else None,
        body="hi",
        created_at=when,
    )
    db.session.add(message)
    db.session.commit()
    return message.id


def unread_for(handle, world):
    return set(db.session.scalars(unread((Message.id,), Participant.user_id == world[handle])))


def test_may_email_needs_active_activated_and_opted_in(app_ctx, world):
    u = user(world, "client")
    assert may_email(u)
    for attribute, value in (("active", False), ("activated_at", None)):
        saved = getattr(u, attribute)
        setattr(u, attribute, value)
        assert not may_email(u)
        setattr(u, attribute, saved)
    u.email_notifications = False
    assert not may_email(u)


def test_unread_includes_a_plain_unread_message(app_ctx, world):
    m = post(world, "staff", T0 + timedelta(hours=1))
    assert unread_for("client", world) == {m}


def test_unread_only_since_the_participant_joined(app_ctx, world):
    before = post(world, "staff", T0 + timedelta(hours=1))
    joined = T0 + timedelta(hours=2)
    db.session.add(Participant(room_id=world["member"], user_id=world["outsider"], added_at=joined))
    db.session.commit()
    after = post(world, "staff", T0 + timedelta(hours=3))
    assert unread_for("outsider", world) == {after}
    assert before in unread_for("client", world)


def test_unread_skips_own_messages_but_keeps_authorless_ones(app_ctx, world):
    own = post(world, "client", T0 + timedelta(hours=1))
    system = post(world, None, T0 + timedelta(hours=1))
    assert unread_for("client", world) == {system}
    assert own in unread_for("staff", world)


def test_unread_stops_at_the_read_marker(app_ctx, world):
    first = post(world, "staff", T0 + timedelta(hours=1))
    second = post(world, "staff", T0 + timedelta(hours=2))
    db.session.add(
        ReadState(
            user_id=world["client"],
            room_id=world["member"],
            last_read_message_id=first,
            notified_through_message_id=0,
            reminded_through_message_id=0,
        )
    )
    db.session.commit()
    assert unread_for("client", world) == {second}


def test_unread_skips_muted_rooms(app_ctx, world):
    post(world, "staff", T0 + timedelta(hours=1))
    participant = db.session.scalar(
        select(Participant).where(Participant.user_id == world["client"])
    )
    participant.muted = True
    db.session.commit()
    assert unread_for("client", world) == set()


def test_unread_skips_deleted_messages(app_ctx, world):
    kept = post(world, "staff", T0 + timedelta(hours=1))
    deleted = db.session.get(Message, post(world, "staff", T0 + timedelta(hours=2)))
    deleted.deleted_at = T0 + timedelta(hours=3)
    db.session.commit()
    assert unread_for("client", world) == {kept}


@pytest.mark.parametrize(
    "attribute,value", [("active", False), ("activated_at", None), ("email_notifications", False)]
)
def test_unread_skips_readers_who_may_not_be_emailed(app_ctx, world, attribute, value):
    post(world, "staff", T0 + timedelta(hours=1))
    setattr(user(world, "client"), attribute, value)
    db.session.commit()
    assert unread_for("client", world) == set()


def test_client_recipients(app_ctx, world):
    db.session.add(Participant(room_id=world["member"], user_id=world["outsider"], added_at=T0))
    db.session.commit()
    message = db.session.get(Message, post(world, "client", T0 + timedelta(hours=1)))
    # Clients only, not the author, emailable only (invited/deactivated are participants).
    assert set(client_recipients(message)) == {world["outsider"]}
    participant = db.session.scalar(
        select(Participant).where(Participant.user_id == world["outsider"])
    )
    participant.muted = True
    db.session.commit()
    assert client_recipients(message) == []


def test_client_recipients_exclude_internal_participants(app_ctx, world):
    message = db.session.get(Message, post(world, "client", T0 + timedelta(hours=1)))
    assert world["staff"] not in client_recipients(message)


def test_client_recipients_need_email_on(app_ctx, world):
    db.session.add(Participant(room_id=world["member"], user_id=world["outsider"], added_at=T0))
    user(world, "outsider").email_notifications = False
    db.session.commit()
    message = db.session.get(Message, post(world, "client", T0 + timedelta(hours=1)))
    assert client_recipients(message) == []
