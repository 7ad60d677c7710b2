"""A Redis restart between a send and its delay: the minute sweep queues the lost client
email again, and between the sweep and the normal path it goes out exactly once."""

import threading

import pytest
from rq.cron import CronScheduler

from jobs import notifications as notification_jobs
from jobs.rounds import sweep_client_emails
from portal.extensions import db
from portal.infra.queues import get_queue, get_redis
from portal.messaging.reading import mark_read
from portal.notify import client_emails
from portal.notify.client_emails import sweep_overdue
from tests.notify_helpers import after_delay, kinds, post, room_with, user

pytestmark = pytest.mark.usefixtures("app_ctx")


def queued_for(user_id):
    """The client-email jobs waiting in the queue (to run at once) for `user_id`."""
    return [
        job
        for job in get_queue().get_jobs()
        if job.func_name == client_emails.JOB and job.args == (user_id,)
    ]


def run_queued(user_id, now):
    """What the worker does with those jobs, at the injected time `now`."""
    for job in queued_for(user_id):
        notification_jobs.notify_client(*job.args, now=now)
        job.delete()


def test_a_redis_restart_during_the_delay_still_sends_one_email(people, outbox):
    client = people["client"].id
    room = room_with(people["staff"], people["client"])
    post(room, people["staff"], "Please sign the engagement letter")
    get_redis().flushdb()  # Redis restarted without persistence: the delayed job is gone

    assert sweep_overdue(after_delay(-30)) == []  # not due yet: nothing to catch up
    assert sweep_overdue(after_delay()) == [client]
    assert sweep_overdue(after_delay(30)) == []  # queued once, however often it sweeps
    assert len(queued_for(client)) == 1

    run_queued(client, after_delay(40))
    assert sweep_overdue(after_delay(120)) == []
    assert kinds(outbox, "client@example.test") == ["client_notification"]
    [email] = outbox.messages("client@example.test")
    assert "Please sign the engagement letter" in email.get_body(("plain",)).get_content()


def test_the_sweep_leaves_a_pending_job_alone(people, outbox):
    client = people["client"].id
    room = room_with(people["staff"], people["client"])
    post(room, people["staff"], "Scheduled as usual")

    # The scheduler is late (a busy worker): the job is still pending, the sweep waits.
    assert sweep_overdue(after_delay(30)) == []
    assert queued_for(client) == []
    notification_jobs.notify_client(client, now=after_delay(31))
    assert sweep_overdue(after_delay(90)) == []
    assert kinds(outbox) == ["client_notification"]


def test_the_sweep_and_the_normal_job_running_together_send_once(app, people, outbox):
    client = people["client"].id
    room = room_with(people["staff"], people["client"])
    post(room, people["staff"], "Exactly once")
    now = after_delay()
    # The normal job has started (it drops its marker first) but not recorded anything yet:
    get_redis().delete(client_emails._pending_key(client))
    assert sweep_overdue(now) == [client]

    barrier = threading.Barrier(2)

    def run():
        with app.app_context():
            barrier.wait()
            notification_jobs.notify_client(client, now=now)
            db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert kinds(outbox) == ["client_notification"]


def test_nothing_is_queued_for_what_was_read_or_whom_we_may_not_email(people, outbox):
    room = room_with(people["staff"], people["client"], people["invited"], people["staff_all"])
    post(room, people["staff"], "Read in time")
    get_redis().flushdb()
    mark_read(user(people["client"]), room)

    # Read, invited (no portal account yet), internal: none of them gets a client email.
    assert sweep_overdue(after_delay()) == []
    assert outbox.messages() == []


def test_a_client_emailed_already_is_not_emailed_again(people, outbox):
    client = people["client"].id
    room = room_with(people["staff"], people["client"])
    post(room, people["staff"], "First")
    notification_jobs.notify_client(client, now=after_delay())
    get_redis().flushdb()

    assert sweep_overdue(after_delay(300)) == []
    assert kinds(outbox) == ["client_notification"]


def test_the_cron_job_sweeps_and_says_how_many_it_queued(people):
    room = room_with(people["staff"], people["client"])
    post(room, people["staff"], "Lost")
    get_redis().flushdb()
    assert sweep_client_emails(now=after_delay()) == 1
    assert sweep_client_emails(now=after_delay()) == 0


def test_rq_cron_runs_the_sweep_every_minute_beside_the_round(app):
    scheduler = CronScheduler(connection=get_redis())
    scheduler.load_config_from_file("jobs.cron")
    intervals = {job.func_name: job.interval for job in scheduler.get_jobs()}
    assert intervals == {
        "jobs.rounds.run_round": app.config["REMINDER_INTERVAL_SECONDS"],
        "jobs.rounds.sweep_client_emails": 60,
        "jobs.retention.purge_audit": None,  # daily, by a cron expression
    }


def test_jobs_queued_before_digests_still_run(people, outbox):
    """Jobs queued by an older release carry (user id, room id)."""
    room = room_with(people["staff"], people["client"])
    post(room, people["staff"], "From an old job")
    notification_jobs.notify_client(people["client"].id, room.id, now=after_delay())
    assert kinds(outbox) == ["client_notification"]
