"""What the pages behind emailed links share: private headers, one 'invalid link' page and
the one "choose a password" page (invitation and reset)."""

from functools import wraps

from flask import flash, make_response, redirect, render_template, url_for

from portal.access import home_endpoint
from portal.blueprints.auth.forms import NewPasswordForm
from portal.people.passwords import MIN_LENGTH, PasswordError, set_password_by_link
from portal.people.sessions import start_session


def token_page(view):
    """Keep the token out of Referer headers and caches."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        response = make_response(view(*args, **kwargs))
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"
        return response

    return wrapped


def invalid_link():
    """One page for used, expired, superseded and tampered links alike."""
    return render_template("auth/invalid_link.html"), 404


def set_password_page(link, template, done=None):
    """Choose a password through an emailed `link`, then log in; `done` is flashed after."""
    if link is None:
        return invalid_link()
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            user = set_password_by_link(link, form.password.data, form.confirm.data)
        except PasswordError as exc:
            form.password.errors.append(str(exc))
        else:
            start_session(user)
            if done:
                flash(done, "success")
            return redirect(url_for(home_endpoint(user)))
    page = render_template(template, form=form, user=link.user, min_length=MIN_LENGTH)
    return page, 400 if form.errors else 200
