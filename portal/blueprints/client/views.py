from flask import render_template

from portal.access import client_required
from portal.blueprints.client import bp


@bp.route("/rooms")
@client_required
def rooms():
    return render_template("client/rooms.html")
