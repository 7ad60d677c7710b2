"""Real delivery: notification emails reach an SMTP server with both parts and headers."""

import pytest

from portal.notify.client_emails import notify_client
from portal.notify.reminders import send_reminders
from tests.notify_helpers import after_delay, parts, post, room_with

pytestmark = pytest.mark.usefixtures("app_ctx")


@pytest.fixture
def smtp(app, smtp_server, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", smtp_server.port)
    return smtp_server.sink


def test_the_client_email_over_smtp(people, smtp, outbox):
    room = room_with(people["staff"], people["client"])
    post(room, people["staff"], "Your documents are ready")
    notify_client(people["client"].id, now=after_delay())

    [(_when, envelope, email)] = smtp.received
    assert envelope.rcpt_tos == ["client@example.test"]
    # The sender is on the PORTAL_BASE_URL host, like Message-ID, Reply-To and List-Unsubscribe.
    assert email["From"] == "Portal Messaging <no-reply@portal.test>"
    assert email["To"] == "Client <client@example.test>"
    assert email["Subject"] == "New message from Staff in “Tax return 2024”"
    assert email["List-Unsubscribe"].startswith("<http://portal.test/unsubscribe/")
    assert email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text, html = parts(email)
    for part in (text, html):
        assert "Your documents are ready" in part
        assert "Staff" in part and "Tax return 2024" in part
        assert f"http://portal.test/portal/rooms/{room.id}" in part
        assert "http://portal.test/preferences/notifications" in part
    assert html.lstrip().lower().startswith("<!doctype html>")
    assert outbox.messages() == []  # SMTP, not the .eml outbox


def test_a_reminder_over_smtp_links_staff_to_the_workspace(people, smtp):
    room = room_with(people["staff"], people["client"])
    post(room, people["client"], "Question for you")
    send_reminders(now=after_delay())

    [email] = smtp.messages("reminder")
    assert email["To"] == "Staff <staff@example.test>"
    assert email["Subject"] == "Reminder: 1 unread message in “Tax return 2024”"
    text, html = parts(email)
    assert f"http://portal.test/app/rooms/{room.id}" in text
    assert f'href="http://portal.test/app/rooms/{room.id}"' in html
