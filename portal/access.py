"""Who may do what: the one place the access rules (PRODUCT.md §2) live.

Every route that touches a room loads it through `load_room`, so a room the user may
not view is a 404 whatever the route; `ensure_*` guards turn a forbidden action on a
visible room into a 403.
"""

from functools import cache, wraps

from flask import abort, redirect, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import bindparam, event, exists, false, or_, select
from sqlalchemy.orm import Session

from portal.extensions import db
from portal.models import Attachment, Message, Participant, Room, User
from portal.models.users import INTERNAL
from portal.sides import side_of


def visible_rooms(user):
    """A SELECT of the rooms `user` may view."""
    query = select(Room)
    if user is None or not user.is_authenticated or not user.is_active:
        return query.where(false())
    if user.is_internal and user.access_all_rooms:
        return query
    member = exists().where(Participant.room_id == Room.id, Participant.user_id == user.id)
    if user.is_internal:
        return query.where(or_(member, Room.created_by_id == user.id))
    return query.where(member, Room.team_only.is_(False))


#: Key in the session's `info`: what `load_room` found visible since the session last
#: wrote or ended its transaction, as (user id, the user's flags, room id).
SEEN = "portal_visible_rooms"


def can_view(user, room):
    """A room `load_room` just loaded for `user` is visible without asking again (the
    send's may-post check repeated that query); anything else is asked of the database."""
    if _seen_key(user, room.id) in db.session.info.get(SEEN, ()):
        return True
    return db.session.scalar(visible_rooms(user).where(Room.id == room.id)) is not None


def may_write(user, room):
    """Announcements are one-way: only internal users write in them."""
    return user.is_internal or not room.is_announcement


def can_post(user, room):
    return not room.is_archived and may_write(user, room) and can_view(user, room)


#: Why a client's post to an announcement is refused (the 403 page says it).
ANNOUNCEMENT_REFUSAL = (
    "This conversation is an announcement: you can read it, but replies are not possible here."
)


def may_see_participants(user):
    """Only internal users see who is in a room (its list, a count, others' read state,
    mention suggestions); a client sees the title, the messages and their authors."""
    return bool(user.is_internal)


def may_join(user, room):
    """Who may be made a participant: nobody but internal users in a team-only room."""
    return user.is_internal or not room.team_only


def can_manage(user, room):
    """Participants, rename, archive: internal users who can view the room, never clients."""
    return user.is_internal and can_view(user, room)


def can_change(user, room):
    """Participants and title can change only while the room is not archived."""
    return not room.is_archived and can_manage(user, room)


def can_edit(user, message, room):
    """Only the author edits their words, while they may post in the room."""
    return (
        message.author_id == user.id
        and not message.is_deleted
        and message.room_id == room.id
        and can_post(user, room)
    )


def can_delete(user, message, room):
    """The author while they may post; an admin (moderation) in any unarchived room they see."""
    if message.is_deleted or message.room_id != room.id or room.is_archived:
        return False
    if message.author_id == user.id:
        return can_post(user, room)
    return user.is_internal and user.is_admin and can_view(user, room)


def load_room(room_id, user=None):
    """The room if `user` (default: the current user) may view it, else 404."""
    user = user or current_user
    parameters = {"viewer_id": getattr(user, "id", None), "room_id": room_id}
    room = db.session.scalar(_visible_room(user), parameters)
    if room is None:
        abort(404)
    db.session.info.setdefault(SEEN, set()).add(_seen_key(user, room.id))
    return room


def _seen_key(user, room_id):
    return getattr(user, "id", None), viewer_shape(user), room_id


# Hot-path statements built once per process, with the viewer's id as a bound parameter.
#
# Building a SQLAlchemy statement (coercing every operand, then computing its cache key)
# costs more than running it on a small page. The statements every page runs are built
# once per *shape* of viewer and reused: SQLAlchemy memoizes a statement object's cache
# key, so a reused statement skips both steps. The rooms a viewer may see still come from
# `visible_rooms` — built for a stand-in viewer with the same flags whose id is
# `bindparam("viewer_id")` — so the access rules keep their one home.


def viewer_shape(user):
    """What, besides the id, decides which rooms `user` sees (a hashable key)."""
    allowed = bool(user is not None and user.is_authenticated and user.is_active)
    return (
        allowed,
        bool(allowed and user.is_internal),
        bool(allowed and user.is_internal and user.access_all_rooms),
    )


