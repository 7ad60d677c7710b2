"""Edit and delete a message, in the workspace and the client portal alike.

The room and the message load through `portal.access` (404 when invisible), guards give
403. Also the catch-up of edits, deletions and read positions for a page that missed live
events.
"""

from flask import jsonify, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import Length

from portal.access import ensure_can_delete, ensure_can_edit, load_message
from portal.blueprints.both_sides import room_route
from portal.blueprints.conversation import is_htmx, vary
from portal.messaging.changes import catch_up, delete_message, edit_message
from portal.messaging.messages import BODY_MAX, MessageError
from portal.web.inputs import parse_id


class EditMessageForm(FlaskForm):
    body = TextAreaField("Message", validators=[Length(max=BODY_MAX + 1000)])


MESSAGE = "/rooms/<int:room_id>/messages/<int:message_id>"


@room_route(f"{MESSAGE}/edit", methods=("GET", "POST"), endpoint="edit_message")
def edit_message_page(room, side, message_id):
    message = load_message(room, message_id)
    ensure_can_edit(message, room)
    if request.method == "POST":
        return _save_edit(room, message, side.layout)
    if is_htmx() and request.args.get("cancel"):
        return vary(make_response(render_template("rooms/_message.html", message=message)))
    return _edit_page(room, message, side.layout, message.body)


@room_route(f"{MESSAGE}/delete", methods=("GET", "POST"), endpoint="delete_message")
def delete_message_page(room, side, message_id):
    message = load_message(room, message_id)
    ensure_can_delete(message, room)
    if request.method == "GET":
        return render_template(
            "rooms/delete_message.html", layout=side.layout, room=room, message=message
        )
    if not FlaskForm().validate_on_submit():
        return _expired(room, message, side.layout)
    delete_message(message, current_user)
    return _done(room, message)


@room_route("/rooms/<int:room_id>/changes")
def changes(room, _side):
    """`?since=<cursor>&from=<id>&through=<id>`: what a reconnecting page missed."""
    since, first, through = (_arg(name) for name in ("since", "from", "through"))
    return jsonify(catch_up(room, current_user, since, first, through))


def _arg(name):
    return parse_id(request.args.get(name)) or 0


def _save_edit(room, message, layout):
    form = EditMessageForm()
    if not form.validate_on_submit():
        return _edit_page(room, message, layout, form.body.data, _form_error(form), 422)
    try:
        edit_message(message, current_user, form.body.data)
    except MessageError as exc:
        return _edit_page(room, message, layout, form.body.data, str(exc), 422)
    return _done(room, message)


def _edit_page(room, message, layout, body, error=None, status=200):
    """The edit form: in place of the message for htmx, a page of its own without JS."""
    template = "rooms/_editing.html" if is_htmx() else "rooms/edit_message.html"
    page = render_template(
        template, layout=layout, room=room, message=message, body=body, error=error
    )
    return vary(make_response(page, status))


def _done(room, message):
    if is_htmx():
        return vary(make_response(render_template("rooms/_message.html", message=message)))
    target = url_for(
        f"{request.blueprint}.room",
        room_id=room.id,
        around=message.id,
        _anchor=f"message-{message.id}",
    )
    return vary(redirect(target))


def _expired(room, message, layout):
    error = "This form had expired. Please try again."
    page = render_template(
        "rooms/delete_message.html", layout=layout, room=room, message=message, error=error
    )
    return vary(make_response(page, 400))


def _form_error(form):
    errors = " ".join(e for errs in form.errors.values() for e in errs)
    return errors or "This form had expired. Please save it again."
