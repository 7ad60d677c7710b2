"""GET /stream: the logged-in user's server-sent events."""

from flask import abort, current_app, request, session
from flask_login import current_user

from portal.blueprints.stream import bp
from portal.blueprints.stream.events import event_stream
from portal.extensions import limiter
from portal.live.publish import get_live
from portal.people import sessions


@bp.route("/stream")
@limiter.exempt
def stream():
    """The channel is the logged-in user's: no query parameter can choose another."""
    hub, token = get_live().hub, session.get("sid")
    # Registered before the login check (its one query): a revocation committed after
    # that check is an event this subscription hears.
    subscription = hub.open(_claimed_user_id(), sessions.session_key(token))
    if not _signed_in(subscription.user_id, token):
        hub.close(subscription)
        abort(401)
    hub.trim(subscription.user_id, current_app.config["SSE_MAX_STREAMS_PER_USER"])
    return _event_response(hub, subscription, token)


def _event_response(hub, subscription, token):
    app = current_app._get_current_object()
    events = event_stream(app, hub, subscription, token, _client_socket())
    response = current_app.response_class(events, mimetype="text/event-stream")
    response.call_on_close(lambda: hub.close(subscription))  # even if never iterated
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"
    return response


def _signed_in(user_id, token):
    """The login check of every page (one Core query); through Flask-Login, as a page
    does, only when the session's activity is due a touch."""
    verdict = sessions.stream_verdict(user_id, token)
    if verdict == sessions.TOUCH:
        return current_user.is_authenticated and current_user.id == user_id
    return verdict == sessions.ALLOWED


def _claimed_user_id():
    claimed = str(session.get("_user_id", ""))
    return int(claimed) if claimed.isascii() and claimed.isdigit() else None


def _client_socket():
    return request.environ.get("gunicorn.socket") or request.environ.get("werkzeug.socket")
