from flask import render_template
from flask_login import current_user

from portal.access import client_required, load_room
from portal.blueprints import conversation
from portal.blueprints.client import bp
from portal.messaging.rooms import room_list
from portal.people.users import PORTAL

LAYOUT = PORTAL.layout


@bp.route("/rooms")
@client_required
def rooms():
    return render_template("client/rooms.html", summaries=room_list(current_user))


@bp.route("/rooms/<int:room_id>")
@client_required
def room(room_id):
    return conversation.room_page(load_room(room_id), LAYOUT)


@bp.route("/rooms/<int:room_id>/messages")
@client_required
def messages(room_id):
    return conversation.message_fragments(load_room(room_id))


@bp.route("/rooms/<int:room_id>/messages", methods=["POST"])
@client_required
def send(room_id):
    return conversation.send_message(load_room(room_id), LAYOUT, "client.room")


@bp.route("/rooms/<int:room_id>/read", methods=["POST"])
@client_required
def read(room_id):
    return conversation.read_up_to(load_room(room_id))
