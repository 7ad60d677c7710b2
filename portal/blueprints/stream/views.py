"""GET /stream: the logged-in user's server-sent events."""

from flask import abort, current_app, request, session
from flask_login import current_user

from portal.blueprints.stream import bp
from portal.blueprints.stream.events import event_stream
from portal.extensions import limiter
from portal.live.publish import get_live


@bp.route("/stream")
@limiter.exempt
def stream():
    """The channel is the logged-in user's: no query parameter can choose another."""
    if not current_user.is_authenticated:
        abort(401)
    events = event_stream(
        current_app._get_current_object(),
        get_live().hub,
        user_id=current_user.id,
        session_token=session.get("sid"),
        sock=_client_socket(),
    )
    response = current_app.response_class(events, mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"
    return response


def _client_socket():
    return request.environ.get("gunicorn.socket") or request.environ.get("werkzeug.socket")
