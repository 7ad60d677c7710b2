import logging

from flask import current_app, flash, make_response, redirect, render_template, url_for
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required

from portal.access import home_endpoint
from portal.blueprints.auth import bp
from portal.blueprints.auth.forms import ChangePasswordForm, ForgotPasswordForm
from portal.blueprints.auth.token_pages import set_password_page, token_page
from portal.people.passwords import (
    MIN_LENGTH,
    PasswordError,
    WrongPasswordError,
    change_password,
    request_password_reset,
    reset_link,
)
from portal.people.sessions import end_session
from portal.people.throttling import (
    current_user_key,
    ip_and_email,
    post_limit,
    wrong_current_password,
)

log = logging.getLogger(__name__)
CHANGED = "Your password has been changed. You were logged out everywhere else."


def forgot_limits(view):
    """The "forgot password" limits on POST: per address and email, and per address."""
    view = post_limit("PASSWORD_FORGOT_IP_LIMIT", get_remote_address)(view)
    return post_limit("PASSWORD_FORGOT_LIMIT", ip_and_email)(view)


def email_request_page(verb, form_template, sent_template):
    """Ask for an email address; answer the same page whoever it belongs to, then `verb`.

    The lookup and the email happen once the answer is out, so its timing can't tell
    whether the account exists.
    """
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        response = make_response(render_template(sent_template))
        run_after_response(response, verb, form.email.data)
        return response
    return render_template(form_template, form=form), 400 if form.errors else 200


@bp.route("/password/forgot", methods=["GET", "POST"])
@forgot_limits
def forgot_password():
    return email_request_page(
        request_password_reset, "auth/forgot_password.html", "auth/forgot_password_sent.html"
    )


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@token_page
def reset(token):
    return set_password_page(reset_link(token), "auth/reset_password.html", done=CHANGED)


@bp.route("/password/change", methods=["GET", "POST"])
@login_required
@post_limit("LOGIN_FAILURE_LIMIT", current_user_key, failures_only=True)
def change():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        done = _change(form)
        if done is not None:
            return done
    status = 400 if form.errors else 200
    page = render_template("auth/change_password.html", form=form, min_length=MIN_LENGTH)
    return page, status


def _change(form):
    """Change the password from the form: a response when done, else None (errors on form)."""
    try:
        change_password(current_user, form.current.data, form.password.data, form.confirm.data)
    except WrongPasswordError as exc:
        if wrong_current_password():
            return _end_after_failures()
        form.current.errors.append(str(exc))
        return None
    except PasswordError as exc:
        form.password.errors.append(str(exc))
        return None
    flash(CHANGED, "success")
    return redirect(url_for(home_endpoint(current_user)))


def _end_after_failures():
    """Too many wrong current passwords: whoever holds this session must log in again."""
    end_session()
    flash(
        "You entered a wrong current password too many times, so you were logged out. "
        "Log in again, or reset your password by email.",
        "error",
    )
    return redirect(url_for("auth.login"))


def run_after_response(response, work, *args):
    """Call `work(*args)` in an app context once the response has been sent."""
    app = current_app._get_current_object()

    def run():
        with app.app_context():
            try:
                work(*args)
            except Exception:
                log.exception("%s failed after the response", work.__name__)

    response.call_on_close(run)
