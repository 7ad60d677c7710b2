"""The mail-in SMTP server in process: what it answers at RCPT and DATA."""

import smtplib

import pytest

from portal.messaging.reading import unread_counts
from portal.notify import inbound
from portal.notify.replies import reply_address
from portal.runtime.mail_in import controller
from tests.helpers import free_port
from tests.notify_helpers import post, room_with, user
from tests.reply_helpers import reply


@pytest.fixture
def server(app):
    running = controller(app, host="127.0.0.1", port=free_port())
    running.start()
    yield running
    running.stop()


@pytest.fixture
def address(app, people):
    with app.app_context():
        room = room_with(people["staff"], people["client"])
        post(room, people["staff"], "Your tax return is ready to sign")
        return reply_address(people["client"].id, room.id), room.id


def send(server, email, sender="client@example.test"):
    with smtplib.SMTP(server.hostname, server.port, timeout=10) as smtp:
        return smtp.sendmail(sender, [email["To"]], bytes(email))


def test_a_reply_is_accepted_and_counts_as_unread_for_the_others(app, people, server, address):
    to, room_id = address
    assert send(server, reply(to)) == {}
    with app.app_context():
        assert unread_counts(user(people["staff"]), [room_id]) == {room_id: 1}


def test_only_reply_addresses_of_the_reply_domain_are_accepted(server, address):
    to, _room_id = address
    with smtplib.SMTP(server.hostname, server.port, timeout=10) as smtp:
        smtp.ehlo()
        smtp.mail("client@example.test")
        assert smtp.rcpt("postmaster@portal.test")[0] == 550
        assert smtp.rcpt(to.replace("@portal.test", "@elsewhere.test"))[0] == 550
        assert smtp.rcpt(to[:-20] + "x" + to[-19:])[0] == 550
        assert smtp.rcpt(to)[0] == 250


def test_a_database_failure_asks_the_sender_to_retry(server, address, monkeypatch):
    def broken(*args):
        raise RuntimeError("database unreachable")

    monkeypatch.setattr(inbound, "receive", broken)
    with pytest.raises(smtplib.SMTPDataError) as error:
        send(server, reply(address[0]))
    assert error.value.smtp_code == 451


def test_mail_over_the_size_limit_is_552(app, people, address, monkeypatch):
    monkeypatch.setitem(app.config, "INBOUND_MAX_BYTES", 2000)
    small = controller(app, host="127.0.0.1", port=free_port())
    small.start()
    try:
        with pytest.raises((smtplib.SMTPSenderRefused, smtplib.SMTPDataError)) as error:
            send(small, reply(address[0], text="x" * 3000))
        assert error.value.smtp_code == 552
    finally:
        small.stop()
