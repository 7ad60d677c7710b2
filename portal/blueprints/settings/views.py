from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from portal.access import admin_required
from portal.blueprints.settings import bp
from portal.blueprints.settings.forms import EditUserForm, InviteForm
from portal.extensions import db
from portal.messaging.changes import audit_trail
from portal.models import User
from portal.people.admin import UserUpdateError, people_by_kind, update_user
from portal.people.invitations import (
    InvitationEmailError,
    InvitationError,
    InvitationLimitError,
    invite_user,
    resend_invitation,
)
from portal.web.inputs import parse_id


@bp.route("/users")
@admin_required
def users():
    return _users_page(InviteForm())


@bp.route("/users/invite", methods=["POST"])
@admin_required
def invite():
    form = InviteForm()
    if form.validate_on_submit():
        try:
            user = invite_user(form.email.data, form.name.data, form.kind.data, current_user)
        except InvitationEmailError as exc:
            flash(str(exc), "error")
            return redirect(url_for(".users"))
        except InvitationError as exc:
            _field_error(form, exc)
            return _users_page(form, exc.status)
        else:
            flash(f"Invitation sent to {user.email}.", "success")
            return redirect(url_for(".users"))
    return _users_page(form, 400)


@bp.route("/users/<int:user_id>/resend", methods=["POST"])
@admin_required
def resend(user_id):
    user = db.get_or_404(User, user_id)
    try:
        resend_invitation(user, current_user)
    except InvitationLimitError:
        abort(429)
    except InvitationError as exc:
        flash(str(exc), "error")
    else:
        flash(f"A new invitation was sent to {user.email}; earlier links stop working.", "success")
    return redirect(url_for(".users"))


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
@admin_required
def edit_user(user_id):
    user = db.get_or_404(User, user_id)
    form = EditUserForm(obj=user)
    if form.validate_on_submit():
        try:
            _update_from(user, form)
        except UserUpdateError as exc:
            _field_error(form, exc)
        else:
            flash(f"Saved the changes to {user.name}.", "success")
            return redirect(url_for(".users"))
    status = 400 if form.errors else 200
    return render_template("settings/edit_user.html", form=form, user=user), status


@bp.route("/audit")
@admin_required
def audit():
    """Edits (with the words they replaced) and deletions in the rooms this admin can see."""
    before, room_id = parse_id(request.args.get("before")), parse_id(request.args.get("room"))
    entries, older = audit_trail(current_user, before=before, room_id=room_id)
    return render_template("settings/audit.html", entries=entries, older=older, room_id=room_id)


def _update_from(user, form):
    update_user(
        user,
        current_user,
        name=form.name.data,
        is_admin=form.is_admin.data,
        access_all_rooms=form.access_all_rooms.data,
        active=form.active.data,
    )


def _users_page(form, status=200):
    internal, clients = people_by_kind()
    page = render_template("settings/users.html", internal=internal, clients=clients, form=form)
    return page, status


def _field_error(form, exc):
    field = getattr(form, exc.field or "", None) or form.name
    field.errors = [*field.errors, str(exc)]
