from portal.blueprints.auth import bp
from portal.blueprints.auth.token_pages import set_password_page, token_page
from portal.people.invitations import invitation_link


@bp.route("/invite/<token>", methods=["GET", "POST"])
@token_page
def accept_invite(token):
    return set_password_page(invitation_link(token), "auth/accept_invite.html")
