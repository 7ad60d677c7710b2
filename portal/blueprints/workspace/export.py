"""A conversation's export: internal users who may see the room download it as a ZIP."""

from flask_login import current_user

from portal.access import internal_required, load_room
from portal.blueprints.workspace import bp
from portal.messaging.transcripts import export_name, export_room
from portal.models.base import utcnow
from portal.web.downloads import streamed_download


@bp.route("/rooms/<int:room_id>/export")
@internal_required
def export(room_id):
    room = load_room(room_id)
    now = utcnow()
    name = export_name(room, now)
    return streamed_download(export_room(room, current_user, now), name, "application/zip")
