"""A person's data (admins): export everything held about one user, or erase them."""

from flask import (
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from flask_wtf import FlaskForm

from portal.access import admin_required
from portal.blueprints.settings import bp
from portal.extensions import db
from portal.models import User
from portal.models.base import utcnow
from portal.people.erasure import EraseError, erase_person
from portal.people.person_data import export_name, export_person
from portal.web.downloads import streamed_download


@bp.route("/users/<int:user_id>/export", methods=["POST"])
@admin_required
def export_person_data(user_id):
    user = db.get_or_404(User, user_id)
    now = utcnow()
    name = export_name(user, now)
    return streamed_download(export_person(user, current_user, now), name, "application/zip")


@bp.route("/users/<int:user_id>/erase", methods=["GET", "POST"])
@admin_required
def erase_person_data(user_id):
    user = db.get_or_404(User, user_id)
    choice = request.form.get("messages", "keep")
    if request.method == "POST" and FlaskForm().validate_on_submit():
        try:
            erase_person(user, current_user, choice)
        except EraseError as exc:
            page = render_template("settings/erase_user.html", user=user, choice=choice, error=exc)
            return page, 400
        flash("The person was erased. They show as “Former user”.", "success")
        return redirect(url_for(".users"))
    return render_template("settings/erase_user.html", user=user, choice=choice, error=None)
