"""`POST /inbound/email`: a reply delivered over HTTP by a mail provider (raw RFC 822 body)."""

import hmac

from flask import abort, current_app, jsonify, request

from portal.blueprints.inbound import bp
from portal.extensions import csrf, limiter
from portal.notify import inbound


@bp.post("/inbound/email")
@csrf.exempt  # a mail provider, not a browser: the shared secret is the credential
@limiter.exempt
def inbound_email():
    """Post the reply in the request body; 200 unless every reply address refused it (422)."""
    ensure_inbound_secret()
    if (request.content_length or 0) > current_app.config["INBOUND_MAX_BYTES"]:
        abort(413)
    outcomes = inbound.receive(request.get_data(cache=False))
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
