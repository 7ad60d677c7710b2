"""The email rules: one digest per client window, summarizing reminders, headers on the wire."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from portal.extensions import db
from portal.messaging.reading import mark_read
from portal.models import Message, NotificationLog, Participant
from portal.notify.client_emails import notify_client
from portal.notify.emails import build_email_for
from portal.notify.reminders import send_reminders
from tests.notify_helpers import after_delay, kinds, parts, post, room_with, user

pytestmark = pytest.mark.usefixtures("app_ctx")
INTERVAL = timedelta(seconds=1800)


@pytest.fixture
def smtp(app, smtp_server, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", smtp_server.port)
    return smtp_server.sink


def raw_headers(envelope):
    """The header block exactly as it crossed the SMTP connection."""
    return envelope.content.split(b"\r\n\r\n", 1)[0]


def test_rooms_of_one_client_due_in_the_same_minute_share_one_digest(people, outbox):
    taxes = room_with(people["staff"], people["client"], title="Taxes")
    payroll = room_with(people["staff"], people["client"], title="Payroll")
    post(taxes, people["staff"], "Taxes one")
    post(taxes, people["staff"], "Taxes two")
    post(payroll, people["staff"], "Payroll one")

    notify_client(people["client"].id, now=after_delay())

    [email] = outbox.messages("client@example.test")
    assert email["Subject"] == "3 new messages in 2 conversations"
    text, html = parts(email)
    for needle in ("Taxes one", "Taxes two", "Payroll one"):
        assert needle in text and needle in html
    # Grouped by room, one link per room.
    for room in (taxes, payroll):
        assert text.count(f"http://portal.test/portal/rooms/{room.id}") == 1
        assert html.count(f'href="http://portal.test/portal/rooms/{room.id}"') == 1
    # Several rooms: no per-room thread headers.
    assert email["References"] is None


def test_the_email_covers_every_unread_message_of_the_room_at_that_moment(people, outbox):
    room = room_with(people["staff"], people["client"])
    post(room, people["staff"], "Oldest")
    now = after_delay()
    # Posted a moment before the job runs: still covered, not a second email later.
    post(room, people["staff"], "Newest")

    notify_client(people["client"].id, now=now)
    notify_client(people["client"].id, now=now + timedelta(seconds=600))

    [email] = outbox.messages("client@example.test")
    text, _html = parts(email)
    assert "Oldest" in text and "Newest" in text


def posted_earlier(message, seconds):
    """Backdate a message (and its room's memberships, so it isn't older than them)."""
    earlier = message.created_at - timedelta(seconds=seconds)
    db.session.execute(
        update(Participant).where(Participant.room_id == message.room_id).values(added_at=earlier)
    )
    db.session.execute(update(Message).where(Message.id == message.id).values(created_at=earlier))
    db.session.commit()


def test_a_room_falling_due_within_the_minute_joins_the_digest(people, outbox):
    taxes = room_with(people["staff"], people["client"], title="Taxes")
    payroll = room_with(people["staff"], people["client"], title="Payroll")
    posted_earlier(post(payroll, people["staff"], "Payroll"), 30)
    post(taxes, people["staff"], "Taxes")

    notify_client(people["client"].id, now=after_delay(-15))

    [email] = outbox.messages("client@example.test")
    assert email["Subject"] == "2 new messages in 2 conversations"


def test_a_room_gets_at_most_one_email_per_delay(people, outbox):
    taxes = room_with(people["staff"], people["client"], title="Taxes")
    payroll = room_with(people["staff"], people["client"], title="Payroll")
    post(taxes, people["staff"], "First taxes")
    notify_client(people["client"].id, now=after_delay())
    posted_earlier(post(payroll, people["staff"], "Payroll"), 30)
    post(taxes, people["staff"], "Second taxes")

    # Payroll is due; Taxes falls due within the minute but was emailed less than a
    # delay ago, so it waits for its own turn.
    notify_client(people["client"].id, now=after_delay(-15))
    notify_client(people["client"].id, now=after_delay())
    subjects = [m["Subject"] for m in outbox.messages("client@example.test")]
    assert subjects == [
        "New message from Staff in “Taxes”",
        "New message from Staff in “Payroll”",
        "New message from Staff in “Taxes”",
    ]
    assert "Second taxes" in parts(outbox.messages("client@example.test")[-1])[0]


def test_a_reminder_summarizes_a_long_backlog(people, outbox):
    room = room_with(people["staff"], people["client"])
    for n in range(1, 8):
        post(room, people["client"], f"Backlog item {n}")

    send_reminders(now=after_delay())

    [email] = outbox.messages("staff@example.test")
    text, html = parts(email)
    assert "7 unread messages" in text and "7 unread messages" in html
    for n in (5, 6, 7):
        assert f"Backlog item {n}" in text and f"Backlog item {n}" in html
    for n in (1, 2, 3, 4):
        assert f"Backlog item {n}" not in text and f"Backlog item {n}" not in html
    assert "and 4 earlier messages" in text and "and 4 earlier messages" in html
    assert text.count(f"http://portal.test/app/rooms/{room.id}") == 1


def test_a_reminder_omits_rooms_an_email_covered_in_the_same_interval(people, outbox):
    old = room_with(people["staff"], people["client"], title="Old matter")
    new = room_with(people["staff"], people["client"], title="New matter")
    post(old, people["staff"], "Emailed long ago")
    first = after_delay()
    notify_client(people["client"].id, now=first)
    post(new, people["staff"], "Emailed just now")
    second = first + INTERVAL + timedelta(seconds=60)
    notify_client(people["client"].id, now=second)

    # Seconds after an email: not yet (no two emails in a row).
    assert send_reminders(now=second + timedelta(seconds=10)) == 0
    # Later in the same interval: a reminder, without what the email covered.
    send_reminders(now=second + timedelta(seconds=700))

    assert kinds(outbox, "client@example.test") == [
        "client_notification",
        "client_notification",
        "reminder",
    ]
    text, html = parts(outbox.messages("client@example.test")[-1])
    assert "Emailed long ago" in text and "Emailed long ago" in html
    assert "Emailed just now" not in text and "Emailed just now" not in html
    # A later interval: the just-emailed room, still unread, is reminded once.
    send_reminders(now=second + INTERVAL + timedelta(seconds=700))
    text, _html = parts(outbox.messages("client@example.test")[-1])
    assert "Emailed just now" in text and "Emailed long ago" not in text


def test_headers_on_the_wire(people, smtp):
    room = room_with(people["staff"], people["client"])
    post(room, people["staff"], "Wire check")
    row = notify_client(people["client"].id, now=after_delay())

    [(_when, envelope, _email)] = smtp.received
    raw = raw_headers(envelope)
    [field] = re.findall(rb"\r\nList-Unsubscribe:(.*?)\r\n(?![ \t])", raw, re.DOTALL)
    assert b"=?" not in field  # no RFC 2047 encoded words
    assert re.search(rb"\r\nList-Unsubscribe: <http://portal\.test/unsubscribe/[\w.\-]+>\r\n", raw)
    assert b"\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in raw
    assert b"\r\nAuto-Submitted: auto-generated\r\n" in raw
    client_id = people["client"].id
    assert (
        f"\r\nMessage-ID: <client_notification.{row.id}.{client_id}@portal.test>\r\n".encode()
        in (raw)
    )
    # The first email about the room: no thread to name yet.
    assert b"\r\nIn-Reply-To: " not in raw and b"\r\nReferences: " not in raw


def test_the_message_id_is_stable_and_a_room_keeps_its_thread(people, smtp):
    room = room_with(people["staff"], people["client"])
    post(room, people["staff"], "First")
    notify_client(people["client"].id, now=after_delay())
    post(room, people["staff"], "Second")
    notify_client(people["client"].id, now=after_delay() + timedelta(seconds=600))

    first, second = smtp.messages("client_notification")
    # Threads name only emails that were sent: the second answers the first.
    assert first["References"] is None and first["In-Reply-To"] is None
    assert second["In-Reply-To"] == second["References"] == first["Message-ID"]
    assert first["Message-ID"] != second["Message-ID"]
    row = db.session.scalars(select(NotificationLog).order_by(NotificationLog.id)).first()
    # A re-send of the same row (retry, sweep) carries the same Message-ID.
    assert build_email_for(row)["message_id"] == first["Message-ID"]


def test_one_click_post_unsubscribes_without_login_or_csrf(people, smtp, client):
    room = room_with(people["staff"], people["client"])
    post(room, people["staff"], "Unsubscribe me")
    notify_client(people["client"].id, now=after_delay())
    [(_when, envelope, _email)] = smtp.received
    url = re.search(rb"List-Unsubscribe: <([^>]+)>", envelope.content).group(1).decode()

    response = client.post(
        url.removeprefix("http://portal.test"), data={"List-Unsubscribe": "One-Click"}
    )

    assert response.status_code == 200
    db.session.expire_all()
    assert user(people["client"]).email_notifications is False


def test_times_in_emails_use_the_recipients_zone_and_name_it(people, outbox):
    client = user(people["client"])
    client.time_zone = "Asia/Tokyo"
    db.session.commit()
    room = room_with(people["staff"], people["client"])
    message = post(room, people["staff"], "What time is it?")
    notify_client(people["client"].id, now=after_delay())

    text, html = parts(outbox.messages("client@example.test")[0])
    tokyo = message.created_at + timedelta(hours=9)
    stamp = f"{tokyo:%d %b %Y, %H:%M} Asia/Tokyo"
    assert stamp in text and stamp in html
    assert "Times are in Asia/Tokyo" in text


def test_the_html_part_has_inlined_css_and_the_brand(app, people, outbox, monkeypatch):
    monkeypatch.setitem(app.config, "PORTAL_NAME", "Acme & Partners")
    monkeypatch.setitem(app.config, "PORTAL_ACCENT", "#aa3300")
    room = room_with(people["staff"], people["client"])
    post(room, people["staff"], "Styled")
    notify_client(people["client"].id, now=after_delay())

    text, html = parts(outbox.messages("client@example.test")[0])
    assert "<style" not in html
    assert re.search(r'class="button"[^>]*style="[^"]*background: #aa3300', html) or re.search(
        r'style="[^"]*background: #aa3300[^"]*"[^>]*class="button"', html
    )
    assert "Acme &amp; Partners" in html
    assert "Acme & Partners" in text


def test_nothing_read_nothing_sent_after_a_digest_was_read(people, outbox):
    room = room_with(people["staff"], people["client"])
    post(room, people["staff"], "Read it in time")
    mark_read(user(people["client"]), room)

    assert notify_client(people["client"].id, now=after_delay()) is None
    assert outbox.messages() == []
