"""Re-send a pending invitation from the login page, without revealing who is invited."""

from portal.blueprints.auth import bp
from portal.blueprints.auth.passwords import email_request_page, forgot_limits
from portal.people.invitations import resend_on_request


@bp.route("/invitation/resend", methods=["GET", "POST"])
@forgot_limits
def resend_invitation():
    return email_request_page(
        resend_on_request, "auth/invitation_resend.html", "auth/invitation_resent.html"
    )
