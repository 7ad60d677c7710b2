"""`POST /inbound/email`: a provider's HTTP delivery of a raw reply, behind a shared secret."""

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import Message
from portal.notify.replies import reply_address
from tests.notify_helpers import post, room_with
from tests.reply_helpers import reply

SECRET = "inbound-shared-secret"


@pytest.fixture
def secret(app, monkeypatch):
    monkeypatch.setitem(app.config, "INBOUND_EMAIL_SECRET", SECRET)
    return SECRET


@pytest.fixture
def address(app, people):
    with app.app_context():
        room = room_with(people["staff"], people["client"])
        post(room, people["staff"], "Your tax return is ready to sign")
        return reply_address(people["client"].id, room.id)


def deliver(client, raw, auth=f"Bearer {SECRET}"):
    headers = {"Content-Type": "message/rfc822"}
    if auth:
        headers["Authorization"] = auth
    return client.post("/inbound/email", data=raw, headers=headers)


def bodies(app):
    with app.app_context():
        return list(db.session.scalars(select(Message.body).order_by(Message.id)))


def test_a_raw_reply_with_the_secret_is_posted_once(client, app, secret, address):
    raw = bytes(reply(address))
    response = deliver(client, raw)
    assert response.status_code == 200
    assert response.json == {"results": [{"status": "posted", "reason": ""}]}
    assert deliver(client, raw).json["results"][0]["status"] == "duplicate"
    assert bodies(app)[-1] == "Signed, thanks!"
    assert len(bodies(app)) == 2


def test_basic_auth_password_is_accepted(client, app, secret, address):
    import base64

    token = base64.b64encode(f"inbound:{SECRET}".encode()).decode()
    assert deliver(client, bytes(reply(address)), auth=f"Basic {token}").status_code == 200


@pytest.mark.parametrize("auth", [None, "Bearer wrong", "Basic aW5ib3VuZDp3cm9uZw=="])
def test_without_the_secret_nothing_is_posted(client, app, secret, address, auth):
    assert deliver(client, bytes(reply(address)), auth=auth).status_code == 403
    assert len(bodies(app)) == 1


def test_the_endpoint_is_off_until_a_secret_is_set(client, app, address):
    assert deliver(client, bytes(reply(address))).status_code == 404


def test_a_refused_reply_is_422_with_the_reason(client, app, secret, address):
    response = deliver(client, bytes(reply(address, sender="mallory@example.test")))
    assert response.status_code == 422
    assert "sender" in response.json["results"][0]["reason"]
    not_ours = deliver(client, bytes(reply("someone@example.test")))
    assert not_ours.status_code == 422
    assert len(bodies(app)) == 1


def test_oversized_mail_is_413(client, app, secret, address, monkeypatch):
    monkeypatch.setitem(app.config, "INBOUND_MAX_BYTES", 1000)
    assert deliver(client, bytes(reply(address, text="x" * 2000))).status_code == 413


def test_a_reply_answered_by_email_is_200_with_its_status(client, app, secret, address):
    # Nothing but a quote: not posted, and the client is told by email (so not a 422).
    text = "On Thu, Nov 26, 2026 at 11:00 AM Sam <sam@firm.example> wrote:\n> Ready to sign\n"
    response = deliver(client, bytes(reply(address, text=text)))
    assert response.status_code == 200
    [result] = response.json["results"]
    assert result["status"] == "answered" and "Write a message" in result["reason"]
    assert len(bodies(app)) == 1
