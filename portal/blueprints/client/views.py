from flask import render_template
from flask_login import current_user

from portal.access import client_required
from portal.blueprints import conversation, message_actions, search_pages
from portal.blueprints.client import bp
from portal.messaging.rooms import room_list
from portal.people.users import PORTAL

conversation.add_room_routes(bp, client_required, PORTAL)
message_actions.register(bp, client_required, PORTAL.layout)
search_pages.register(bp, client_required, PORTAL.layout)


@bp.route("/rooms")
@client_required
def rooms():
    return render_template("client/rooms.html", summaries=room_list(current_user))
