from portal.access import client_required
from portal.blueprints import conversation, message_actions, search_pages
from portal.blueprints.client import bp
from portal.blueprints.room_lists import render_room_list
from portal.sides import PORTAL

conversation.add_room_routes(bp, client_required, PORTAL)
message_actions.register(bp, client_required, PORTAL.layout)
search_pages.register(bp, client_required, PORTAL.layout)


@bp.route("/rooms")
@client_required
def rooms():
    return render_room_list("client/rooms.html")
