"""Brand settings in pages, and the time zone preference for emails and pages without JS."""

from datetime import timedelta

import pytest

from portal import config
from portal.extensions import db
from portal.models import User
from tests.notify_helpers import post, room_with

URL = "/preferences/notifications"


def time_zone(app, user_id):
    with app.app_context():
        return db.session.get(User, user_id).time_zone


def test_the_notifications_page_saves_a_time_zone(app, client, people):
    client.login("client@example.test")
    page = client.get(URL).get_data(as_text=True)
    assert '<label for="time_zone">Time zone</label>' in page
    assert '<option selected value="UTC">UTC</option>' in page

    response = client.form_post(URL, {"email_notifications": "y", "time_zone": "Europe/Paris"})
    assert response.status_code == 302
    assert time_zone(app, people["client"].id) == "Europe/Paris"
    page = client.get(URL).get_data(as_text=True)
    assert '<option selected value="Europe/Paris">Europe/Paris</option>' in page
    # A form without the field (an older page) keeps the zone.
    client.form_post(URL, {"email_notifications": "y"})
    assert time_zone(app, people["client"].id) == "Europe/Paris"
    client.form_post(URL, {"email_notifications": "y", "time_zone": "UTC"})
    assert time_zone(app, people["client"].id) is None


def test_an_unknown_time_zone_is_refused_and_nothing_is_saved(app, client, people):
    client.login("staff@example.test")
    response = client.form_post(URL, {"time_zone": "Mars/Olympus_Mons"})

    assert response.status_code == 400
    assert "Choose a time zone from the list." in response.get_data(as_text=True)
    assert time_zone(app, people["staff"].id) is None
    with app.app_context():
        assert db.session.get(User, people["staff"].id).email_notifications is True


def test_pages_show_times_in_the_readers_zone_without_javascript(app, client, people):
    with app.app_context():
        db.session.get(User, people["client"].id).time_zone = "America/New_York"
        db.session.commit()
        room = room_with(people["staff"], people["client"])
        message = post(room, people["staff"], "When was this?")
        room_id, created = room.id, message.created_at
    client.login("client@example.test")
    page = client.get(f"/portal/rooms/{room_id}").get_data(as_text=True)

    from zoneinfo import ZoneInfo

    local = created.astimezone(ZoneInfo("America/New_York"))
    assert f"{local:%d %b %Y, %H:%M} America/New_York</time>" in page
    # The machine-readable time stays UTC for the script that localizes with JS on.
    assert f'datetime="{created.isoformat(timespec="seconds")}"' in page
    assert created.utcoffset() == timedelta(0)


def test_brand_name_in_titles_headers_and_accent_stylesheet(app, client, people, monkeypatch):
    monkeypatch.setitem(app.config, "PORTAL_NAME", "Acme & Partners")
    monkeypatch.setitem(app.config, "PORTAL_ACCENT", "#aa3300")
    # Public, like the static files: the login page uses it too.
    assert client.get("/brand.css").status_code == 200
    client.login("client@example.test")
    page = client.get("/portal/rooms").get_data(as_text=True)
    assert "· Acme &amp; Partners</title>" in page
    assert "Acme &amp; Partners · Client portal" in page
    assert (
        '<link rel="stylesheet" href="/brand.css?v=aa3300-1f2a44">' in page
    )  # a new colour, a new URL
    client.login("staff@example.test")
    page = client.get("/app/rooms").get_data(as_text=True)
    assert '<p class="brand">Acme &amp; Partners</p>' in page

    css = client.get("/brand.css")
    assert css.mimetype == "text/css"
    assert css.get_data(as_text=True) == (
        ":root { --accent: #aa3300; --accent-ink: #ffffff; "
        "--sidebar: #1f2a44; --sidebar-ink: #ffffff; }\n"
    )


@pytest.mark.parametrize("value", ["red; } body { display: none", "#12", "url(x)"])
def test_a_bad_accent_colour_is_refused_at_startup(monkeypatch, tmp_path, value):
    monkeypatch.setenv("PORTAL_ACCENT", value)
    monkeypatch.setenv("SECRET_KEY", "x")
    with pytest.raises(ValueError, match="PORTAL_ACCENT"):
        config.from_environment(str(tmp_path))


def test_brand_settings_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("PORTAL_NAME", "  Smith,   Jones & Co ")
    monkeypatch.setenv("PORTAL_ACCENT", "#0A7")
    monkeypatch.setenv("SECRET_KEY", "x")
    monkeypatch.delenv("MAIL_DEFAULT_SENDER", raising=False)
    settings = config.from_environment(str(tmp_path))
    assert settings["PORTAL_NAME"] == "Smith, Jones & Co"
    assert settings["PORTAL_ACCENT"] == "#0a7"
    assert settings["MAIL_DEFAULT_SENDER"] is None
    settings["PORTAL_BASE_URL"] = "https://portal.smith-jones.example"
    assert (
        config.default_sender(settings)
        == '"Smith, Jones & Co" <no-reply@portal.smith-jones.example>'
    )
