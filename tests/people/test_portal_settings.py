"""Settings → Client portal: who may change the firm's name and accent colour, what they
may set, and that every page, email and process sees a change at once."""

import io
import json
import time

import pytest
import redis
from sqlalchemy import select

from portal.extensions import db
from portal.infra import settings
from portal.models import Setting, User
from portal.people.invitations import invite_user

URL = "/settings/portal"


@pytest.fixture(autouse=True)
def _fresh_settings():
    """The process's copy of the settings is emptied with the tables after each test."""
    settings.forget()
    yield
    settings.forget()


def save(client, name="Smith & Jones", colour="#aa3300", sidebar="#1f2a44"):
    data = {"portal_name": name, "accent_colour": colour, "sidebar_colour": sidebar}
    return client.form_post(URL, data)


def test_admins_see_the_first_values_from_the_environment(app, client, people):
    client.login("admin@example.test")
    page = client.get(URL).get_data(as_text=True)
    assert "<h1>Client portal</h1>" in page
    assert f'value="{app.config["PORTAL_NAME"]}"' in page
    assert f'value="{app.config["PORTAL_ACCENT"]}"' in page
    assert 'for="portal_name"' in page and 'for="accent_colour"' in page


@pytest.mark.parametrize("persona,status", [("staff", 403), ("staff_all", 403), ("client", 404)])
def test_only_admins_may_change_them(app, client, people, persona, status):
    client.login(f"{persona}@example.test")
    assert client.get(URL).status_code == status
    assert save(client).status_code == status
    with app.app_context():
        assert db.session.scalars(select(Setting)).all() == []


def test_anonymous_is_sent_to_log_in_and_a_forged_post_changes_nothing(app, client, people):
    assert client.get(URL).status_code == 302
    client.login("admin@example.test")
    response = client.post(URL, data={"portal_name": "Forged", "accent_colour": "#000"})
    assert response.status_code == 400  # no CSRF token
    with app.app_context():
        assert settings.value("PORTAL_NAME") != "Forged"


def test_a_change_shows_at_once_on_pages_css_and_emails(app, client, people, room, outbox):
    client.login("admin@example.test")
    assert save(client).status_code == 302
    assert "Saved" in client.get(URL).get_data(as_text=True)
    client.logout()
    client.login("client@example.test")
    listing = client.get("/portal/rooms").get_data(as_text=True)
    assert "Smith &amp; Jones · Client portal" in listing
    assert "/brand.css?v=aa3300-1f2a44" in listing
    assert "--accent: #aa3300" in client.get("/brand.css?v=aa3300-1f2a44").get_data(as_text=True)
    assert "Smith &amp; Jones" in client.get(f"/portal/rooms/{room}").get_data(as_text=True)
    with app.app_context():
        admin = db.session.get(User, people["admin"].id)
        invite_user("new@example.test", "New Client", "client", admin)
    [email] = outbox.messages("new@example.test")
    assert email["Subject"] == "You're invited to Smith & Jones"
    assert email["From"].addresses[0].display_name == "Smith & Jones"  # was the env's name
    html = email.get_body(("html",)).get_content()
    assert "Smith &amp; Jones" in html and "#aa3300" in html


ACCENT_ERROR = "The accent colour must be a colour like #2f5bd3."


@pytest.mark.parametrize(
    "values,error",
    [
        ({"colour": "red"}, ACCENT_ERROR),
        ({"colour": "#12345"}, ACCENT_ERROR),
        ({"colour": "#123;} body{x:y"}, ACCENT_ERROR),
        ({"sidebar": "#fff; }"}, "The sidebar colour must be a colour like #2f5bd3."),
        ({"name": "   "}, "Give the firm a name."),
        ({"name": "x" * 81}, "The firm&#39;s name can be at most 80 characters."),
    ],
)
def test_bad_values_are_refused_in_the_products_words(app, client, people, values, error):
    client.login("admin@example.test")
    response = save(client, **values)
    assert response.status_code == 422
    assert error in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(select(Setting)).all() == []  # nothing half-saved


def test_names_are_escaped_everywhere(app, client, people):
    client.login("admin@example.test")
    save(client, "<script>alert(1)</script> & Co")
    page = client.get("/app/rooms").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in page


def test_another_process_forgets_its_copy_when_it_hears_of_a_change(app, people, open_stream):
    """A change made on another node reaches this process's hub over Redis."""
    open_stream("client@example.test")  # this process's hub is subscribed
    with app.app_context():
        assert settings.value("PORTAL_NAME") == app.config["PORTAL_NAME"]  # cached now
        db.session.add(Setting(name="PORTAL_NAME", value="Changed elsewhere"))
        db.session.commit()  # as another node would, without this process's signal
        assert settings.value("PORTAL_NAME") == app.config["PORTAL_NAME"]
        live = app.extensions["live"]
        channel = live.hub.room_channel(0)
        redis.Redis.from_url(app.config["REDIS_URL"]).publish(
            channel, json.dumps({"settings": ["PORTAL_NAME"]})
        )
        for _ in range(100):
            if settings.value("PORTAL_NAME") == "Changed elsewhere":
                break
            time.sleep(0.05)
        assert settings.value("PORTAL_NAME") == "Changed elsewhere"


