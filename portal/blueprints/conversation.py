"""The room page, message fragments and sending: shared by the workspace and the portal.

Both blueprints register thin views that load the room through `portal.access` and
call these.
"""

from flask import make_response, redirect, render_template, request, url_for
from flask_login import current_user

from portal.access import ensure_can_post
from portal.blueprints.forms import MessageForm, new_client_msg_id
from portal.messaging.messages import MessageError, has_older, messages_page
from portal.messaging.reading import mark_read
from portal.messaging.rooms import participant_ids
from portal.messaging.uploads import post_with_files
from portal.people.users import users_by_ids


def is_htmx():
    return request.headers.get("HX-Request") == "true"


def vary(response):
    response.vary.add("HX-Request")
    return response


def _int_arg(name):
    value = request.args.get(name, "")
    return int(value) if value.isdigit() else None


def room_page(room, layout, form=None, status=200):
    """The room: newest messages (or the page before `?before=`), participants, composer."""
    before = _int_arg("before")
    messages = messages_page(room, before=before)
    if before is None and messages:
        mark_read(current_user, room, messages[-1].id)
    participants = users_by_ids(participant_ids(room))
    form = form or MessageForm()
    body = render_template(
        "rooms/room.html",
        layout=layout,
        room=room,
        messages=messages,
        older=messages and has_older(room, messages[0].id),
        participants=participants,
        form=form,
        can_post=not room.is_archived,
    )
    return vary(make_response(body, status))


def message_fragments(room):
    """`?after=<id>` (catch-up) or `?before=<id>` (load older) as message fragments."""
    after, before = _int_arg("after"), _int_arg("before")
    if after is not None:
        messages = messages_page(room, after=after)
        return render_template("rooms/_messages.html", messages=messages, room=room)
    messages = messages_page(room, before=before)
    return render_template(
        "rooms/_older.html",
        messages=messages,
        room=room,
        older=messages and has_older(room, messages[0].id),
    )


def send_message(room, layout, room_endpoint):
    """POST a message: a fragment for htmx, a redirect without JS; errors keep the draft."""
    ensure_can_post(room)
    form = MessageForm()
    error = None
    if form.validate_on_submit():
        try:
            message = post_with_files(
                room,
                current_user,
                form.body.data,
                request.files.getlist("files"),
                client_msg_id=form.client_msg_id.data,
            )
        except MessageError as exc:
            error = str(exc)
    else:
        error = " ".join(e for errors in form.errors.values() for e in errors) or (
            "This form had expired. Please send it again."
        )
    if error:
        form.body.errors = [error]
        if is_htmx():
            response = make_response(
                render_template("rooms/_composer_error.html", error=error), 422
            )
            response.headers["HX-Retarget"] = "#composer-error"
            response.headers["HX-Reswap"] = "innerHTML"
            return vary(response)
        return room_page(room, layout, form=form, status=422)
    if is_htmx():
        response = make_response(
            render_template("rooms/_sent.html", message=message, client_msg_id=new_client_msg_id())
        )
        return vary(response)
    return vary(redirect(url_for(room_endpoint, room_id=room.id, _anchor=f"message-{message.id}")))


def read_up_to(room):
    """POST …/read with `through`: the page saw messages up to that id while visible."""
    through = request.form.get("through", "")
    mark_read(current_user, room, int(through) if through.isdigit() else None)
    return "", 204
