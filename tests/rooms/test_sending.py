"""Sending: with and without htmx, refusals that keep the draft, archive and rename."""

import re

import pytest

from tests.rooms.rooms_helpers import HX, messages_in


def test_send_without_js_redirects_back_to_the_room(client, app, room):
    client.login("staff@example.test")
    response = client.form_post(f"/app/rooms/{room}/messages", {"body": "Line one\nLine two"})
    assert response.status_code == 302
    assert re.match(rf"^/app/rooms/{room}#message-\d+$", response.headers["Location"])
    page = client.get(f"/app/rooms/{room}").get_data(as_text=True)
    assert "Line one\nLine two" in page


def test_send_with_htmx_returns_the_fragment_and_a_fresh_client_msg_id(client, app, room):
    client.login("staff@example.test")
    response = client.form_post(
        f"/app/rooms/{room}/messages",
        {"body": "via htmx", "client_msg_id": "htmx-msg-0001"},
        headers=HX,
    )
    assert response.status_code == 200
    assert "HX-Request" in response.headers["Vary"]
    html = response.get_data(as_text=True)
    assert '<li class="message"' in html and "via htmx" in html
    assert "<html" not in html
    new_id = re.search(
        r'name="client_msg_id" id="client_msg_id" value="([^"]+)" hx-swap-oob="true"', html
    )
    assert new_id and new_id.group(1) != "htmx-msg-0001"


def test_client_sends_from_the_portal(client, app, room):
    client.login("client@example.test")
    assert (
        client.form_post(f"/portal/rooms/{room}/messages", {"body": "from portal"})
        .headers["Location"]
        .startswith(f"/portal/rooms/{room}#message-")
    )
    response = client.form_post(
        f"/portal/rooms/{room}/messages", {"body": "htmx portal"}, headers=HX
    )
    assert response.status_code == 200 and "htmx portal" in response.get_data(as_text=True)
    assert messages_in(app, room)[-2:] == ["from portal", "htmx portal"]


@pytest.mark.parametrize("body", ["", "   ", "\n\n\t"])
def test_empty_messages_are_refused(client, app, room, body):
    client.login("staff@example.test")
    response = client.form_post(f"/app/rooms/{room}/messages", {"body": body})
    assert response.status_code == 422
    assert "Write a message" in response.get_data(as_text=True)
    response = client.form_post(f"/app/rooms/{room}/messages", {"body": body}, headers=HX)
    assert response.status_code == 422
    assert response.headers["HX-Retarget"] == "#composer-error"
    assert "Write a message" in response.get_data(as_text=True)
    assert messages_in(app, room) == ["Hello from the client"]


def test_too_long_message_is_refused_and_the_draft_kept(client, app, room):
    client.login("staff@example.test")
    body = "word " * 2001  # 10,005 characters
    response = client.form_post(f"/app/rooms/{room}/messages", {"body": body.strip() + "!"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "the limit is 10,000" in page
    assert "word word word" in page  # kept in the textarea
    assert len(messages_in(app, room)) == 1
    assert (
        client.form_post(f"/app/rooms/{room}/messages", {"body": "x" * 10_000}).status_code == 302
    )


def test_double_submit_creates_one_message(client, app, room):
    client.login("staff@example.test")
    data = {"body": "only once", "client_msg_id": "double-submit-42"}
    first = client.form_post(f"/app/rooms/{room}/messages", data)
    second = client.form_post(f"/app/rooms/{room}/messages", data)
    assert first.headers["Location"] == second.headers["Location"]
    assert messages_in(app, room).count("only once") == 1


def test_a_resent_htmx_form_answers_the_first_message(client, app, room):
    """The repeat is caught by the unique index (its transaction rolled back): the answer
    is the first message's fragment, and the room holds it once."""
    client.login("staff@example.test")
    data = {"body": "sent on a flaky line", "client_msg_id": "flaky-line-0007"}
    first = client.form_post(f"/app/rooms/{room}/messages", data, headers=HX)
    again = client.form_post(f"/app/rooms/{room}/messages", data, headers=HX)
    assert first.status_code == again.status_code == 200
    ids = [
        re.search(r'id="message-(\d+)"', r.get_data(as_text=True)).group(1) for r in (first, again)
    ]
    assert ids[0] == ids[1]
    assert messages_in(app, room).count("sent on a flaky line") == 1


def test_archived_room_is_read_only_and_listed_apart(client, app, room):
    client.login("staff@example.test")
    assert client.form_post(f"/app/rooms/{room}/archive").status_code == 302
    page = client.get(f"/app/rooms/{room}").get_data(as_text=True)
    assert "archived" in page and 'id="composer"' not in page
    assert client.form_post(f"/app/rooms/{room}/messages", {"body": "late"}).status_code == 403
    assert client.form_post(f"/app/rooms/{room}/rename", {"title": "New"}).status_code == 403
    assert (
        client.form_post(f"/app/rooms/{room}/participants", {"participant_ids": []}).status_code
        == 403
    )
    listing = client.get("/app/rooms").get_data(as_text=True)
    assert listing.index("Archived") < listing.index("Website redesign")
    client.logout()
    client.login("client@example.test")
    assert client.form_post(f"/portal/rooms/{room}/messages", {"body": "late"}).status_code == 403
    client.logout()
    client.login("staff@example.test")
    client.form_post(f"/app/rooms/{room}/unarchive")
    assert client.form_post(f"/app/rooms/{room}/messages", {"body": "back"}).status_code == 302


def test_rename(client, app, room):
    client.login("staff@example.test")
    assert (
        client.form_post(f"/app/rooms/{room}/rename", {"title": "Redesign v2"}).status_code == 302
    )
    assert "Redesign v2" in client.get(f"/app/rooms/{room}").get_data(as_text=True)
    response = client.form_post(f"/app/rooms/{room}/rename", {"title": ""}, follow_redirects=True)
    assert "Give the conversation a title." in response.get_data(as_text=True)
