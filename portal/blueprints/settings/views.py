from flask import render_template
from sqlalchemy import select

from portal.access import admin_required
from portal.blueprints.settings import bp
from portal.extensions import db
from portal.models import User


@bp.route("/users")
@admin_required
def users():
    people = db.session.scalars(select(User).order_by(User.kind, User.name)).all()
    return render_template("settings/users.html", users=people)
