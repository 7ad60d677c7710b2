"""`POST /inbound/email`: a reply delivered over HTTP by a mail provider (raw RFC 822 body);
`/reply/held/<token>`: the "Post my reply" page of a reply held for its sender to confirm."""

import hmac

from flask import abort, current_app, jsonify, make_response, render_template, request

from portal.blueprints.inbound import bp
from portal.extensions import csrf, db, limiter
from portal.messaging.rendering import excerpt
from portal.models import Room, User
from portal.notify import inbound
from portal.notify.held_replies import held_for_token
from portal.notify.reply_text import reply_text
from portal.sides import side_of


@bp.post("/inbound/email")
@csrf.exempt  # a mail provider, not a browser: the shared secret is the credential
@limiter.exempt
def inbound_email():
    """Post the reply in the request body; 200 unless every reply address refused it (422)."""
    ensure_inbound_secret()
    if (request.content_length or 0) > current_app.config["INBOUND_MAX_BYTES"]:
        abort(413)
    # The shared secret identifies the provider: its Authentication-Results are believed
    # when it is the INBOUND_TRUSTED_MTA.
    outcomes = inbound.receive(request.get_data(cache=False), from_trusted_mta=True)
    refused = all(o.status == inbound.REFUSED for o in outcomes)
    results = [{"status": o.status, "reason": o.reason} for o in outcomes]
    return jsonify(results=results), (422 if refused else 200)


def ensure_inbound_secret():
    """404 while `INBOUND_EMAIL_SECRET` is unset; 403 unless the request carries it."""
    secret = current_app.config["INBOUND_EMAIL_SECRET"]
    if not secret:
        abort(404)
    auth = request.authorization
    given = (auth.token or auth.password) if auth else ""
    if not hmac.compare_digest((given or "").encode(), secret.encode()):
        abort(403)


@bp.route("/reply/held/<token>", methods=["GET", "POST"])
def held_reply(token):
    """GET shows the held reply and a "Post my reply" button; only the POST posts it."""
    held = held_for_token(token)
    if held is None:
        return _private(render_template("inbound/held_invalid.html"), 404)
    room = db.session.get(Room, held.room_id)
    if held.posted_at is not None:
        return _posted(held, room, already=True)
    if request.method == "GET":
        text = excerpt(reply_text(inbound.parse(held.raw)), 600)
        page = render_template("inbound/held_reply.html", held=held, room=room, text=text)
        return _private(page, 200)
    return _post_held(held, room)


def _post_held(held, room):
    """The "Post my reply" button: post it, or say why it can no longer be posted."""
    try:
        outcome = inbound.post_held(held)
    except inbound.Refused as exc:
        db.session.rollback()
        page = render_template("inbound/held_refused.html", room=room, reason=str(exc))
        return _private(page, 409)
    return _posted(held, room, already=outcome.status != inbound.POSTED)


def _posted(held, room, already):
    """The page after posting (or finding it posted before): a link to the room."""
    room_url = f"{side_of(db.session.get(User, held.user_id)).prefix}/rooms/{room.id}"
    page = render_template(
        "inbound/held_posted.html", already=already, room=room, room_url=room_url
    )
    return _private(page, 200)


def _private(page, status):
    """Keep the token out of Referer headers and caches."""
    response = make_response(page, status)
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response
