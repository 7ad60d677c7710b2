from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, url_for
from flask_limiter.util import get_remote_address
from flask_login import current_user

from portal.access import home_endpoint
from portal.blueprints.auth import bp
from portal.blueprints.auth.forms import LoginForm
from portal.people.sessions import end_session, start_session
from portal.people.throttling import ip_and_email, note_failed_login, post_limit
from portal.people.users import authenticate


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
@post_limit("LOGIN_FAILURE_LIMIT", ip_and_email, failures_only=True)
@post_limit("LOGIN_FAILURE_IP_LIMIT", get_remote_address, failures_only=True)
def login():
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data)
        if user is None:
            note_failed_login()
            form.password.errors.append("Wrong email or password.")
            return render_template("auth/login.html", form=form, login_failed=True), 200
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
