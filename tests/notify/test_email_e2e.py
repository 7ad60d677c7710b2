"""End to end: real `rq worker` and `rq cron`, aiosmtpd and gunicorn, for the email rules."""

import re
import time
import urllib.request
from datetime import timedelta

import pytest
from sqlalchemy import update

from portal.extensions import db
from portal.models import Message, Participant, ReadState, User
from portal.models.base import utcnow
from tests.e2e.live_fixtures import GunicornServer
from tests.notify.test_jobs_e2e import kill_tree, wait_for
from tests.notify_helpers import post, room_with

pytestmark = pytest.mark.slow
DELAY = 3


@pytest.fixture
def email_env(app, server_env, smtp_server, monkeypatch):
    """Short client delay; one reminder round only (when `rq cron` starts)."""
    monkeypatch.setitem(app.config, "CLIENT_NOTIFY_DELAY_SECONDS", DELAY)
    return {
        **server_env,
        "CLIENT_NOTIFY_DELAY_SECONDS": str(DELAY),
        "CLIENT_DIGEST_WINDOW_SECONDS": "2",
        "REMINDER_INTERVAL_SECONDS": "3600",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(smtp_server.port),
    }


@pytest.fixture
def rq(tmp_path, email_env, app):
    """Start `rq worker` or `rq cron` in their own process groups; killed at the end."""
    import os
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    command = os.path.join(os.path.dirname(sys.executable), "rq")
    started = []

    def start(kind):
        args = ["cron", "jobs.cron"]
        if kind == "worker":
            args = ["worker", "--with-scheduler", "--worker-class", "jobs.worker.Worker"]
            args += ["--name", f"email-{time.time_ns()}", app.config["RQ_QUEUE"]]
        log = open(tmp_path / f"{kind}-{len(started)}.log", "wb")  # noqa: SIM115
        process = subprocess.Popen(
            [command, *args, "--url", email_env["REDIS_URL"]],
            cwd=root,
            env=email_env,
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


def raw(sink, index):
    """The bytes of the index-th email as the SMTP server received them."""
    return sink.received[index][1].content


def text_of(sink, index):
    return sink.received[index][2].get_body(preferencelist=("plain",)).get_content()


def test_a_burst_is_one_digest_then_one_email_per_room_per_window(app, people, rq, smtp_server):
    sink = smtp_server.sink
    rq("worker")
    rq("cron")
    with app.app_context():
        taxes = room_with(people["staff"], people["client"], title="Taxes")
        payroll = room_with(people["staff"], people["client"], title="Payroll")
        for n in range(1, 7):
            post(taxes, people["staff"], f"Taxes burst {n}")
            if n % 2:
                post(payroll, people["staff"], f"Payroll burst {n}")
        taxes_id = taxes.id
        db.session.remove()

    wait_for(lambda: sink.received, what="the digest")
    time.sleep(DELAY + 2)  # any second email about this burst would show up by now
    assert len(sink.received) == 1
    assert sink.received[0][2]["Subject"] == "9 new messages in 2 conversations"
    digest = text_of(sink, 0)
    for n in range(1, 7):
        assert f"Taxes burst {n}" in digest
    for n in (1, 3, 5):
        assert f"Payroll burst {n}" in digest

    with app.app_context():
        taxes = db.session.get(type(taxes), taxes_id)
        for n in range(1, 4):
            post(taxes, people["staff"], f"Taxes later {n}")
        db.session.remove()
    wait_for(lambda: len(sink.received) == 2, what="the next window's email")
    time.sleep(DELAY + 2)
    assert len(sink.received) == 2
    later = text_of(sink, 1)
    assert all(f"Taxes later {n}" in later for n in range(1, 4))
    assert "Taxes burst" not in later and "Payroll" not in later
    # Threaded on the wire under the email that was really sent about the room: the digest.
    thread = str(sink.received[0][2]["Message-ID"]).encode()
    assert b"\r\nReferences: " + thread + b"\r\n" in raw(sink, 1)
    assert b"\r\nIn-Reply-To: " + thread + b"\r\n" in raw(sink, 1)
    assert b"\r\nIn-Reply-To: " not in raw(sink, 0)


def backdate(room, hours):
    """The room's memberships and messages happened `hours` ago."""
    earlier = utcnow() - timedelta(hours=hours)
    db.session.execute(
        update(Participant).where(Participant.room_id == room.id).values(added_at=earlier)
    )
    db.session.execute(update(Message).where(Message.room_id == room.id).values(created_at=earlier))
    db.session.commit()
    return earlier


def test_a_reminder_after_an_email_in_the_same_interval_omits_what_it_covered(
    app, people, rq, smtp_server
):
    sink = smtp_server.sink
    with app.app_context():
        # Emailed two hours ago (an earlier interval) and still unread.
        old = room_with(people["staff"], people["client"], title="Old matter")
        message = post(old, people["staff"], "Emailed two hours ago")
        earlier = backdate(old, 2)
        db.session.add(
            ReadState(
                user_id=people["client"].id,
                room_id=old.id,
                last_read_message_id=0,
                notified_through_message_id=message.id,
                reminded_through_message_id=0,
                notified_at=earlier,
            )
        )
        db.session.commit()
        new = room_with(people["staff"], people["client"], title="New matter")
        post(new, people["staff"], "Emailed a moment ago")
        db.session.remove()
    rq("worker")
    wait_for(lambda: sink.messages("client_notification"), what="the client email")
    assert "Emailed a moment ago" in text_of(sink, 0)

    time.sleep(DELAY + 0.5)  # no reminder within a delay of a client email
    rq("cron")  # its first round runs at once, still within the email's interval
    wait_for(lambda: sink.messages("reminder"), what="the reminder")
    time.sleep(2)
    [reminder] = sink.messages("reminder")
    text = reminder.get_body(preferencelist=("plain",)).get_content()
    assert "Emailed two hours ago" in text
    assert "Emailed a moment ago" not in text and "New matter" not in text
    assert len(sink.received) == 2


def test_raw_headers_carry_the_unsubscribe_url_and_one_click_post_works(
    app, people, rq, smtp_server, server_env, tmp_path
):
    sink = smtp_server.sink
    rq("worker")
    with app.app_context():
        room = room_with(people["staff"], people["client"])
        post(room, people["staff"], "Unsubscribe from the mail client")
        db.session.remove()
    wait_for(lambda: sink.received, what="the client email")

    headers = raw(sink, 0).split(b"\r\n\r\n", 1)[0]
    found = re.search(
        rb"\r\nList-Unsubscribe: <(http://portal\.test/unsubscribe/[\w.\-]+)>\r\n", headers
    )
    assert found, headers
    assert b"\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in headers
    assert b"\r\nAuto-Submitted: auto-generated\r\n" in headers
    assert re.search(rb"\r\nMessage-ID: <client_notification\.\d+\.\d+@portal\.test>\r\n", headers)

    server = GunicornServer(server_env, log_path=tmp_path / "web.log")
    server.start()
    try:
        # What a mail provider sends (RFC 8058): a POST, no cookie, no CSRF token.
        url = found.group(1).decode().replace("http://portal.test", server.url)
        request = urllib.request.Request(
            url,
            data=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
    finally:
        server.stop()
    with app.app_context():
        assert db.session.get(User, people["client"].id).email_notifications is False
