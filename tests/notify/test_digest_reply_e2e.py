"""Replies through the real `mail-in` process (web, worker and mail-in under honcho, as in
test_mail_in_e2e.py): a two-room digest answered under one room, a digest reply that does
not say which room (answered by email within a minute), and every attribution family.
"""

import smtplib
from email import policy

import pytest

from portal.extensions import db
from portal.notify.replies import reply_address
from tests.e2e.live_fixtures import HttpSession
from tests.notify.test_mail_in_e2e import _bodies, _wait, stack  # noqa: F401 (fixture)
from tests.notify.test_reply_extraction import ATTRIBUTIONS, HEADER_BLOCKS, NEW, QUOTE, UNMARKED
from tests.notify_helpers import room_with
from tests.reply_helpers import reply

pytestmark = pytest.mark.slow
ATTRIBUTION = "On Thu, Nov 26, 2026 at 11:00 AM Portal <no-reply@portal.test> wrote:"


@pytest.fixture
def two_rooms(app, people):
    with app.app_context():
        taxes = room_with(people["staff"], people["client"], title="Tax return 2026").id
        payroll = room_with(people["staff"], people["client"], title="Payroll").id
        db.session.remove()
    return taxes, payroll


def _send(stack, email, sender="client@example.test"):  # noqa: F811
    """Over SMTP with CRLF line endings, as mail programs send (bytes(email) has bare LFs)."""
    with smtplib.SMTP("127.0.0.1", stack["smtp_port"], timeout=30) as smtp:
        smtp.sendmail(sender, [email["To"]], email.as_bytes(policy=policy.SMTP))


def _quoted(email):
    text = email.get_body(preferencelist=("plain",)).get_content()
    return "\n".join(f"> {line}".rstrip() for line in text.splitlines())


def _digest(stack, two_rooms):  # noqa: F811
    taxes, payroll = two_rooms
    staff = HttpSession(stack["url"], "staff@example.test")
    staff.send(f"/app/rooms/{taxes}/messages", "Please sign page 2 of the return")
    staff.send(f"/app/rooms/{payroll}/messages", "Are the March hours final?")
    sink = stack["sink"]

    def digests():
        return [
            m
            for m in sink.messages("client_notification")
            if "2 conversations" in str(m["Subject"]) and f"/rooms/{payroll}" in _quoted(m)
        ]

    _wait(digests, timeout=60, what="the two-room digest")
    [digest] = digests()
    return digest


def test_a_two_room_digest_reply_goes_to_the_room_it_answers_or_is_answered(
    stack,  # noqa: F811
    app,
    people,
    two_rooms,
):
    taxes, payroll = two_rooms
    digest = _digest(stack, two_rooms)
    address = digest["Reply-To"].addresses[0].addr_spec
    body = _quoted(digest)
    # The room with the latest message comes first: Payroll, then the tax return.
    second = body.index("> Tax return 2026 (1 unread message)")
    assert body.index("> Payroll (1 unread message)") < second

    inline = f"{ATTRIBUTION}\n{body[:second]}\nFinal, yes.\n- 38 hours\n\n{body[second:]}"
    _send(stack, reply(address, text=inline))
    top = f"Signed.\n\n{ATTRIBUTION}\n{body[second : body.index('> --' + chr(10))]}"
    _send(stack, reply(address, text=top))
    _wait(lambda: len(_bodies(app, people["client"].id)) == 2, what="the two posted replies")
    with app.app_context():
        from sqlalchemy import select

        from portal.models import Message

        posted = {
            m.room_id: m.body
            for m in db.session.scalars(
                select(Message).where(Message.author_id == people["client"].id)
            )
        }
        db.session.remove()
    assert posted == {payroll: "Final, yes.\n- 38 hours", taxes: "Signed."}

    # The whole digest quoted under a top-posted answer: which room? Not posted, answered.
    whole = reply(address, text=f"Done, see you Monday.\n\n{ATTRIBUTION}\n{body}")
    _send(stack, whole)
    sink = stack["sink"]
    _wait(lambda: sink.messages("reply_not_posted"), timeout=60, what="the automatic answer")
    [answer] = sink.messages("reply_not_posted")
    text = answer.get_body(preferencelist=("plain",)).get_content()
    assert answer["To"].addresses[0].addr_spec == "client@example.test"
    assert answer["Auto-Submitted"] == "auto-replied"
    assert answer["In-Reply-To"] == whole["Message-ID"]
    assert "Your reply was not posted: we could not tell which conversation it answers" in text
    assert f"/portal/rooms/{taxes}" in text and f"/portal/rooms/{payroll}" in text
    assert "> Done, see you Monday." in text
    assert len(_bodies(app, people["client"].id)) == 2


def test_every_attribution_family_through_mail_in(stack, app, people, two_rooms):  # noqa: F811
    taxes, _payroll = two_rooms
    with app.app_context():
        address = reply_address(people["client"].id, taxes)
        db.session.remove()
    sent = 0
    for attribution in ATTRIBUTIONS.values():
        _send(stack, reply(address, text=f"{NEW}\n\n{attribution}\n{QUOTE}\n"))
        _send(stack, reply(address, text=f"{attribution}\n{QUOTE}\n\n{NEW}\n"))
        sent += 2
    for block in HEADER_BLOCKS.values():
        _send(stack, reply(address, text=f"{NEW}\n\n{block}\n\n{UNMARKED}\n"))
        sent += 1
    _wait(lambda: len(_bodies(app, people["client"].id)) == sent, what="every reply posted")
    assert _bodies(app, people["client"].id) == [(NEW, [])] * sent
