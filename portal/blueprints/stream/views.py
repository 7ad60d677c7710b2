"""GET /stream: the logged-in user's server-sent events."""

from flask import abort, current_app, request, session
from flask_login import current_user

from portal.blueprints.stream import bp
from portal.blueprints.stream.events import event_stream
from portal.extensions import db, limiter
from portal.live.catch_up import last_event_id, replay
from portal.live.publish import get_live
from portal.models import User
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
    last_id, replayed = _catch_up(subscription.user_id)
    sock = _client_socket()
    events = event_stream(app, hub, subscription, token, sock, last_id, replayed)
    response = current_app.response_class(events, mimetype="text/event-stream")
    response.call_on_close(lambda: hub.close(subscription))  # even if never iterated
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"
    return response


def _catch_up(user_id):
    """(first event id, events to replay): after the id a reconnecting EventSource sent
    back, the messages it missed; else (None, ()): the page catches up itself. The
    subscription is already open, so nothing falls between the two (a message in both is
    added once by the page)."""
    after = last_event_id(request.headers.get("Last-Event-ID"))
    if after is None:
        return None, ()
    return after, replay(db.session.get(User, user_id), after)


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
