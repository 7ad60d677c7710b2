"""End to end: a real `rq worker --with-scheduler` and `rq cron` send the emails once."""

import contextlib
import os
import signal
import subprocess
import sys
import time

import pytest

from portal.extensions import db
from portal.models import NotificationLog
from tests.helpers import alive, descendants
from tests.notify_helpers import post, room_with

pytestmark = pytest.mark.slow
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RQ = os.path.join(os.path.dirname(sys.executable), "rq")
DELAY = 3


@pytest.fixture
def jobs_env(app, server_env, smtp_server, monkeypatch):
    """Short delays in the workers and in this process (which schedules the jobs)."""
    monkeypatch.setitem(app.config, "CLIENT_NOTIFY_DELAY_SECONDS", DELAY)
    return {
        **server_env,
        "CLIENT_NOTIFY_DELAY_SECONDS": str(DELAY),
        "REMINDER_INTERVAL_SECONDS": "2",
        "NOTIFY_RETRY_AFTER_SECONDS": "2",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(smtp_server.port),
        "PORTAL_BASE_URL": app.config["PORTAL_BASE_URL"],
    }


@pytest.fixture
def processes(tmp_path, jobs_env):
    """Start rq processes in their own process groups; all are killed at the end."""
    started = []

    def start(*args):
        log = open(tmp_path / f"{args[0]}-{len(started)}.log", "wb")  # noqa: SIM115
        process = subprocess.Popen(
            [RQ, *args, "--url", jobs_env["REDIS_URL"]],
            cwd=ROOT,
            env=jobs_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        started.append((process, log))
        return process

    yield start
    for process, log in started:
        kill_tree(process)
        log.close()


def kill_tree(process):
    """SIGKILL a process and everything below it (rq's work horses start their own session)."""
    for pid in [process.pid, *descendants(process.pid)]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    process.wait(10)


def start_worker(processes, app):
    name = f"worker-{time.time_ns()}"
    return processes(
        "worker",
        "--with-scheduler",
        "--worker-class",
        "jobs.worker.Worker",
        "--name",
        name,
        app.config["RQ_QUEUE"],
    )


def wait_for(condition, timeout=60.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def post_to_client(app, people):
    with app.app_context():
        room = room_with(people["staff"], people["client"])
        posted_at = time.time()
        post(room, people["staff"], "Your tax return is ready to sign")
        room_id = room.id
        db.session.remove()
    return room_id, posted_at


def test_one_email_arrives_after_the_delay_and_not_before(app, people, processes, smtp_server):
    sink = smtp_server.sink
    start_worker(processes, app)
    room_id, posted_at = post_to_client(app, people)

    wait_for(lambda: sink.received, what="the client email")
    arrived, envelope, email = sink.received[0]
    assert DELAY - 0.5 <= arrived - posted_at < DELAY + 30
    assert envelope.rcpt_tos == ["client@example.test"]
    assert email["X-Portal-Notification"] == "client_notification"
    body = email.get_body(preferencelist=("plain",)).get_content()
    assert "Your tax return is ready to sign" in body
    assert f"http://portal.test/portal/rooms/{room_id}" in body
    time.sleep(DELAY + 2)  # long enough for any duplicate to show up
    assert len(sink.received) == 1


def test_a_worker_killed_mid_send_still_sends_exactly_one_email(
    app, people, processes, smtp_server
):
    sink = smtp_server.sink
    sink.hold = lambda m: m["X-Portal-Notification"] == "client_notification"
    worker = start_worker(processes, app)
    processes("cron", "jobs.cron")
    post_to_client(app, people)

    # The worker is inside the SMTP conversation: kill it and its work horse outright.
    wait_for(sink.held.is_set, what="the worker to start sending")
    horses = descendants(worker.pid)
    assert horses, "the job should run in a forked work horse"
    kill_tree(worker)
    wait_for(lambda: not any(alive(pid) for pid in horses), what="the work horse to die")
    sink.release.set()
    start_worker(processes, app)

    notifications = lambda: sink.messages("client_notification")  # noqa: E731
    wait_for(notifications, timeout=90, what="the re-sent client email")
    time.sleep(6)  # a few more cron rounds: nothing is sent twice
    assert len(notifications()) == 1
    assert len(sink.messages("reminder")) <= 1
    with app.app_context():
        row = db.session.scalar(
            db.select(NotificationLog).where(NotificationLog.kind == "client_notification")
        )
        # Two attempts: the one killed mid-send, then the re-send.
        assert (row.status, row.attempts) == ("sent", 2)
