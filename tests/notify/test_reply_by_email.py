"""Reply by email, in process: the Reply-To address, what is posted and what is refused."""

import io
import logging
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select, update

from portal.extensions import db
from portal.messaging.rooms import archive_room, set_participants
from portal.models import InboundEmail, Message, Participant, User
from portal.models.base import utcnow
from portal.notify import inbound
from portal.notify.client_emails import notify_client
from portal.notify.replies import reply_address
from tests.conftest import Outbox
from tests.notify_helpers import after_delay, post, room_with, user
from tests.reply_helpers import reply

pytestmark = pytest.mark.usefixtures("app_ctx")


@pytest.fixture
def room(people):
    room = room_with(people["staff"], people["client"])
    post(room, people["staff"], "Your tax return is ready to sign")
    return room


def posted_by(person):
    return list(db.session.scalars(select(Message).where(Message.author_id == person.id)))


def receive(email, sender="client@example.test", to=None):
    return inbound.receive(bytes(email), sender, [to] if to else None)


def test_client_email_carries_a_reply_to_address_that_posts_the_stripped_reply(
    people, room, outbox
):
    notify_client(people["client"].id, now=after_delay())
    [notification] = outbox.messages("client@example.test")
    address = notification["Reply-To"].addresses[0].addr_spec
    assert address.startswith("reply+") and address.endswith("@portal.test")
    assert len(address.split("@")[0]) <= 64

    [outcome] = receive(reply(address))

    assert outcome.status == inbound.POSTED
    [message] = posted_by(people["client"])
    assert message.body == "Signed, thanks!"
    assert message.room_id == room.id


def test_signature_is_stripped_and_html_only_mail_becomes_text(people, room):
    address = reply_address(people["client"].id, room.id)
    email = reply(address)
    email.set_content(
        "<div><p>Here is the <b>signed</b> form.</p><p>Best,<br>Cleo</p></div>"
        '<div class="gmail_quote">On Thu, Nov 26, 2026 at 11:00 AM Sam wrote:<br>'
        "<blockquote>Your tax return is ready</blockquote></div>",
        subtype="html",
    )
    receive(email)
    [message] = posted_by(people["client"])
    assert message.body.startswith("Here is the signed form.")
    assert "<" not in message.body and "ready" not in message.body


def test_attachments_go_through_the_upload_rules(people, room, app):
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "red").save(buffer, "PNG")
    email = reply(reply_address(people["client"].id, room.id), text="The scan")
    email.add_attachment(buffer.getvalue(), "image", "png", filename="scan.png")
    email.add_attachment(b"%PDF-1.4 a form", "application", "pdf", filename="../form.pdf")

    receive(email)

    [message] = posted_by(people["client"])
    image, pdf = message.attachments
    assert (image.filename, image.is_image, image.width) == ("scan.png", True, 40)
    assert (pdf.filename, pdf.is_image, pdf.content_type) == ("form.pdf", False, "application/pdf")


def test_an_attachment_over_the_limit_posts_nothing(people, room, app, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_UPLOAD_MB", 1)
    email = reply(reply_address(people["client"].id, room.id), text="Big file")
    email.add_attachment(b"x" * (1024 * 1024 + 1), "application", "zip", filename="big.zip")

    [outcome] = receive(email)

    # Not posted, and the client is told so by email (accepted: SMTP 250, HTTP 200).
    assert outcome.status == inbound.ANSWERED and "larger than 1 MB" in outcome.reason
    assert posted_by(people["client"]) == []
    assert db.session.scalar(select(func.count(InboundEmail.id))) == 0


def test_the_same_message_id_posts_once(people, room):
    email = reply(reply_address(people["client"].id, room.id))
    assert [o.status for o in receive(email)] == [inbound.POSTED]
    assert [o.status for o in receive(email)] == [inbound.DUPLICATE]
    assert len(posted_by(people["client"])) == 1


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto-Submitted": "auto-replied"},
        {"Precedence": "bulk"},
        {"Precedence": "junk"},
        {"X-Autoreply": "yes"},
        {"Subject": "Out of Office: back on Monday"},
        {"Subject": "Automatic reply: Re: New message"},
    ],
)
def test_auto_replies_are_ignored(people, room, headers):
    email = reply(reply_address(people["client"].id, room.id))
    for name, value in headers.items():
        del email[name]
        email[name] = value
    [outcome] = receive(email)
    assert outcome.status == inbound.IGNORED
    assert posted_by(people["client"]) == []


def test_a_bounce_with_an_empty_envelope_sender_is_ignored(people, room):
    [outcome] = receive(reply(reply_address(people["client"].id, room.id)), sender="")
    assert outcome.status == inbound.IGNORED


