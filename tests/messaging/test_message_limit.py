"""MESSAGE_LIMIT shaped for people: a burst of short replies never meets it, a script does,
and a refused send says when to try again (Retry-After) without storing anything."""

from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Message
from tests.files_helpers import HX


def _count(app):
    with app.app_context():
        return db.session.scalar(select(func.count(Message.id)))


def test_the_default_allows_a_burst_under_a_steadier_rate(app):
    assert app.config["MESSAGE_LIMIT"] == "60 per minute; 600 per hour"


def test_forty_short_replies_in_a_row_are_forty_messages(app, client, people, room):
    client.login("staff@example.test")
    url = f"/app/rooms/{room}/messages"
    token = client.csrf_token()
    for n in range(40):
        body = ["ok", "thx", "👍", "sure"][n % 4] + f" {n}"
        response = client.post(url, data={"body": body, "csrf_token": token}, headers=HX)
        assert response.status_code == 200, (n, response.get_data(as_text=True))
    with app.app_context():
        bodies = db.session.scalars(select(Message.body).order_by(Message.id)).all()
    assert len(bodies) == 40 and bodies[0] == "ok 0" and bodies[-1] == "sure 39"


def test_a_script_meets_the_limit_and_is_told_when_to_retry(app, client, people, room):
    client.login("staff@example.test")
    url = f"/app/rooms/{room}/messages"
    token = client.csrf_token()
    for n in range(60):
        data = {"body": f"spam {n}", "csrf_token": token}
        assert client.post(url, data=data, headers=HX).status_code == 200
    refused = client.post(url, data={"body": "spam 60", "csrf_token": token}, headers=HX)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert "sending messages very fast" in refused.get_data(as_text=True)
    assert _count(app) == 60


def test_the_steadier_limit_says_how_long_it_lasts(app, client, people, room, monkeypatch):
    monkeypatch.setitem(app.config, "MESSAGE_LIMIT", "100 per minute; 5 per hour")
    client.login("staff@example.test")
    url = f"/app/rooms/{room}/messages"
    for n in range(5):
        assert client.form_post(url, {"body": f"m{n}"}, headers=HX).status_code == 200
    refused = client.form_post(url, {"body": "m5"}, headers=HX)
    assert refused.status_code == 429
    assert 60 < int(refused.headers["Retry-After"]) <= 3600


def test_without_javascript_the_refusal_keeps_the_draft_and_says_when(
    app, client, people, room, monkeypatch
):
    monkeypatch.setitem(app.config, "MESSAGE_LIMIT", "1 per minute")
    client.login("client@example.test")
    url = f"/portal/rooms/{room}/messages"
    assert client.form_post(url, {"body": "first"}).status_code == 302
    refused = client.form_post(url, {"body": "second, kept"})
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    page = refused.get_data(as_text=True)
    assert "Your message was not sent" in page and "second, kept</textarea>" in page
    assert _count(app) == 1
