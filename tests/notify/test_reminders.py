"""Reminders: every interval, one email per user about unread messages not yet reminded."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from jobs.rounds import run_round
from portal.extensions import db
from portal.messaging.reading import mark_read
from portal.messaging.rooms import set_participants
from portal.models import NotificationLog, Participant
from portal.notify.client_emails import notify_client
from portal.notify.reminders import send_reminders
from tests.notify_helpers import after_delay, kinds, parts, post, room_with, user

pytestmark = pytest.mark.usefixtures("app_ctx")
INTERVAL = timedelta(seconds=1800)


def test_internal_participants_get_one_reminder_grouped_by_room(people, outbox):
    first = room_with(people["staff"], people["client"], title="First room")
    second = room_with(people["staff"], people["client"], title="Second room")
    post(first, people["client"], "About the first")
    post(second, people["client"], "About the second")
    post(second, people["client"], "And more")

    assert send_reminders(now=after_delay()) == 1

    [email] = outbox.messages("staff@example.test")
    text, html = parts(email)
    assert email["Subject"] == "Reminder: 3 unread messages in 2 conversations"
    for needle in ("First room", "Second room", "About the first", "And more"):
        assert needle in text and needle in html
    assert f"http://portal.test/app/rooms/{first.id}" in text
    assert f'href="http://portal.test/app/rooms/{second.id}"' in html
    # staff_all can see every room but is no participant: no reminder.
    assert outbox.messages("staff_all@example.test") == []


def test_nobody_is_reminded_twice_about_the_same_messages(people, outbox):
    room = room_with(people["staff"], people["client"])
    post(room, people["client"], "Old news")
    now = after_delay()

    assert send_reminders(now=now) == 1
    assert send_reminders(now=now) == 0
    assert send_reminders(now=now + INTERVAL) == 0
    post(room, people["client"], "Fresh news")
    assert send_reminders(now=after_delay() + INTERVAL) == 1

    first, second = outbox.messages("staff@example.test")
    assert "Old news" in parts(first)[0]
    assert "Fresh news" in parts(second)[0] and "Old news" not in parts(second)[0]


def test_at_most_one_reminder_per_interval_window(people, outbox):
    room = room_with(people["staff"], people["client"])
    post(room, people["client"], "One")
    seconds = after_delay().timestamp()
    window_start = after_delay() + timedelta(seconds=1800 - seconds % 1800)
    assert send_reminders(now=window_start + timedelta(seconds=1)) == 1
    post(room, people["client"], "Two")

    # Later in the same window (the key names user + window): nothing more.
    assert send_reminders(now=window_start + timedelta(seconds=1700)) == 0
    assert send_reminders(now=window_start + INTERVAL) == 1
    assert len(outbox.messages("staff@example.test")) == 2


def test_messages_younger_than_the_delay_wait_for_a_later_round(people, outbox):
    room = room_with(people["staff"], people["client"])
    post(room, people["client"], "Just now")

    assert send_reminders(now=after_delay(-120)) == 0
    assert send_reminders(now=after_delay()) == 1


def test_read_messages_are_not_reminded(people, outbox):
    room = room_with(people["staff"], people["client"])
    post(room, people["client"], "Seen it")
    mark_read(user(people["staff"]), room)

    assert send_reminders(now=after_delay()) == 0


@pytest.mark.parametrize("change", ["muted", "email_off", "deactivated", "removed"])
def test_muted_opted_out_deactivated_or_removed_get_no_reminder(people, outbox, change):
    room = room_with(people["staff"], people["client"], people["staff_all"])
    post(room, people["client"], "Anyone?")
    target = user(people["staff_all"])
    if change == "muted":
        db.session.execute(
            Participant.__table__.update()
            .where(Participant.user_id == target.id)
            .values(muted=True)
        )
    elif change == "email_off":
        target.email_notifications = False
    elif change == "deactivated":
        target.active = False
    elif change == "removed":
        set_participants(room, user(people["staff"]), [people["client"].id])
    db.session.commit()

    send_reminders(now=after_delay())
    assert outbox.messages("staff_all@example.test") == []
    assert len(outbox.messages("staff@example.test")) == 1


def test_invited_clients_get_no_reminder(people, outbox):
    room = room_with(people["staff"], people["invited"])
    post(room, people["staff"], "Welcome aboard")

    assert send_reminders(now=after_delay()) == 0


def test_clients_get_the_client_email_first_then_one_reminder(people, outbox):
    room = room_with(people["staff"], people["client"])
    post(room, people["staff"], "Please call me")
    now = after_delay()
    notify_client(people["client"].id, now=now)

    # Right after the 10-minute email: no reminder in the same breath.
    assert send_reminders(now=now) == 0
    assert send_reminders(now=now + INTERVAL) == 1
    assert send_reminders(now=now + 2 * INTERVAL) == 0
    assert kinds(outbox, "client@example.test") == ["client_notification", "reminder"]
    reminder = outbox.messages("client@example.test")[-1]
    assert f"http://portal.test/portal/rooms/{room.id}" in parts(reminder)[0]


def test_the_round_run_twice_sends_one_reminder(people, outbox):
    room = room_with(people["staff"], people["client"])
    post(room, people["client"], "Twice?")
    now = after_delay()

    run_round(now=now)
    run_round(now=now)
    assert kinds(outbox, "staff@example.test") == ["reminder"]
    keys = db.session.scalars(select(NotificationLog.key)).all()
    assert any(key.startswith(f"reminder:{people['staff'].id}:1800s:") for key in keys)
