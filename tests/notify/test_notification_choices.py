"""Notification choices of internal users: reminders as they come, a daily or weekly recap,
and per room all messages / only mentions / nothing. Clients keep reminders and mute."""

from datetime import UTC, datetime, timedelta

import pytest

from jobs.rounds import run_round
from portal.extensions import db
from portal.messaging.reading import mark_read
from portal.models import Participant
from portal.notify.preferences import update_notification_settings
from portal.notify.recaps import send_recaps
from portal.notify.reminders import send_reminders
from tests.notify_helpers import kinds, parts, post, room_with, user

pytestmark = pytest.mark.usefixtures("app_ctx")

# A Monday, 08:30 UTC, well after any message the test posts "now" (the clock is injected).
MONDAY_0830 = datetime(2030, 1, 7, 8, 30, tzinfo=UTC)


def choose(person, frequency=None, mentions_only=None, muted=(), email=True):
    update_notification_settings(
        user(person), email, muted, frequency=frequency, mentions_only=mentions_only
    )


def participant(person, room):
    return db.session.scalar(db.select(Participant).filter_by(user_id=person.id, room_id=room.id))


def test_a_daily_recap_replaces_the_reminders_and_goes_out_once_a_day(people, outbox):
    first = room_with(people["staff"], people["client"], title="First room")
    second = room_with(people["staff"], people["client"], title="Second room")
    post(first, people["client"], "About the first")
    post(second, people["client"], "About the second")
    post(second, people["client"], "And more")
    choose(people["staff"], "daily")

    assert send_reminders(now=MONDAY_0830) == 0
    assert send_recaps(now=MONDAY_0830 - timedelta(hours=1)) == 0  # 07:30: not yet
    assert send_recaps(now=MONDAY_0830) == 1
    assert send_recaps(now=MONDAY_0830 + timedelta(minutes=30)) == 0  # the same day: once

    [email] = outbox.messages("staff@example.test")
    text, html = parts(email)
    assert email["Subject"] == "Your daily recap: 3 unread messages in 2 conversations"
    assert email["X-Portal-Notification"] == "daily_recap"
    assert email["List-Unsubscribe"]
    for needle in ("First room", "Second room", "About the first", "And more", "2 unread"):
        assert needle in text and needle in html
    assert f"http://portal.test/app/rooms/{first.id}" in text

    assert send_recaps(now=MONDAY_0830 + timedelta(days=1)) == 1  # still unread next day
    assert kinds(outbox, "staff@example.test") == ["daily_recap", "daily_recap"]


def test_the_recap_waits_for_the_hour_in_the_readers_own_zone(people, outbox):
    room = room_with(people["staff"], people["client"])
    post(room, people["client"], "Konnichiwa")
    staff = user(people["staff"])
    staff.time_zone = "Asia/Tokyo"  # UTC+9: 08:30 UTC is 17:30 there
    db.session.commit()
    choose(people["staff"], "daily")
    assert send_recaps(now=MONDAY_0830) == 0
    assert send_recaps(now=MONDAY_0830 + timedelta(hours=15)) == 1  # 08:30 Tuesday in Tokyo


def test_a_weekly_recap_goes_out_on_mondays_only(people, outbox):
    room = room_with(people["staff"], people["client"])
    post(room, people["client"], "Weekly news")
    choose(people["staff"], "weekly")
    assert send_recaps(now=MONDAY_0830 + timedelta(days=1)) == 0  # Tuesday
    assert send_recaps(now=MONDAY_0830) == 1
    assert send_recaps(now=MONDAY_0830 + timedelta(hours=1)) == 0
    [email] = outbox.messages("staff@example.test")
    assert email["Subject"] == "Your weekly recap: 1 unread message in “Tax return 2024”"
    assert send_recaps(now=MONDAY_0830 + timedelta(days=7)) == 1


def test_nothing_unread_no_recap_and_emails_off_no_recap(people, outbox):
    room = room_with(people["staff"], people["client"])
    message = post(room, people["client"], "Read already")
    choose(people["staff"], "daily")
    mark_read(user(people["staff"]), room, message.id)
    assert send_recaps(now=MONDAY_0830) == 0
    post(room, people["client"], "Unread now")
    choose(people["staff"], "daily", email=False)
    assert send_recaps(now=MONDAY_0830) == 0
    assert outbox.messages("staff@example.test") == []


def test_the_cron_round_sends_recaps(people, outbox):
    room = room_with(people["staff"], people["client"])
    post(room, people["client"], "Through the round")
    choose(people["staff"], "daily")
    done = run_round(now=MONDAY_0830)
    assert done["recaps"] == 1 and done["reminders"] == 0
    assert run_round(now=MONDAY_0830 + timedelta(minutes=30))["recaps"] == 0


def test_mentions_only_rooms_send_mentions_but_no_reminders_or_recaps(people, outbox):
    quiet = room_with(people["staff"], people["client"], title="Quiet room")
    loud = room_with(people["staff"], people["client"], title="Loud room")
    post(quiet, people["staff"], "Staff wrote here once")  # clients may name a room's authors
    choose(people["staff"], mentions_only=[quiet.id])
    assert participant(people["staff"], quiet).mentions_only is True
    post(quiet, people["client"], "Nothing for staff here")
    post(loud, people["client"], "Hello all")
    assert send_reminders(now=MONDAY_0830) == 1
    [reminder] = outbox.messages("staff@example.test")
    text, _html = parts(reminder)
    assert "Loud room" in text and "Quiet room" not in text

    mention = post(quiet, people["client"], "@Staff please look")
    from portal.notify.mentions import send_mentions

    assert send_mentions(mention.id) == 1
    assert kinds(outbox, "staff@example.test") == ["reminder", "mention"]

    choose(people["staff"], "daily", mentions_only=[quiet.id])
    assert send_recaps(now=MONDAY_0830) == 1
    recap_text, _ = parts(outbox.messages("staff@example.test")[-1])
    assert "Quiet room" not in recap_text and "Loud room" in recap_text


def test_a_muted_room_sends_not_even_mentions(people, outbox):
    room = room_with(people["staff"], people["client"], title="Muted room")
    choose(people["staff"], muted=[room.id])
    mention = post(room, people["client"], "@Staff are you there")
    from portal.notify.mentions import send_mentions

    assert send_mentions(mention.id) == 0
    assert send_reminders(now=MONDAY_0830) == 0
    assert outbox.messages("staff@example.test") == []


def test_clients_keep_reminders_and_cannot_choose_recaps(people, outbox):
    room = room_with(people["staff"], people["client"])
    post(room, people["staff"], "For the client")
    choose(people["client"], "daily", mentions_only=[room.id])
    client = user(people["client"])
    assert client.recap is None
    assert participant(people["client"], room).mentions_only is False
    assert send_recaps(now=MONDAY_0830) == 0


def test_an_unknown_frequency_is_refused(people):
    with pytest.raises(ValueError):
        choose(people["staff"], "hourly")
