"""The Notifications page: internal users choose how often and which rooms only by mention,
with a plain form (JavaScript plays no part); clients see neither choice."""

import re

import pytest

from portal.extensions import db
from portal.models import Participant, User
from portal.notify.preferences import update_notification_settings
from tests.notify_helpers import room_with


@pytest.fixture
def page(app, people):
    with app.app_context():
        room = room_with(people["staff"], people["client"], title="Page room")
        room_id = room.id
    staff, client = app.test_client(), app.test_client()
    staff.login("staff@example.test")
    client.login("client@example.test")
    return room_id, staff, client


def saved(app, email, room_id):
    """(recap, mentions_only in the room) as stored for `email`."""
    with app.app_context():
        user = db.session.scalar(db.select(User).filter_by(email=email))
        row = db.session.scalar(db.select(Participant).filter_by(user_id=user.id, room_id=room_id))
        return user.recap, row.mentions_only


def test_staff_choose_how_often_and_mentions_only_with_a_plain_form(app, page):
    room_id, staff, _client = page
    html = staff.get("/preferences/notifications").get_data(as_text=True)
    assert 'name="frequency"' in html and "A daily recap" in html
    assert re.search(r'<input checked[^>]*value="reminders"', html)
    assert f'<label for="mentions-{room_id}">' in html
    response = staff.form_post(
        "/preferences/notifications",
        {
            "email_notifications": "y",
            "frequency": "weekly",
            "mentions_only_shown": "1",
            "mentions_only_room_ids": str(room_id),
        },
    )
    assert response.status_code == 302
    assert saved(app, "staff@example.test", room_id) == ("weekly", True)
    html = staff.get("/preferences/notifications").get_data(as_text=True)
    assert re.search(r'<input checked[^>]*value="weekly"', html)
    assert f'id="mentions-{room_id}" value="{room_id}" checked' in html


def test_unticking_every_mentions_box_is_a_choice(app, page):
    room_id, staff, _client = page
    data = {"email_notifications": "y", "mentions_only_shown": "1"}
    staff.form_post("/preferences/notifications", {**data, "mentions_only_room_ids": room_id})
    assert saved(app, "staff@example.test", room_id)[1] is True
    assert staff.form_post("/preferences/notifications", data).status_code == 302
    assert saved(app, "staff@example.test", room_id)[1] is False


def test_a_post_without_the_new_fields_keeps_them(app, people, page):
    room_id, staff, _client = page
    with app.app_context():
        staff_user = db.session.get(User, people["staff"].id)
        update_notification_settings(
            staff_user, True, (), frequency="daily", mentions_only=[room_id]
        )
    response = staff.form_post("/preferences/notifications", {"email_notifications": "y"})
    assert response.status_code == 302
    assert saved(app, "staff@example.test", room_id) == ("daily", True)


def test_an_unknown_frequency_gets_an_error_on_the_page(page):
    _room_id, staff, _client = page
    response = staff.form_post(
        "/preferences/notifications", {"email_notifications": "y", "frequency": "hourly"}
    )
    assert response.status_code == 400
    assert "Choose how often from the list." in response.get_data(as_text=True)


def test_clients_see_no_recap_or_mentions_choice_and_cannot_post_one(app, page):
    room_id, _staff, client = page
    html = client.get("/preferences/notifications").get_data(as_text=True)
    assert 'name="frequency"' not in html
    assert "mentions_only" not in html
    assert 'name="muted_room_ids"' in html
    data = {
        "email_notifications": "y",
        "frequency": "daily",
        "mentions_only_shown": "1",
        "mentions_only_room_ids": room_id,
    }
    assert client.form_post("/preferences/notifications", data).status_code == 302
    assert saved(app, "client@example.test", room_id) == (None, False)
