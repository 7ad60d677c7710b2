"""Every email fits a 375 px phone screen in Chromium: long links wrap, nothing scrolls sideways."""

import pytest

from portal.mail import build_email
from portal.notify.client_emails import notify_client
from portal.notify.reminders import send_reminders
from tests.notify_helpers import after_delay, post, room_with, user

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("app_ctx")]
PHONE = {"width": 375, "height": 740}
LONG_LINK = "https://portal.test/invite/" + "Zx9_" * 40
UNBROKEN = "https://docs.example.test/shared/" + "a1b2c3d4" * 30


def _html(email):
    return email.get_body(preferencelist=("html",)).get_content()


def _overflow(browser, html):
    """How many CSS pixels the email is wider than the phone (0 when it fits)."""
    context = browser.new_context(viewport=PHONE, java_script_enabled=True)
    try:
        page = context.new_page()
        page.set_content(html)
        return page.evaluate(
            "() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
            f" - {PHONE['width']}"
        )
    finally:
        context.close()


@pytest.mark.parametrize("template", ["invitation", "password_reset", "held_reply", "login_link"])
def test_link_emails_fit_375_px(browser, people, template):
    email = build_email(
        "client@example.test",
        "Subject",
        template,
        user=user(people["client"]),
        invited_by=user(people["staff"]),
        link=LONG_LINK,
        ttl_days=7,
        ttl_minutes=60,
        recipient_name="Client",
        room_title="VATreturn" * 13,
        text=UNBROKEN[:290],
    )
    assert LONG_LINK in _html(email)
    assert _overflow(browser, _html(email)) <= 0


def test_notification_and_reminder_emails_fit_375_px(browser, people, outbox):
    # A title and a link with no place to break: the worst a phone can be sent.
    room = room_with(people["staff"], people["client"], title="VATreturn" * 13)
    post(room, people["staff"], f"{UNBROKEN[:150]} is the folder")
    notify_client(people["client"].id, now=after_delay())
    send_reminders(now=after_delay(4000))
    emails = outbox.messages("client@example.test") + outbox.messages("staff@example.test")
    assert emails
    for email in emails:
        assert _overflow(browser, _html(email)) <= 0, email["Subject"]


def test_recap_emails_fit_375_px(browser, people, outbox):
    from datetime import UTC, datetime

    from portal.notify.preferences import update_notification_settings
    from portal.notify.recaps import send_recaps

    room = room_with(people["staff"], people["client"], title="VATreturn" * 13)
    post(room, people["client"], f"{UNBROKEN[:150]} is the folder")
    update_notification_settings(user(people["staff"]), True, (), frequency="daily")
    assert send_recaps(now=datetime(2030, 1, 7, 8, 30, tzinfo=UTC)) == 1
    [email] = outbox.messages("staff@example.test")
    assert _overflow(browser, _html(email)) <= 0


def test_the_reply_not_posted_answer_fits_375_px(browser, people, outbox):
    from portal.notify.reply_answers import send_answer

    room = room_with(people["staff"], people["client"], title="VATreturn" * 13)
    send_answer(
        people["client"].id,
        "the conversation is archived.",
        None,
        [room.id],
        f"My answer with {UNBROKEN[:200]}",
    )
    [email] = outbox.messages("client@example.test")
    assert _overflow(browser, _html(email)) <= 0