def test_wrong_sender_is_refused_with_a_bounce_log_line(people, room, caplog):
    address = reply_address(people["client"].id, room.id)
    email = reply(address, sender="mallory@example.test")
    with caplog.at_level(logging.WARNING, logger="portal.mail_in"):
        [outcome] = receive(email, sender="mallory@example.test")
    assert outcome.status == inbound.REFUSED
    assert "bounced mail from <mallory@example.test>" in caplog.text
    assert "550 5.7.1" in caplog.text
    assert posted_by(people["client"]) == []


def test_sender_match_ignores_case_and_accepts_the_envelope_sender(people, room):
    address = reply_address(people["client"].id, room.id)
    email = reply(address, sender="Client@Example.TEST")
    assert receive(email, sender="bounces+srs=x@forwarder.test")[0].status == inbound.POSTED
    email = reply(address, sender="alias@example.test")
    assert receive(email, sender="CLIENT@example.test")[0].status == inbound.POSTED


def test_a_removed_participant_can_no_longer_reply_even_once_added_back(people, room):
    address = reply_address(people["client"].id, room.id)
    staff = user(people["staff"])
    set_participants(room, staff, [])
    assert receive(reply(address))[0].status == inbound.ANSWERED
    set_participants(room, staff, [people["client"].id])
    # Added back a minute later (SQLite may even reuse the participant row's id).
    db.session.execute(update(Participant).values(added_at=utcnow() + timedelta(minutes=1)))
    db.session.commit()
    [outcome] = receive(reply(address, text="Still here?"))
    assert outcome.status == inbound.ANSWERED
    assert "no longer a participant" in outcome.reason
    assert posted_by(people["client"]) == []


def test_a_deactivated_user_or_an_archived_room_refuses_the_reply(people, room):
    address = reply_address(people["client"].id, room.id)
    archive_room(room)
    assert receive(reply(address))[0].status == inbound.ANSWERED
    # A deactivated person is not emailed: only the SMTP refusal.
    db.session.get(User, people["client"].id).active = False
    db.session.commit()
    assert receive(reply(address))[0].status == inbound.REFUSED
    assert posted_by(people["client"]) == []


def test_rotating_the_secret_key_or_forging_a_token_refuses_the_reply(
    people, room, app, monkeypatch
):
    address = reply_address(people["client"].id, room.id)
    forged = address.replace("reply+", "reply+1-1-1.", 1)
    assert receive(reply(forged))[0].status == inbound.REFUSED
    monkeypatch.setitem(app.config, "SECRET_KEY", "a-new-secret")
    [outcome] = receive(reply(address))
    assert (outcome.status, outcome.reason) == (inbound.REFUSED, "the reply address is not valid")


def test_an_expired_token_posts_nothing_and_its_person_is_told(people, room, app, monkeypatch):
    from jobs.notifications import answer_reply
    from portal.infra.queues import get_queue
    from portal.notify.reply_answers import JOB

    address = reply_address(people["client"].id, room.id)
    monkeypatch.setitem(app.config, "REPLY_TOKEN_MAX_AGE_SECONDS", -1)
    [outcome] = receive(reply(address))
    assert (outcome.status, outcome.reason) == (inbound.ANSWERED, "the reply address has expired")
    [job] = [job for job in get_queue().jobs if job.func_name == JOB]
    answer_reply(*job.args, **job.kwargs)
    [answer] = Outbox(app.config["MAIL_OUTBOX_DIR"]).messages("client@example.test")
    text = answer.get_body(("plain",)).get_content()
    assert "the address you replied to has expired" in text
    assert f"/portal/rooms/{room.id}" in text
    # Somebody else writing to it is refused, and nobody is emailed for them.
    mallory = "mallory@example.test"
    [outcome] = receive(reply(address, sender=mallory), sender=mallory)
    assert outcome.status == inbound.REFUSED


def test_reminders_about_several_rooms_carry_no_reply_to(people, room):
    from portal.notify.replies import reply_headers

    class Digest:
        def __init__(self, room):
            self.room = room

    other = room_with(people["staff"], people["client"], title="Other")
    client = user(people["client"])
    assert reply_headers(client, [Digest(room), Digest(other)]) == {}
    assert reply_headers(client, [Digest(room)])["Reply-To"].startswith("<reply+")
    assert reply_headers(user(people["staff_all"]), [Digest(room)]) == {}


def test_a_signature_logo_shown_inline_is_not_attached(people, room):
    email = reply(reply_address(people["client"].id, room.id))
    email.add_alternative('<p>Signed, thanks!</p><img src="cid:logo@acme">', subtype="html")
    html = email.get_body(preferencelist=("html",))
    html.make_related()
    html.add_related(b"GIF89a", "image", "gif", cid="<logo@acme>", filename="logo.gif")

    receive(email)

    [message] = posted_by(people["client"])
    assert (message.body, message.attachments) == ("Signed, thanks!", [])
