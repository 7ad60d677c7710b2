"""A room's page, its message fragments, sending and reading: the same on both sides."""

from flask import make_response, redirect, render_template, request, url_for
from flask_login import current_user

from portal.access import ensure_can_post
from portal.blueprints.both_sides import room_route
from portal.blueprints.forms import MessageForm, new_client_msg_id
from portal.blueprints.room_view import RoomPage
from portal.messaging.fragments import message_list
from portal.messaging.messages import MessageError, clean_body, message_rows, post_message
from portal.messaging.reading import mark_read
from portal.models.base import utcnow
from portal.people.time_zones import zone_for
from portal.web.etags import not_modified, page_etag, validated
from portal.web.inputs import parse_id


def is_htmx():
    return request.headers.get("HX-Request") == "true"


def vary(response):
    response.vary.add("HX-Request")
    return response


def _int_arg(name):
    return parse_id(request.args.get(name))


@room_route("/rooms/<int:room_id>")
def room(room, side):
    """The room: newest messages (or the page before `?before=`), participants, composer."""
    return room_page(room, side)


@room_route("/rooms/<int:room_id>/messages")
def messages(room, side):
    """`?after=<id>` (catch-up) or `?before=<id>` (load older) as message fragments."""
    if request.accept_mimetypes.accept_html and not is_htmx():  # a refreshed fragment URL
        return vary(redirect(url_for(f"{side.blueprint}.room", room_id=room.id, **request.args)))
    after, before = _int_arg("after"), _int_arg("before")
    rows, more = message_rows(room.id, before=before, after=after)
    older = after is None and bool(rows) and more
    etag = page_etag(_fragment_version(rows), older)
    if (unchanged := not_modified(etag)) is not None:
        return vary(unchanged)
    if after is not None:
        return vary(validated(make_response(message_list(rows)), etag))
    body = render_template("rooms/_older.html", messages=rows, room=room, older=older)
    return vary(validated(make_response(body), etag))


@room_route("/rooms/<int:room_id>/messages", methods=["POST"])
def send(room, side):
    """POST a message: a fragment for htmx, a redirect without JS; errors keep the draft."""
    user = current_user._get_current_object()  # once: each use of the proxy costs a lookup
    ensure_can_post(room, user)
    form = MessageForm()
    try:
        message = _post(room, form, user)
    except MessageError as exc:
        return _refused(room, side, form, exc)
    if is_htmx():
        return vary(make_response(_sent_fragment(message)))
    anchor = f"message-{message.id}"
    return vary(redirect(url_for(f"{side.blueprint}.room", room_id=room.id, _anchor=anchor)))


def _sent_fragment(message):
    """The sent message for the sender's page, with a fresh id for the composer's next one."""
    return render_template("rooms/_sent.html", message=message, client_msg_id=new_client_msg_id())


@room_route("/rooms/<int:room_id>/read", methods=["POST"])
def read(room, side):
    """POST …/read with `through`: the page saw messages up to that id while visible."""
    mark_read(current_user, room, parse_id(request.form.get("through")))
    return "", 204


def room_page(room, side, form=None, status=200):
    """The room page, marking what it shows read (unless it pages back); an unchanged
    page answers a conditional GET with 304. A refused send (`form`) is never cached and
    marks nothing read."""
    page = RoomPage(room, current_user._get_current_object(), mark=form is None)
    etag = None if form is not None else page_etag(*page.etag_parts())
    if etag is not None and (unchanged := not_modified(etag)) is not None:
        return vary(unchanged)
    body = render_template("rooms/room.html", **page.context(side, form or MessageForm()))
    response = make_response(body, status)
    return vary(validated(response, etag) if etag is not None else response)


def _fragment_version(rows):
    """What message fragments show besides their rows: the reader's zone and today."""
    zone = zone_for(current_user)
    return str(zone), utcnow().astimezone(zone).date(), [tuple(row) for row in rows]


def _post(room, form, user):
    """Post the submitted form through the message verb; MessageError says what was wrong."""
    if not form.validate_on_submit():
        errors = " ".join(e for field_errors in form.errors.values() for e in field_errors)
        raise MessageError(errors or "This form had expired. Please send it again.")
    files, body = request.files.getlist("files"), form.body.data
    message = post_message(room, user, body, client_msg_id=form.client_msg_id.data, files=files)
    if form.client_msg_id.data and message.body != clean_body(body or ""):
        # One revalidated (304) room page shown in two tabs gives both composers the same
        # id: other text under a used id is a new message, not a double submit.
        for upload in files:
            upload.stream.seek(0)
        message = post_message(room, user, body, files=files)
    return message


def _refused(room, side, form, refusal):
    """A refused message: the error in the composer (htmx) or the room page, draft kept;
    Retry-After when waiting is the remedy (the composer sends it again by itself)."""
    error, status = str(refusal), refusal.status
    form.body.errors = [error]
    if not is_htmx():
        response = room_page(room, side, form=form, status=status)
    else:
        page = render_template("rooms/_composer_error.html", error=error)
        response = vary(make_response(page, status))
        response.headers["HX-Retarget"] = "#composer-error"
        response.headers["HX-Reswap"] = "innerHTML"
    if refusal.retry_after is not None:
        response.headers["Retry-After"] = str(refusal.retry_after)
    return response
