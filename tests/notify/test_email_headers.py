"""Headers mail providers trust: one domain for From, Message-ID, Reply-To and List-Unsubscribe;
threads that name only emails really sent; a warning at start when links are not https."""

import logging
from email.utils import parseaddr
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from portal import config as settings
from portal import create_app
from portal.extensions import db
from portal.models import NotificationLog
from portal.notify.client_emails import notify_client
from tests.notify_helpers import after_delay, post, room_with

BASE = {"PORTAL_NAME": "Portal Messaging", "MAIL_DEFAULT_SENDER": None}


def warnings_for(url, sender=None):
    return settings.deployment_warnings(
        {**BASE, "PORTAL_BASE_URL": url, "MAIL_DEFAULT_SENDER": sender}
    )


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:5000", "http://localhost:8080", "http://portal.test", "http://[::1]:5000"],
)
def test_local_development_over_http_is_not_warned_about(url):
    assert warnings_for(url) == []


def test_http_outside_local_development_is_warned_about():
    [warning] = warnings_for("http://portal.example.com")
    assert "PORTAL_BASE_URL (http://portal.example.com) is not https" in warning
    assert warnings_for("https://portal.example.com") == []


@pytest.mark.parametrize(
    ("sender", "aligned"),
    [
        ("Firm <portal@example.com>", True),
        ("Firm <no-reply@portal.example.com>", True),
        ("Firm <portal@mail.example.com>", True),
        ("Firm <portal@example.org>", False),
        ("no-reply@portal.localhost", False),
    ],
)
def test_a_sender_on_another_domain_is_warned_about(sender, aligned):
    found = warnings_for("https://portal.example.com", sender)
    assert (found == []) is aligned
    if not aligned:
        assert "will not align" in found[0]


def test_the_default_sender_is_on_the_portal_host():
    config = {**BASE, "PORTAL_BASE_URL": "https://portal.example.com/"}
    assert settings.default_sender(config) == "Portal Messaging <no-reply@portal.example.com>"
    assert settings.sender_domain(config) == "portal.example.com"
    # An address is no mail domain: local development on 127.0.0.1 sends as localhost.
    config["PORTAL_BASE_URL"] = "http://127.0.0.1:5000"
    assert settings.default_sender(config) == "Portal Messaging <no-reply@localhost>"
    config["MAIL_DEFAULT_SENDER"] = "Firm <portal@example.com>"
    assert settings.sender_domain(config) == "example.com"


def test_the_warning_is_logged_at_start(app_config, caplog):
    with caplog.at_level(logging.WARNING):
        create_app({**app_config, "PORTAL_BASE_URL": "http://portal.example.com"})
    assert any(
        "configuration: PORTAL_BASE_URL (http://portal.example.com) is not https" in r.message
        for r in caplog.records
    )


def test_healthz_names_the_warning_and_stays_healthy(app, client, monkeypatch):
    assert "warnings" not in client.get("/healthz").json
    monkeypatch.setitem(app.config, "PORTAL_BASE_URL", "http://portal.example.com")
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json["status"] == "ok"
    assert "is not https" in response.json["warnings"][0]


@pytest.fixture
def smtp(app, smtp_server, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", smtp_server.port)
    return smtp_server.sink


def _domain(address):
    return parseaddr(str(address))[1].rpartition("@")[2].rstrip(">")


@pytest.mark.usefixtures("app_ctx")
def test_from_message_id_reply_to_and_unsubscribe_share_the_portal_domain(
    app, people, smtp, monkeypatch
):
    monkeypatch.setitem(app.config, "PORTAL_BASE_URL", "https://portal.example.com")
    room = room_with(people["staff"], people["client"])
    post(room, people["staff"], "Aligned")
    notify_client(people["client"].id, now=after_delay())

    [email] = smtp.messages("client_notification")
    assert _domain(email["From"]) == "portal.example.com"
    assert _domain(email["Message-ID"]) == "portal.example.com"
    assert _domain(email["Reply-To"]) == "portal.example.com"
    unsubscribe = str(email["List-Unsubscribe"]).strip("<>")
    assert urlsplit(unsubscribe).netloc == "portal.example.com"
    assert urlsplit(unsubscribe).scheme == "https"


@pytest.mark.usefixtures("app_ctx")
def test_a_thread_names_only_emails_that_were_sent(people, smtp):
    room = room_with(people["staff"], people["client"])
    other = room_with(people["staff"], people["client"], title="Another matter")
    client_id = people["client"].id
    post(room, people["staff"], "First")
    notify_client(client_id, now=after_delay())
    [first] = smtp.messages("client_notification")
    assert first["In-Reply-To"] is None and first["References"] is None

    # An email that never went out (given up on) is no part of the thread.
    post(room, people["staff"], "Second")
    notify_client(client_id, now=after_delay(700))
    second_row = db.session.scalars(
        select(NotificationLog).order_by(NotificationLog.id.desc())
    ).first()
    second_row.status = "failed"
    db.session.commit()
    # Another room's email is no part of it either.
    post(other, people["staff"], "Elsewhere")
    notify_client(client_id, now=after_delay(1400))

    post(room, people["staff"], "Third")
    notify_client(client_id, now=after_delay(2100))
    third = smtp.messages("client_notification")[-1]
    assert "Third" in third.get_body(preferencelist=("plain",)).get_content()
    assert third["In-Reply-To"] == first["Message-ID"]
    assert third["References"] == first["Message-ID"]
    sent_ids = {str(m["Message-ID"]) for m in smtp.messages("client_notification")}
    assert set(str(third["References"]).split()) <= sent_ids


def test_trusted_mta_addresses_are_checked_at_start(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", "x")
    monkeypatch.setenv("INBOUND_TRUSTED_MTA_IPS", "10.0.0.0/8, ::1")
    assert settings.from_environment(str(tmp_path))["INBOUND_TRUSTED_MTA_IPS"] == [
        "10.0.0.0/8",
        "::1",
    ]
    monkeypatch.setenv("INBOUND_TRUSTED_MTA_IPS", "mx.example.com")
    with pytest.raises(ValueError, match="INBOUND_TRUSTED_MTA_IPS"):
        settings.from_environment(str(tmp_path))
    monkeypatch.delenv("INBOUND_TRUSTED_MTA_IPS")
    monkeypatch.setenv("INBOUND_UNCONFIRMED", "maybe")
    with pytest.raises(ValueError, match="INBOUND_UNCONFIRMED"):
        settings.from_environment(str(tmp_path))
