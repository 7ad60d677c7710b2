from portal.access import client_required
from portal.blueprints import both_sides, conversation, message_actions, search_pages  # noqa: F401
from portal.blueprints.client import bp
from portal.blueprints.room_lists import render_room_list
from portal.sides import PORTAL

both_sides.add_routes(bp, client_required, PORTAL)


@bp.route("/rooms")
@client_required
def rooms():
    return render_room_list("client/rooms.html")
