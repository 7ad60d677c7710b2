"""Reply by email end to end: the Procfile's web, worker and mail-in under honcho, real SMTP."""

import io
import os
import signal
import smtplib
import socket
import subprocess
import sys
import time
from unittest import mock

import pytest
from itsdangerous import TimestampSigner
from PIL import Image
from sqlalchemy import select

from portal.extensions import db
from portal.messaging.rooms import set_participants
from portal.models import Message, Room
from portal.notify.replies import reply_address
from tests.e2e.live_fixtures import HttpSession, RawStream
from tests.helpers import free_port, wait_for_http
from tests.notify_helpers import room_with, user
from tests.reply_helpers import reply
from tests.sse import of_type

pytestmark = pytest.mark.slow
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
MAX_UPLOAD_MB = 1  # mail-in takes at most 10 MB


@pytest.fixture(scope="module")
def stack(server_env, tmp_path_factory):
    """`honcho start web worker mail-in` with the Procfile, emails to a capturing aiosmtpd."""
    from aiosmtpd.controller import Controller

    from tests.conftest import SmtpSink

    sink = SmtpSink()
    outgoing = Controller(sink, hostname="127.0.0.1", port=free_port())
    outgoing.start()
    port, inbound_port = free_port(), free_port()
    env = {
        **server_env,
        "PATH": BIN + os.pathsep + os.environ.get("PATH", ""),
        "WEB_CONCURRENCY": "1",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(outgoing.port),
        "CLIENT_NOTIFY_DELAY_SECONDS": "1",
        "INBOUND_SMTP_PORT": str(inbound_port),
        "MAX_UPLOAD_MB": str(MAX_UPLOAD_MB),
    }
    log = open(tmp_path_factory.mktemp("honcho") / "honcho.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [os.path.join(BIN, "honcho"), "start", "--procfile", "Procfile", "--app-root", ROOT]
        + ["--port", str(port), "web", "worker", "mail-in"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", timeout=90, process=process)
        _wait_for_port(inbound_port, process)
        yield {"url": f"http://127.0.0.1:{port}", "smtp_port": inbound_port, "sink": sink}
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()
        outgoing.stop()


def _wait_for_port(port, process, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "honcho exited before mail-in listened"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("mail-in did not listen in time")


@pytest.fixture
def room_id(app, people):
    with app.app_context():
        room = room_with(people["staff"], people["client"])
        room_id = room.id
        db.session.remove()
    return room_id


def _send(stack, email, to=None, sender="client@example.test"):
    raw = email if isinstance(email, bytes) else bytes(email)
    with smtplib.SMTP("127.0.0.1", stack["smtp_port"], timeout=30) as smtp:
        smtp.sendmail(sender, [to or email["To"]], raw)


def _bodies(app, author_id):
    with app.app_context():
        found = list(db.session.scalars(select(Message).where(Message.author_id == author_id)))
        result = [(m.body, [a.filename for a in m.attachments]) for m in found]
        db.session.remove()
    return result


def _wait(condition, timeout=30.0, what="condition"):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_replying_to_a_real_notification_posts_text_and_file_live(stack, app, people, room_id):
    staff = HttpSession(stack["url"], "staff@example.test")
    staff.send(f"/app/rooms/{room_id}/messages", "Your tax return is ready to sign")
    sink = stack["sink"]
    _wait(lambda: sink.messages("client_notification"), what="the client notification email")
    [notification] = sink.messages("client_notification")
    address = notification["Reply-To"].addresses[0].addr_spec

    stream = RawStream(stack["url"], staff.cookie_header())
    try:
        stream.read_until(lambda events: ("comment", "connected") in events, timeout=10)
        email = reply(
            address,
            text="Signed and attached.\n\nBest,\nCleo\n\n"
            "On Thu, Nov 26, 2026 at 11:00, Portal wrote:\n> Your tax return is ready to sign\n",
        )
        png = io.BytesIO()
        Image.new("RGB", (20, 10), "blue").save(png, "PNG")
        email.add_attachment(png.getvalue(), "image", "png", filename="signature.png")
        _send(stack, email)
        events = stream.read_until(lambda ev: of_type(ev, "message"), timeout=15)
    finally:
        stream.close()

    [live] = of_type(events, "message")
    assert live["room_id"] == room_id and "Signed and attached." in live["html"]
    assert "ready to sign" not in live["html"]
    # The sign-off is the client's own text: kept (only the quote goes).
    signed = "Signed and attached.\n\nBest,\nCleo"
    assert _bodies(app, people["client"].id) == [(signed, ["signature.png"])]


def test_nothing_is_posted_for_a_bad_reply(stack, app, people, room_id):
    with app.app_context():
        address = reply_address(people["client"].id, room_id)
        old = int(time.time()) - app.config["REPLY_TOKEN_MAX_AGE_SECONDS"] - 60
        with mock.patch.object(TimestampSigner, "get_timestamp", return_value=old):
            expired = reply_address(people["client"].id, room_id)
    forged = address.replace("reply+", "reply+1-1-1.", 1)
    for to in (forged, "someone@portal.test", "someone@elsewhere.test"):
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            _send(stack, reply(to, text="Let me in"))
        assert refused.value.recipients[to][0] == 550
    # An expired address of ours is taken: nothing is posted, its person is told by email.
    _send(stack, reply(expired, text="Is this still read?"))
    sink = stack["sink"]
    _wait(lambda: sink.messages("reply_not_posted"), what="the answer about the expired address")
    [expired_answer] = sink.messages("reply_not_posted")
    text = expired_answer.get_body(preferencelist=("plain",)).get_content()
    assert "the address you replied to has expired" in text and "> Is this still read?" in text

    with pytest.raises(smtplib.SMTPDataError) as wrong_sender:
        _send(
            stack, reply(address, text="Forged", sender="mallory@example.test"), sender="m@x.test"
        )
    assert wrong_sender.value.smtp_code == 550

    big = reply(address, text="Huge")
    big.add_attachment(b"x" * (MAX_UPLOAD_MB * 10 * 1024 * 1024), "application", "zip")
    with pytest.raises((smtplib.SMTPSenderRefused, smtplib.SMTPDataError)) as too_big:
        _send(stack, big)
    assert too_big.value.smtp_code == 552

    _send(stack, reply(address, text="I am away", Auto_Submitted="auto-replied"))
    _send(
        stack, reply(address, text="Away until Monday", Subject="Out of Office: Re: your message")
    )
    assert _bodies(app, people["client"].id) == []

    twice = reply(address, text="Only once, please")
    _send(stack, twice)
    _send(stack, twice)
    assert _bodies(app, people["client"].id) == [("Only once, please", [])]

    with app.app_context():
        set_participants(db.session.get(Room, room_id), user(people["staff"]), [])
        db.session.remove()
    # Removed: accepted (250) and not posted; the client is told by an automatic answer.
    _send(stack, reply(address, text="Still here?"))
    _wait(lambda: len(sink.messages("reply_not_posted")) > 1, what="the automatic answer")
    [_expired, answer] = sink.messages("reply_not_posted")
    text = answer.get_body(preferencelist=("plain",)).get_content()
    assert "you are no longer a participant of this conversation" in text
    assert "> Still here?" in text
    assert _bodies(app, people["client"].id) == [("Only once, please", [])]


def test_the_real_process_takes_long_lines_and_refuses_bounces_and_deep_mime(
    stack, app, people, room_id
):
    with app.app_context():
        address = reply_address(people["client"].id, room_id)
    long_line = ("Outlook writes a whole paragraph on one line. " * 200).strip()
    raw = (
        f"From: client@example.test\r\nTo: {address}\r\nSubject: Re: long\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Transfer-Encoding: 8bit\r\n\r\n{long_line}\r\n"
    ).encode()
    assert len(long_line) > 9_000
    _send(stack, raw, to=address)
    assert _bodies(app, people["client"].id) == [(long_line, [])]

    # MAIL FROM:<> (a bounce) with the participant's From: accepted, never posted.
    _send(stack, reply(address, text="Undeliverable: your message"), sender="<>")
    assert len(_bodies(app, people["client"].id)) == 1

    deep = "".join(
        f"--b{i}\r\nContent-Type: multipart/mixed; boundary=b{i + 1}\r\n\r\n" for i in range(2000)
    )
    raw = (
        f"From: client@example.test\r\nTo: {address}\r\nSubject: deep\r\nMIME-Version: 1.0\r\n"
        f"Content-Type: multipart/mixed; boundary=b0\r\n\r\n{deep}--b2000\r\n\r\nhi\r\n"
    ).encode()
    with pytest.raises(smtplib.SMTPDataError) as refused:
        _send(stack, raw, to=address)
    assert refused.value.smtp_code == 550
    assert len(_bodies(app, people["client"].id)) == 1