class StandIn:
    """A viewer of `shape` whose id is the statement parameter `viewer_id`."""

    is_authenticated = True

    def __init__(self, shape):
        self.is_active, self.is_internal, self.access_all_rooms = shape
        self.id = bindparam("viewer_id")


def prepared(build):
    """Decorate `build(stand_in, visible, *key)` → a statement cached per viewer shape and key.

    Call the result as `statement(user, *key)`; run it with `{"viewer_id": user.id}`.
    """

    @cache
    def cached(shape, *key):
        viewer = StandIn(shape)
        return build(viewer, visible_rooms(viewer), *key)

    def statement(user, *key):
        return cached(viewer_shape(user), *key)

    return statement


@event.listens_for(Session, "after_transaction_end")
def _forget_seen(session, *_args):
    # A write (participants, a user's access: a flush ends a subtransaction) or a new
    # transaction may change what a user sees: from then on `can_view` asks again.
    session.info.pop(SEEN, None)


@event.listens_for(Session, "do_orm_execute")
def _forget_seen_on_write(orm_execute_state):
    if not orm_execute_state.is_select:
        orm_execute_state.session.info.pop(SEEN, None)


@prepared
def _visible_room(_viewer, visible):
    """`visible_rooms` narrowed to one room (built once per viewer shape: every room
    route runs it)."""
    return visible.where(Room.id == bindparam("room_id"))


def load_message(room, message_id):
    """A message of a room already loaded through `load_room`, else 404."""
    message = db.session.scalar(
        select(Message).where(Message.id == message_id, Message.room_id == room.id)
    )
    if message is None:
        abort(404)
    return message


def ensure_can_edit(message, room, user=None):
    if not can_edit(user or current_user, message, room):
        abort(403)


def ensure_can_delete(message, room, user=None):
    if not can_delete(user or current_user, message, room):
        abort(403)


def ensure_can_post(room, user=None):
    user = user or current_user
    if not can_post(user, room):
        abort(403, None if may_write(user, room) else ANNOUNCEMENT_REFUSAL)


def ensure_can_manage(room, user=None):
    if not can_manage(user or current_user, room):
        abort(403)


def ensure_can_change(room, user=None):
    if not can_change(user or current_user, room):
        abort(403)


def viewer_ids(room_id):
    """Ids of every user who may view the room now: active participants (never a client
    in a team-only room) and all-rooms staff."""
    active = User.may_log_in
    participants = (
        select(Participant.user_id)
        .join(User, User.id == Participant.user_id)
        .join(Room, Room.id == Participant.room_id)
        .where(
            Participant.room_id == room_id,
            active,
            or_(User.kind == INTERNAL, Room.team_only.is_(False)),
        )
    )
    creator = (
        select(Room.created_by_id)
        .join(User, User.id == Room.created_by_id)
        .where(Room.id == room_id, User.kind == INTERNAL, active)
    )
    all_rooms = select(User.id).where(
        User.kind == INTERNAL, User.access_all_rooms.is_(True), active
    )
    return set(db.session.scalars(participants.union(creator, all_rooms)))


def internal_required(view):
    """Internal users only; clients get a 404 (they never learn the workspace exists).

    A client who follows a workspace link to a room they may view lands on its portal page.
    """

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_user.is_internal:
            if request.endpoint == "workspace.room":
                room = load_room(kwargs["room_id"])
                return redirect(url_for("client.room", room_id=room.id))
            abort(404)
        return view(*args, **kwargs)

    return wrapped


def _only(allowed, refusal, first=login_required):
    """A guard: after `first`, users for whom `allowed(user)` is false get `refusal`."""

    def guard(view):
        @wraps(view)
        @first
        def wrapped(*args, **kwargs):
            if not allowed(current_user):
                abort(refusal)
            return view(*args, **kwargs)

        return wrapped

    return guard


#: Clients only: staff use the workspace, not the client portal.
client_required = _only(lambda user: user.is_client, 404)
#: Admins only: other staff get 403, clients 404.
admin_required = _only(lambda user: user.is_admin, 403, first=internal_required)


def home_endpoint(user):
    return f"{side_of(user).blueprint}.rooms"


def load_attachment(attachment_id, user=None):
    """The attachment if `user` (default: the current user) may view its room, else 404."""
    user = user or current_user
    rooms = visible_rooms(user).with_only_columns(Room.id)
    attachment = db.session.scalar(
        select(Attachment)
        .join(Message)
        .where(
            Attachment.id == attachment_id,
            Message.room_id.in_(rooms),
            Message.deleted_at.is_(None),  # a deleted message's files are gone at once
        )
    )
    if attachment is None:
        abort(404)
    return attachment
