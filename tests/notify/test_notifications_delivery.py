"""Never twice, never lost: pending rows, retries, the sweep and lost jobs."""

import logging
import smtplib
from datetime import timedelta

import pytest
from sqlalchemy import select

import portal.notify.log as notify_log
from jobs.rounds import run_round
from portal.extensions import db
from portal.infra.queues import get_redis
from portal.models import NotificationLog
from portal.notify.client_emails import notify_client
from portal.notify.log import DeliveryError, deliver, retry_stale
from tests.notify_helpers import after_delay, kinds, post, room_with

pytestmark = pytest.mark.usefixtures("app_ctx")
RETRY_AFTER = timedelta(seconds=300)


def only_row():
    [row] = db.session.scalars(select(NotificationLog)).all()
    return row


def crash_before_send(monkeypatch, people, room, now):
    """Run the job as if the process died after its commit, before the SMTP send."""
    with monkeypatch.context() as patch:
        patch.setattr("portal.notify.client_emails.deliver", lambda row: None)
        notify_client(people["client"].id, now=now)
    assert only_row().status == "pending"


def test_after_a_crash_the_rerun_job_sends_the_pending_email_once(people, outbox, monkeypatch):
    room = room_with(people["staff"], people["client"])
    post(room, people["staff"], "Do not lose me")
    now = after_delay()
    crash_before_send(monkeypatch, people, room, now)
    assert outbox.messages() == []

    notify_client(people["client"].id, now=now)
    notify_client(people["client"].id, now=now)
    assert kinds(outbox) == ["client_notification"]
    assert (only_row().status, only_row().attempts) == ("sent", 1)


def test_the_sweep_re_sends_stale_pending_rows_unless_leased(people, outbox, monkeypatch):
    room = room_with(people["staff"], people["client"])
    post(room, people["staff"], "Do not lose me")
    now = after_delay()
    crash_before_send(monkeypatch, people, room, now)
    lease = f"portal:notify-lease:{only_row().id}"

    assert retry_stale(now=now + RETRY_AFTER - timedelta(seconds=5)) == 0
    get_redis().set(lease, "1")  # another process is sending it right now
    assert retry_stale(now=now + RETRY_AFTER) == 0
    get_redis().delete(lease)
    assert retry_stale(now=now + RETRY_AFTER) == 1
    assert retry_stale(now=now + RETRY_AFTER) == 0
    assert kinds(outbox) == ["client_notification"]


def test_a_pending_row_is_sent_once_by_the_sweep(people, outbox, monkeypatch):
    room = room_with(people["staff"], people["client"])
    post(room, people["staff"], "Crash test")
    now = after_delay()
    crash_before_send(monkeypatch, people, room, now)

    run_round(now=now + RETRY_AFTER)
    run_round(now=now + RETRY_AFTER)
    assert kinds(outbox, "client@example.test") == ["client_notification"]
    row = only_row()
    assert (row.status, row.attempts) == ("sent", 1)


def test_smtp_failures_are_retried_then_fail_loudly(people, outbox, monkeypatch, caplog):
    room = room_with(people["staff"], people["client"])
    post(room, people["staff"], "Flaky mail server")
    now = after_delay()

    def refuse(**_email):
        raise smtplib.SMTPServerDisconnected("connection lost")

    monkeypatch.setattr(notify_log, "send_email", refuse)
    monkeypatch.setattr(notify_log.log, "disabled", False)
    with pytest.raises(DeliveryError):
        notify_client(people["client"].id, now=now)
    row = only_row()
    assert (row.status, row.attempts) == ("pending", 1)
    assert "connection lost" in row.error

    # RQ's Retry runs the job again: it retries the pending row.
    with pytest.raises(DeliveryError):
        notify_client(people["client"].id, now=now)
    with caplog.at_level(logging.ERROR, logger="portal.notify.log"):
        for _ in range(3):
            with pytest.raises(DeliveryError):
                deliver(only_row())
    row = only_row()
    assert (row.status, row.attempts) == ("failed", 5)
    assert "giving up" in caplog.text
    assert deliver(row) is False
    assert outbox.messages() == []


def test_an_smtp_failure_then_success_sends_once(people, outbox, monkeypatch):
    room = room_with(people["staff"], people["client"])
    post(room, people["staff"], "Second time lucky")
    now = after_delay()
    real_send = notify_log.send_email
    monkeypatch.setattr(notify_log, "send_email", lambda **e: (_ for _ in ()).throw(OSError()))
    with pytest.raises(DeliveryError):
        notify_client(people["client"].id, now=now)
    monkeypatch.setattr(notify_log, "send_email", real_send)

    notify_client(people["client"].id, now=now)
    notify_client(people["client"].id, now=now)
    assert len(outbox.messages()) == 1
    row = only_row()
    assert (row.status, row.attempts, row.error) == ("sent", 2, None)


def test_a_lost_job_is_caught_up_by_the_periodic_round(people, outbox):
    """The round sends a due client email itself, before its reminders: never a reminder
    in place of the client email."""
    room = room_with(people["staff"], people["client"])
    post(room, people["staff"], "Lost in Redis")
    get_redis().flushdb()  # the scheduled job is gone

    run_round(now=after_delay())
    run_round(now=after_delay())
    assert kinds(outbox, "client@example.test") == ["client_notification"]


def test_a_resend_skips_what_was_read_meanwhile(people, outbox, monkeypatch):
    from portal.messaging.reading import mark_read
    from tests.notify_helpers import user

    room = room_with(people["staff"], people["client"])
    post(room, people["staff"], "Read in time")
    now = after_delay()
    crash_before_send(monkeypatch, people, room, now)
    mark_read(user(people["client"]), room)

    assert retry_stale(now=now + RETRY_AFTER) == 0
    assert only_row().status == "skipped"
    assert outbox.messages() == []