def test_saving_announces_the_change_to_every_hub(app, client, people):
    pubsub = redis.Redis.from_url(app.config["REDIS_URL"]).pubsub()
    pubsub.subscribe(app.extensions["live"].hub.room_channel(0))
    pubsub.get_message(timeout=1)
    client.login("admin@example.test")
    save(client)
    heard = pubsub.get_message(timeout=2)
    assert json.loads(heard["data"]) == {"settings": ["PORTAL_NAME", "PORTAL_ACCENT"]}
    pubsub.close()


def test_a_process_that_hears_nothing_reads_again_after_the_cache_time(app, people, monkeypatch):
    with app.app_context():
        settings.value("PORTAL_NAME")
        db.session.add(Setting(name="PORTAL_NAME", value="Later"))
        db.session.commit()
        monkeypatch.setattr(settings, "CACHE_SECONDS", 0.0)
        assert settings.value("PORTAL_NAME") == "Later"


def test_the_sidebar_colour_picks_readable_text(app, client, people):
    client.login("admin@example.test")
    assert save(client, sidebar="#f5f0e1").status_code == 302
    page = client.get("/app/rooms").get_data(as_text=True)
    assert "/brand.css?v=aa3300-f5f0e1" in page
    css = client.get("/brand.css?v=aa3300-f5f0e1").get_data(as_text=True)
    assert "--sidebar: #f5f0e1; --sidebar-ink: #000000;" in css
    assert settings.ink_on("#1f2a44") == "#ffffff" and settings.ink_on("#fff") == "#000000"


def image_bytes(kind="PNG", size=(900, 300), colour=(200, 40, 10)):
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, kind)
    return out.getvalue()


def upload(client, data, filename="logo.png", **extra):
    fields = {
        "portal_name": "Smith & Jones",
        "accent_colour": "#aa3300",
        "sidebar_colour": "#1f2a44",
        **extra,
    }
    if data is not None:
        fields["logo"] = (io.BytesIO(data), filename)
    return client.post(
        URL,
        data={**fields, "csrf_token": client.csrf_token()},
        content_type="multipart/form-data",
    )


@pytest.mark.parametrize("kind", ["PNG", "JPEG", "WEBP"])
def test_a_logo_is_re_encoded_and_shown_on_pages_and_emails(app, client, people, outbox, kind):
    client.login("admin@example.test")
    assert upload(client, image_bytes(kind), f"logo.{kind.lower()}").status_code == 302
    with app.app_context():
        version = settings.value(settings.LOGO_VERSION)
    src = f"/brand/logo/{version}.png"
    assert src in client.get("/app/rooms").get_data(as_text=True)  # the sidebar
    client.logout()
    assert src in client.get("/login").get_data(as_text=True)
    served = client.get(src)
    assert served.status_code == 200 and served.mimetype == "image/png"
    assert "immutable" in served.headers["Cache-Control"]
    from PIL import Image

    logo = Image.open(io.BytesIO(served.data))
    assert logo.format == "PNG" and max(logo.size) == 512  # scaled down
    assert client.get("/brand/logo/0123456789ab.png").status_code == 404  # an old version
    with app.app_context():
        admin = db.session.get(User, people["admin"].id)
        invite_user("new@example.test", "New Client", "client", admin)
    html = outbox.messages("new@example.test")[0].get_body(("html",)).get_content()
    assert f'src="http://portal.test{src}"' in html


@pytest.mark.parametrize(
    "data,filename",
    [
        (b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", "x.svg"),
        (b"GIF89a" + b"\0" * 40, "x.gif"),
        (b"not an image at all", "logo.png"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * (1024 * 1024), "big.png"),
    ],
)
def test_a_bad_logo_is_refused_and_nothing_is_saved(app, client, people, data, filename):
    client.login("admin@example.test")
    response = upload(client, data, filename)
    assert response.status_code == 422
    assert "The logo must be a PNG, JPEG or WebP image of at most 1 MB." in response.get_data(
        as_text=True
    )
    with app.app_context():
        assert db.session.scalars(select(Setting)).all() == []


def test_a_gif_logo_is_refused(app, client, people):
    client.login("admin@example.test")
    assert upload(client, image_bytes("GIF"), "logo.gif").status_code == 422


def test_the_logo_can_be_removed(app, client, people):
    client.login("admin@example.test")
    upload(client, image_bytes())
    with app.app_context():
        src = f"/brand/logo/{settings.value(settings.LOGO_VERSION)}.png"
    assert upload(client, None, remove_logo="y").status_code == 302
    assert src not in client.get("/app/rooms").get_data(as_text=True)
    assert client.get(src).status_code == 404


def test_a_huge_upload_is_stopped_at_the_door(app, client, people):
    client.login("admin@example.test")
    response = upload(client, b"\x89PNG\r\n\x1a\n" + b"\0" * (3 * 1024 * 1024))
    assert response.status_code == 413
    assert "Nothing was saved." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(select(Setting)).all() == []
