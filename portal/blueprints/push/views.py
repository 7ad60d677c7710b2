"""Web Push subscriptions, what a notification says, the service worker and the manifest."""

from flask import (
    current_app,
    flash,
    jsonify,
    redirect,
    request,
    send_from_directory,
    session,
    url_for,
)
from flask_login import current_user, login_required

from portal.blueprints.push import bp
from portal.extensions import db
from portal.models import Message
from portal.notify.push import application_server_key, notification_for
from portal.notify.push_subscriptions import (
    SubscriptionError,
    device_name,
    subscribe,
    unsubscribe,
)
from portal.web.icons import ICON_SIZES, app_icon
from portal.web.templating import brand


@bp.get("/push/key")
@login_required
def key():
    """The VAPID public key a browser subscribes with (`applicationServerKey`)."""
    return jsonify(key=application_server_key())


@bp.post("/push/subscriptions")
@login_required
def add_subscription():
    """`PushSubscription.toJSON()` as JSON (CSRF in the X-CSRFToken header)."""
    try:
        data = request.get_json(silent=True)
        device = device_name(request.user_agent.string)
        subscription = subscribe(current_user, data, device, session.get("sid"))
    except SubscriptionError as error:
        return jsonify(error=str(error)), 400
    return jsonify(id=subscription.id, device=subscription.device), 201


@bp.post("/push/subscriptions/delete")
@login_required
def delete_subscription():
    """JSON `endpoint` (the browser unsubscribing), or the preferences page's form."""
    data = request.get_json(silent=True)
    if isinstance(data, dict):
        endpoint = data.get("endpoint")
        removed = isinstance(endpoint, str) and unsubscribe(current_user, endpoint=endpoint)
        return jsonify(removed=bool(removed)), 200 if removed else 404
    subscription_id = request.form.get("subscription_id", type=int)
    if unsubscribe(current_user, subscription_id=subscription_id):
        flash("Device removed: it gets no more push notifications.", "success")
    else:
        flash("That device was already removed.", "error")
    return redirect(url_for("preferences.notifications"))


@bp.get("/push/notifications/<int:message_id>")
@login_required
def notification(message_id):
    """What a browser notification about the message says to me; 204 when nothing."""
    content = notification_for(current_user, db.session.get(Message, message_id))
    if content is None:
        return "", 204
    response = jsonify(content)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/sw.js")
def service_worker():
    """The service worker, served at the root so its scope is the whole portal."""
    folder = current_app.static_folder + "/js"
    response = send_from_directory(folder, "sw.js", max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    response.content_type = "text/javascript; charset=utf-8"
    return response


@bp.get("/manifest.webmanifest")
def manifest():
    """The web app manifest: the portal installs to a phone's home screen."""
    response = jsonify(_manifest(brand()))
    response.content_type = "application/manifest+json"
    return response


def _manifest(names):
    """The manifest's fields: the firm's name and colour, the icons at every size."""
    icons = [
        {"src": url_for(".icon", size=size), "sizes": f"{size}x{size}", "type": "image/png"}
        for size in ICON_SIZES
    ]
    svg = url_for("static", filename="favicon.svg")
    icons.append({"src": svg, "sizes": "any", "type": "image/svg+xml"})
    return {
        "name": names["portal_name"],
        "short_name": names["portal_name"][:12],
        "start_url": url_for("auth.index"),
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": names["portal_accent"],
        "icons": icons,
    }


@bp.get("/icon-<int:size>.png")
def icon(size):
    """The home-screen icon: the firm's initial on its accent colour."""
    if size not in ICON_SIZES:
        return "", 404
    names = brand()
    response = current_app.response_class(
        app_icon(names["portal_name"], names["portal_accent"], size), mimetype="image/png"
    )
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response
