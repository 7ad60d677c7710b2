from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from portal.blueprints.preferences import bp
from portal.blueprints.preferences.forms import NotificationSettingsForm
from portal.extensions import csrf
from portal.notify.preferences import (
    AS_THEY_COME,
    UnsubscribeError,
    room_mutes,
    turn_off_email,
    update_notification_settings,
    user_for_unsubscribe_token,
)
from portal.notify.push_subscriptions import subscriptions_of
from portal.sides import side_of


@bp.route("/preferences/notifications", methods=["GET", "POST"])
@login_required
def notifications():
    form = NotificationSettingsForm()
    if form.validate_on_submit():
        save_notification_form(current_user, form)
        flash("Notification settings saved.", "success")
        return redirect(url_for(".notifications"))
    if request.method == "GET":
        _fill(form, current_user)
    return _page(form, current_user), 400 if form.errors else 200


def _fill(form, user):
    """The form as the user last saved it."""
    form.email_notifications.data = user.email_notifications
    form.time_zone.data = user.time_zone or "UTC"
    form.frequency.data = user.recap or AS_THEY_COME


def _page(form, user):
    return render_template(
        "preferences/notifications.html",
        form=form,
        rooms=room_mutes(user),
        devices=subscriptions_of(user.id),
        layout=side_of(user).layout,
    )


def save_notification_form(user, form):
    """The form's choices; a field left out of the post (an older page) keeps its value."""
    sent = request.form
    update_notification_settings(
        user,
        form.email_notifications.data,
        form.muted_room_ids.data,
        form.time_zone.data or None,
        frequency=form.frequency.data if "frequency" in sent else None,
        # The page sends this marker with the "mentions only" boxes: all unticked is a choice.
        mentions_only=form.mentions_only_room_ids.data if "mentions_only_shown" in sent else None,
    )


# The token is the credential (and RFC 8058 one-click POSTs come from mail providers
# without a CSRF token), so this view is exempt from CSRF.
@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt
def unsubscribe(token):
    try:
        user = user_for_unsubscribe_token(token)
    except UnsubscribeError as error:
        page = render_template("errors.html", title="Link not valid", message=str(error))
        return page, 400
    if request.method == "POST":
        turn_off_email(user)
        return render_template("preferences/unsubscribed.html", user=user)
    return render_template("preferences/unsubscribe.html", user=user, token=token)
