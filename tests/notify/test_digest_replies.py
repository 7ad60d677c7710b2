"""Every notification can be answered: a digest about two rooms carries a reply address, a
reply to it goes to the room it answers, and a reply that is not posted is answered by email.
"""

import pytest
from sqlalchemy import select

from jobs.notifications import answer_reply
from portal.extensions import db
from portal.infra.queues import get_queue
from portal.messaging.rooms import archive_room, set_participants
from portal.models import Message
from portal.notify import inbound
from portal.notify.client_emails import notify_client
from portal.notify.reply_answers import JOB
from tests.notify_helpers import after_delay, parts, post, room_with, user
from tests.reply_helpers import reply

pytestmark = pytest.mark.usefixtures("app_ctx")


@pytest.fixture
def rooms(people):
    taxes = room_with(people["staff"], people["client"], title="Tax return 2026")
    payroll = room_with(people["staff"], people["client"], title="Payroll")
    post(taxes, people["staff"], "Please sign page 2 of the return")
    post(payroll, people["staff"], "Are the March hours final?")
    return taxes, payroll


@pytest.fixture
def digest(people, rooms, outbox):
    notify_client(people["client"].id, now=after_delay())
    [email] = outbox.messages("client@example.test")
    assert email["Subject"] == "2 new messages in 2 conversations"
    return email


def address_of(email):
    return email["Reply-To"].addresses[0].addr_spec


# The digest lists the room with the latest message first: Payroll, then Tax return 2026.
SECOND = "> Tax return 2026 (1 unread message)"


def quoted(email):
    text, _html = parts(email)
    return "\n".join(f"> {line}".rstrip() for line in text.splitlines())


ATTRIBUTION = "On Thu, Nov 26, 2026 at 11:00 AM Portal <no-reply@portal.test> wrote:"


def receive(email, sender="client@example.test"):
    return inbound.receive(bytes(email), sender, None)


def bodies(room):
    query = select(Message.body).where(Message.room_id == room.id).order_by(Message.id)
    return list(db.session.scalars(query))


def answer_jobs():
    return [job for job in get_queue().jobs if job.func_name == JOB]


def run_answers():
    for job in answer_jobs():
        answer_reply(*job.args, **job.kwargs)


def test_a_digest_about_two_rooms_carries_a_reply_address(digest):
    address = address_of(digest)
    assert address.startswith("reply+") and address.endswith("@portal.test")
    assert len(address.split("@")[0]) <= 64
    text, html = parts(digest)
    assert "write your answer below the conversation it is for" in text
    assert "write your answer below the conversation it is for" in html


def test_all_rooms_staff_who_take_part_in_none_get_no_reply_address(people, rooms, outbox):
    from portal.notify.replies import reply_headers

    class Digest:
        def __init__(self, room):
            self.room = room

    staff_all = user(people["staff_all"])
    assert reply_headers(staff_all, [Digest(r) for r in rooms], notification_id=1) == {}
    client = user(people["client"])
    assert reply_headers(client, [Digest(r) for r in rooms], notification_id=1)


def test_an_answer_written_below_one_rooms_part_is_posted_there(people, rooms, digest):
    taxes, payroll = rooms
    body = quoted(digest)
    assert body.index("> Payroll (1 unread message)") < body.index(SECOND)
    # Inline: the client writes right under the payroll part of the digest.
    at = body.index(SECOND)
    text = f"{ATTRIBUTION}\n{body[:at]}\nFinal, yes.\n- 38 hours\n-250 EUR advance\n\n{body[at:]}"
    [outcome] = receive(reply(address_of(digest), text=text))
    assert outcome.status == inbound.POSTED
    assert bodies(payroll)[-1] == "Final, yes.\n- 38 hours\n-250 EUR advance"
    assert bodies(taxes) == ["Please sign page 2 of the return"]


def test_an_answer_below_the_last_rooms_part_goes_to_that_room(people, rooms, digest):
    taxes, payroll = rooms
    body = quoted(digest)
    end = body.index("> --\n")  # the footer
    text = f"{ATTRIBUTION}\n{body[:end]}\nSigned.\n\n{body[end:]}"
    [outcome] = receive(reply(address_of(digest), text=text))
    assert outcome.status == inbound.POSTED
    assert bodies(taxes)[-1] == "Signed."


def test_a_top_posted_answer_quoting_only_one_room_is_posted_there(people, rooms, digest):
    taxes, payroll = rooms
    body = quoted(digest)
    kept = body[body.index("> Payroll (1 unread message)") : body.index(SECOND)]
    text = f"Yes, the hours are final.\n\n{ATTRIBUTION}\n{kept}"
    [outcome] = receive(reply(address_of(digest), text=text))
    assert outcome.status == inbound.POSTED
    assert bodies(payroll)[-1] == "Yes, the hours are final."


def test_a_reply_that_does_not_say_which_room_is_answered_by_email(people, rooms, digest, outbox):
    taxes, payroll = rooms
    text = f"Done, see attached.\n\n{ATTRIBUTION}\n{quoted(digest)}"
    email = reply(address_of(digest), text=text)
    [outcome] = receive(email)
    assert outcome.status == inbound.ANSWERED
    assert bodies(taxes) == ["Please sign page 2 of the return"]
    assert bodies(payroll) == ["Are the March hours final?"]
    # The same email delivered again is answered once.
    assert receive(email)[0].status == inbound.ANSWERED
    assert len(answer_jobs()) == 1

    run_answers()
    [answer] = [m for m in outbox.messages("client@example.test") if m is not digest][1:]
    assert answer["Subject"] == "Your reply was not posted"
    assert answer["Auto-Submitted"] == "auto-replied"
    assert answer["In-Reply-To"] == email["Message-ID"]
    text, html = parts(answer)
    assert "we could not tell which conversation it answers" in text
    assert f"Tax return 2026: http://portal.test/portal/rooms/{taxes.id}" in text
    assert f"Payroll: http://portal.test/portal/rooms/{payroll.id}" in text
    assert "> Done, see attached." in text
    assert f'href="http://portal.test/portal/rooms/{payroll.id}"' in html


