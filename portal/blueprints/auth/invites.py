from flask import redirect, render_template, url_for

from portal.access import home_endpoint
from portal.blueprints.auth import bp
from portal.blueprints.auth.forms import NewPasswordForm
from portal.blueprints.auth.token_pages import invalid_link, token_page
from portal.people.invitations import accept_invitation, invitation_link
from portal.people.passwords import MIN_LENGTH, PasswordError
from portal.people.sessions import start_session


@bp.route("/invite/<token>", methods=["GET", "POST"])
@token_page
def accept_invite(token):
    link = invitation_link(token)
    if link is None:
        return invalid_link()
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            user = accept_invitation(link, form.password.data, form.confirm.data)
        except PasswordError as exc:
            form.password.errors.append(str(exc))
        else:
            start_session(user)
            return redirect(url_for(home_endpoint(user)))
    status = 400 if form.errors else 200
    page = render_template(
        "auth/accept_invite.html", form=form, user=link.user, min_length=MIN_LENGTH
    )
    return page, status
