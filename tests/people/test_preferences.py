"""Notification settings page and the no-login unsubscribe link."""

import pytest

from portal.extensions import db
from portal.models import Participant, User
from portal.notify.preferences import unsubscribe_token
from tests.notify_helpers import room_with

URL = "/preferences/notifications"


@pytest.fixture
def rooms(app, people):
    """Two rooms with staff and client, one with only staff_all."""
    with app.app_context():
        shared = room_with(people["staff"], people["client"], title="Shared room").id
        second = room_with(people["staff"], people["client"], title="Second room").id
        private = room_with(people["staff_all"], title="Staff only").id
    return {"shared": shared, "second": second, "private": private}


def muted(app, user_id):
    with app.app_context():
        rows = db.session.execute(
            db.select(Participant.room_id).where(
                Participant.user_id == user_id, Participant.muted.is_(True)
            )
        )
        return {room_id for (room_id,) in rows}


def email_on(app, user_id):
    with app.app_context():
        return db.session.get(User, user_id).email_notifications


def test_the_page_requires_login(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
    assert client.post(URL, data={}).status_code in (302, 400)


@pytest.mark.parametrize("person", ["staff", "client"])
def test_the_page_lists_only_rooms_the_user_is_in_and_is_linked(client, people, rooms, person):
    client.login(f"{person}@example.test")
    page = client.get(URL).get_data(as_text=True)

    assert 'href="/preferences/notifications"' in page
    assert '<label for="mute-' in page and "Email me about unread messages" in page
    assert "Shared room" in page and "Second room" in page
    assert "Staff only" not in page
    nav = client.get("/app/rooms" if person == "staff" else "/portal/rooms").get_data(as_text=True)
    assert 'href="/preferences/notifications"' in nav


def test_saving_changes_only_the_current_users_settings(app, client, people, rooms):
    client.login("client@example.test")
    response = client.form_post(URL, {"muted_room_ids": [str(rooms["shared"])]})
    assert response.status_code == 302

    assert email_on(app, people["client"].id) is False  # unchecked box: off
    assert muted(app, people["client"].id) == {rooms["shared"]}
    assert muted(app, people["staff"].id) == set()
    assert email_on(app, people["staff"].id) is True
    page = client.get(URL).get_data(as_text=True)
    assert "Notification settings saved." in page

    client.form_post(URL, {"email_notifications": "y"})
    assert email_on(app, people["client"].id) is True
    assert muted(app, people["client"].id) == set()


def test_muting_a_room_you_are_not_in_is_impossible(app, client, people, rooms):
    client.login("client@example.test")
    client.form_post(URL, {"email_notifications": "y", "muted_room_ids": [str(rooms["private"])]})

    assert muted(app, people["client"].id) == set()
    assert muted(app, people["staff_all"].id) == set()
    with app.app_context():
        assert (
            db.session.scalar(
                db.select(Participant).where(
                    Participant.user_id == people["client"].id,
                    Participant.room_id == rooms["private"],
                )
            )
            is None
        )


def test_a_post_without_csrf_token_is_refused(app, client, people):
    client.login("staff@example.test")
    assert client.post(URL, data={}).status_code == 400
    assert email_on(app, people["staff"].id) is True


def token_for(app, person):
    with app.app_context():
        return unsubscribe_token(db.session.get(User, person.id))


def test_unsubscribe_works_without_login_after_a_confirm_page(app, client, people):
    token = token_for(app, people["client"])

    page = client.get(f"/unsubscribe/{token}")
    assert page.status_code == 200
    assert "client@example.test" in page.get_data(as_text=True)
    assert email_on(app, people["client"].id) is True  # GET changes nothing

    done = client.post(f"/unsubscribe/{token}")
    assert done.status_code == 200
    assert "Email notifications are off" in done.get_data(as_text=True)
    assert email_on(app, people["client"].id) is False
    assert email_on(app, people["staff"].id) is True


def test_one_click_unsubscribe_from_a_mail_client(app, client, people):
    token = token_for(app, people["staff"])
    response = client.post(
        f"/unsubscribe/{token}",
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert email_on(app, people["staff"].id) is False


def test_a_tampered_token_is_refused_with_a_clear_page(app, client, people):
    token = token_for(app, people["client"])
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")

    for method in (client.get, client.post):
        response = method(f"/unsubscribe/{forged}")
        assert response.status_code == 400
        assert "not valid" in response.get_data(as_text=True)
    assert email_on(app, people["client"].id) is True


def test_an_expired_token_is_refused_with_a_clear_page(app, client, people, monkeypatch):
    token = token_for(app, people["client"])
    monkeypatch.setitem(app.config, "UNSUBSCRIBE_MAX_AGE_SECONDS", -1)

    response = client.post(f"/unsubscribe/{token}")
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)
    assert email_on(app, people["client"].id) is True


def test_the_email_carries_a_working_unsubscribe_link(app, client, people, outbox):
    from portal.notify.client_emails import notify_client
    from tests.notify_helpers import after_delay, post

    with app.app_context():
        room = room_with(people["staff"], people["client"])
        post(room, people["staff"], "Hello")
        notify_client(people["client"].id, now=after_delay())
    [email] = outbox.messages()
    header = email["List-Unsubscribe"]
    assert header.startswith("<http://portal.test/unsubscribe/") and header.endswith(">")
    assert email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    path = header[1:-1].removeprefix("http://portal.test")
    assert client.post(path).status_code == 200
    assert email_on(app, people["client"].id) is False
