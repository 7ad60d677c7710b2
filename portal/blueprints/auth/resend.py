from flask import current_app, make_response, render_template
from flask_limiter.util import get_remote_address

from portal.blueprints.auth import bp
from portal.blueprints.auth.forms import ForgotPasswordForm
from portal.blueprints.auth.passwords import run_after_response
from portal.extensions import limiter
from portal.people.invitations import resend_on_request
from portal.people.throttling import ip_and_email


@bp.route("/invitation/resend", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["PASSWORD_FORGOT_LIMIT"], key_func=ip_and_email, methods=["POST"]
)
@limiter.limit(
    lambda: current_app.config["PASSWORD_FORGOT_IP_LIMIT"],
    key_func=get_remote_address,
    methods=["POST"],
)
def resend_invitation():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        # The same page, sent before any lookup, whoever the address belongs to.
        response = make_response(render_template("auth/invitation_resent.html"))
        run_after_response(response, resend_on_request, form.email.data)
        return response
    status = 400 if form.errors else 200
    return render_template("auth/invitation_resend.html", form=form), status