def test_answers_written_under_two_rooms_are_not_split(people, rooms, digest):
    body = quoted(digest)
    at = body.index(SECOND)
    end = body.index("> --\n")
    text = f"{ATTRIBUTION}\n{body[:at]}\nFinal.\n\n{body[at:end]}\nSigned.\n\n{body[end:]}"
    [outcome] = receive(reply(address_of(digest), text=text))
    assert outcome.status == inbound.ANSWERED
    assert len(answer_jobs()) == 1


def test_a_removed_participant_is_told_and_the_room_not_linked(people, rooms, digest, outbox):
    taxes, payroll = rooms
    set_participants(payroll, user(people["staff"]), [])
    body = quoted(digest)
    at = body.index(SECOND)
    text = f"{ATTRIBUTION}\n{body[:at]}\nSigned.\n\n{body[at:]}"
    [outcome] = receive(reply(address_of(digest), text=text))
    assert outcome.status == inbound.ANSWERED
    run_answers()
    answer = outbox.messages("client@example.test")[-1]
    text, _html = parts(answer)
    assert "you are no longer a participant of this conversation" in text
    assert f"/rooms/{payroll.id}" not in text
    assert "Your conversations: http://portal.test/portal/rooms" in text
    assert "> Signed." in text


def test_an_archived_room_is_told_with_its_link(people, rooms, outbox):
    from portal.notify.replies import reply_address

    taxes, _payroll = rooms
    archive_room(taxes)
    [outcome] = receive(reply(reply_address(people["client"].id, taxes.id), text="Signed"))
    assert outcome.status == inbound.ANSWERED
    run_answers()
    text, _html = parts(outbox.messages("client@example.test")[-1])
    assert "the conversation “Tax return 2026” is archived" in text
    assert f"Tax return 2026: http://portal.test/portal/rooms/{taxes.id}" in text


def test_a_stranger_using_a_digest_address_is_refused_and_not_answered(people, rooms, digest):
    text = f"Let me in\n\n{ATTRIBUTION}\n{quoted(digest)}"
    email = reply(address_of(digest), sender="mallory@example.test", text=text)
    [outcome] = receive(email, sender="mallory@example.test")
    assert outcome.status == inbound.REFUSED
    assert answer_jobs() == []


def test_a_digest_address_of_another_persons_email_is_refused(people, rooms, digest):
    from portal.notify.replies import digest_address
    from portal.notify.reply_answers import KIND

    row_id = int(digest["Message-ID"].split(".")[1])
    forged = digest_address(people["staff"].id, row_id)
    [outcome] = receive(reply(forged, sender="staff@example.test"), sender="staff@example.test")
    assert outcome.status != inbound.POSTED
    assert "not valid" in outcome.reason
    assert KIND == "reply_not_posted"


def test_an_answer_is_sent_at_once_when_redis_is_down(people, rooms, digest, outbox, monkeypatch):
    from portal.notify import reply_answers

    def broken():
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(reply_answers, "get_redis", broken)
    text = f"Done.\n\n{ATTRIBUTION}\n{quoted(digest)}"
    [outcome] = receive(reply(address_of(digest), text=text))
    assert outcome.status == inbound.ANSWERED
    assert outbox.messages("client@example.test")[-1]["Subject"] == "Your reply was not posted"


def test_an_html_only_answer_quoting_only_one_room_is_posted_there(people, rooms, digest):
    taxes, payroll = rooms
    html = (
        "<div>Yes, the hours are final.</div>"
        '<div class="gmail_quote"><div class="gmail_attr">On Thu, Nov 26, 2026 at 11:00 AM '
        "Portal &lt;no-reply@portal.test&gt; wrote:</div><blockquote><h2>Payroll</h2>"
        "<p>Are the March hours final?</p>"
        f'<p><a href="http://portal.test/portal/rooms/{payroll.id}">Open “Payroll”</a></p>'
        "</blockquote></div>"
    )
    email = reply(address_of(digest))
    email.set_content(html, subtype="html")
    [outcome] = receive(email)
    assert outcome.status == inbound.POSTED
    assert bodies(payroll)[-1] == "Yes, the hours are final."


def test_an_html_only_answer_quoting_the_whole_digest_is_answered(people, rooms, digest):
    html = digest.get_body(preferencelist=("html",)).get_content()
    email = reply(address_of(digest))
    email.set_content(
        f'<div>Done.</div><div class="gmail_quote"><blockquote>{html}</blockquote></div>',
        subtype="html",
    )
    [outcome] = receive(email)
    assert outcome.status == inbound.ANSWERED
    [job] = answer_jobs()
    assert job.args[4] == "Done."


def test_an_empty_reply_is_answered_with_the_rooms_link(people, rooms, outbox):
    from portal.notify.replies import reply_address

    taxes, _payroll = rooms
    text = f"{ATTRIBUTION}\n> Please sign page 2 of the return\n"
    [outcome] = receive(reply(reply_address(people["client"].id, taxes.id), text=text))
    assert outcome.status == inbound.ANSWERED
    run_answers()
    text, _html = parts(outbox.messages("client@example.test")[-1])
    assert "Your reply was not posted: Write a message or attach a file before sending.\n" in text
    assert f"Tax return 2026: http://portal.test/portal/rooms/{taxes.id}" in text
    assert "What you wrote" not in text
