from flask import render_template

from portal.access import internal_required
from portal.blueprints.workspace import bp


@bp.route("/rooms")
@internal_required
def rooms():
    return render_template("workspace/rooms.html")
