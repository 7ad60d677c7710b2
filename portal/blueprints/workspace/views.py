from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from portal.access import ensure_can_change, ensure_can_manage, internal_required, load_room
from portal.blueprints import both_sides, conversation, message_actions, search_pages  # noqa: F401
from portal.blueprints.forms import NewConversationForm, ParticipantsForm, TitleForm
from portal.blueprints.room_lists import render_room_list
from portal.blueprints.workspace import bp
from portal.messaging.rooms import (
    RoomError,
    archive_room,
    clean_title,
    create_room,
    participant_ids,
    rename_room,
    set_participants,
    unarchive_room,
)
from portal.models.rooms import ANNOUNCEMENT
from portal.models.users import CLIENT
from portal.people.invitations import InvitationEmailError, InvitationError, invite_user
from portal.people.users import pickable_users, users_by_ids
from portal.sides import WORKSPACE

both_sides.add_routes(bp, internal_required, WORKSPACE)


def _with_people(form, room=None):
    """Fill the participant checkboxes: active users, plus anyone already in the room."""
    people = pickable_users()
    if room is not None:
        known = {u.id for u in people}
        people += [u for u in users_by_ids(participant_ids(room)) if u.id not in known]
    form.participant_ids.choices = [(u.id, u.name) for u in people]
    form.people = people
    return form


@bp.route("/rooms")
@internal_required
def rooms():
    return render_room_list("workspace/rooms.html", archived_last=True)


@bp.route("/rooms/new")
@internal_required
def new_room():
    """New Conversation; `?kind=announcement` is New Announcement."""
    form = _with_people(NewConversationForm())
    if request.args.get("kind") == ANNOUNCEMENT:
        form.kind.data = ANNOUNCEMENT
    return render_template("workspace/new_room.html", form=form)


@bp.route("/rooms", methods=["POST"])
@internal_required
def create():
    form = _with_people(NewConversationForm())
    if form.validate_on_submit():
        try:
            room, invited = _create_from(form)
        except RoomError as exc:
            form[exc.field].errors.append(str(exc))
        except InvitationError as exc:
            field = form.new_client_name if exc.field == "name" else form.new_client_email
            field.errors.append(str(exc))
            return render_template("workspace/new_room.html", form=form), max(exc.status, 422)
        else:
            flash(_created_flash(invited), "success")
            return redirect(url_for("workspace.room", room_id=room.id))
    return render_template("workspace/new_room.html", form=form), 422


def _create_from(form):
    """Create the room the form describes (inviting the new client, if any)."""
    title, kind, team_only = clean_title(form.title.data), form.kind.data, form.team_only.data
    people = list(form.participant_ids.data or [])
    if team_only and _new_client_given(form):
        raise RoomError(
            "A team-only conversation is for internal users: untick Team only to invite a "
            "new client.",
            "new_client_email",
        )
    invited = _invite_new_client(form)
    if invited is not None:
        people.append(invited.id)
    return create_room(current_user, title, people, kind=kind, team_only=team_only), invited


def _new_client_given(form):
    return bool(
        (form.new_client_email.data or "").strip() or (form.new_client_name.data or "").strip()
    )


def _invite_new_client(form):
    """The "invite a new client" fields: create, invite and return the client (or None)."""
    email, name = (form.new_client_email.data or "").strip(), form.new_client_name.data
    if not _new_client_given(form):
        return None
    if not email:
        raise InvitationError("Enter the new client's email, or clear their name.", "email")
    try:
        return invite_user(email, name, CLIENT, current_user)
    except InvitationEmailError as exc:
        flash(str(exc), "error")
        return exc.user


def _created_flash(invited):
    if invited is None:
        return "Conversation created."
    return (
        f"Conversation created. {invited.name} was invited and will see it "
        "once they set a password."
    )


@bp.route("/rooms/<int:room_id>/participants", methods=["GET", "POST"])
@internal_required
def participants(room_id):
    room = load_room(room_id)
    ensure_can_manage(room)
    if request.method == "POST":
        ensure_can_change(room)
    form = _with_people(ParticipantsForm(), room)
    if request.method == "GET":
        form.team_only.data = room.team_only
        form.participant_ids.data = sorted(participant_ids(room))
        form.shown_ids.data = " ".join(map(str, form.participant_ids.data))
        return _participants_page(room, form)
    if form.validate_on_submit() and _save_participants(room, form):
        return redirect(url_for("workspace.room", room_id=room.id))
    return _participants_page(room, form, 422)


def _participants_page(room, form, status=200):
    title_form = TitleForm(obj=room)
    page = render_template(
        "workspace/participants.html", room=room, form=form, title_form=title_form
    )
    return page, status


def _save_participants(room, form):
    """Apply the form's own changes; True when saved (a flash says what changed, and if
    someone else changed the participants meanwhile), else the error is flashed."""
    shown = form.shown()
    meanwhile = shown not in (None, participant_ids(room))
    was_team_only = room.team_only
    try:
        added, removed = set_participants(
            room, current_user, form.participant_ids.data or [], shown, form.team_only.data
        )
    except RoomError as exc:
        form[exc.field].errors.append(str(exc))
        return False
    message = _participants_flash(added, removed, meanwhile)
    if room.team_only != was_team_only:
        message += " Team only: " + ("on." if room.team_only else "off.")
    flash(message, "success")
    return True


def _participants_flash(added, removed, meanwhile=False):
    if meanwhile:
        return (
            "The participants changed meanwhile (someone else edited them while you had the "
            f"page open): your changes were applied on top — {len(added)} added, "
            f"{len(removed)} removed. Check the participants list."
        )
    if not added and not removed:
        return "No changes to the participants."
    parts = []
    if added:
        parts.append(f"{len(added)} added")
    if removed:
        parts.append(f"{len(removed)} removed")
    return "Participants updated: " + ", ".join(parts) + "."


@bp.route("/rooms/<int:room_id>/rename", methods=["POST"])
@internal_required
def rename(room_id):
    room = load_room(room_id)
    ensure_can_change(room)
    form = TitleForm()
    if form.validate_on_submit():
        try:
            rename_room(room, form.title.data, current_user)
        except RoomError as exc:
            flash(str(exc), "error")
        else:
            flash("Conversation renamed.", "success")
            return redirect(url_for("workspace.room", room_id=room.id))
    else:
        flash(" ".join(e for errs in form.errors.values() for e in errs), "error")
    return redirect(url_for("workspace.participants", room_id=room.id))


@bp.route("/rooms/<int:room_id>/archive", methods=["POST"])
@internal_required
def archive(room_id):
    return _set_archived(
        room_id, archive_room, "Conversation archived: it is read-only until unarchived."
    )


@bp.route("/rooms/<int:room_id>/unarchive", methods=["POST"])
@internal_required
def unarchive(room_id):
    return _set_archived(room_id, unarchive_room, "Conversation unarchived.")


def _set_archived(room_id, verb, done):
    room = load_room(room_id)
    ensure_can_manage(room)
    verb(room, actor=current_user)
    flash(done, "success")
    return redirect(url_for("workspace.room", room_id=room.id))
