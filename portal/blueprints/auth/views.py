from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from portal.access import home_endpoint
from portal.auth_sessions import end_session, start_session
from portal.blueprints.auth import bp
from portal.blueprints.auth.forms import LoginForm
from portal.users import authenticate


def safe_next(target):
    """Only a local path: never another host, scheme or protocol-relative URL."""
    if not target or "\\" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/")
def index():
    if current_user.is_authenticated:
        return redirect(url_for(home_endpoint(current_user)))
    return redirect(url_for("auth.login"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data)
        if user is None:
            form.password.errors.append("Wrong email or password.")
            return render_template("auth/login.html", form=form), 200
        start_session(user)
        return redirect(safe_next(form.next.data) or url_for(home_endpoint(user)))
    if current_user.is_authenticated and request.method == "GET":
        return redirect(url_for(home_endpoint(current_user)))
    status = 400 if form.errors else 200
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
def logout():
    end_session()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))
