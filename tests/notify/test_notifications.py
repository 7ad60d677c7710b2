"""The 10-minute client email: when it is sent, to whom, and never twice."""

import logging

import pytest
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select

from jobs import notifications as notification_jobs
from portal.extensions import db
from portal.infra.queues import get_queue, get_redis
from portal.messaging.reading import mark_read
from portal.messaging.rooms import set_participants
from portal.models import Attachment, NotificationLog, Participant, ReadState
from portal.notify.client_emails import notify_client
from tests.notify_helpers import after_delay, kinds, parts, post, room_with, user

pytestmark = pytest.mark.usefixtures("app_ctx")


def scheduled_for(user_id):
    registry = ScheduledJobRegistry(queue=get_queue())
    jobs = [get_queue().fetch_job(job_id) for job_id in registry.get_job_ids()]
    return [j for j in jobs if j is not None and j.args == (user_id,)]


def test_read_before_the_delay_sends_nothing(people, outbox):
    room = room_with(people["staff"], people["client"])
    post(room, people["staff"], "Please sign the form")
    mark_read(user(people["client"]), room)

    assert notify_client(people["client"].id, now=after_delay()) is None
    assert outbox.messages() == []


def test_not_due_before_the_delay(people, outbox):
    room = room_with(people["staff"], people["client"])
    post(room, people["staff"], "Please sign the form")
    get_redis().flushdb()  # as if the scheduled job were the one running now

    assert notify_client(people["client"].id, now=after_delay(-60)) is None
    assert outbox.messages() == []
    # The job found a message not due yet, so it scheduled itself again.
    assert len(scheduled_for(people["client"].id)) == 1


def test_a_burst_of_five_messages_is_one_job_and_one_email_listing_five(people, outbox):
    room = room_with(people["staff"], people["client"])
    for n in range(1, 6):
        post(room, people["staff"], f"Message number {n}")

    assert len(scheduled_for(people["client"].id)) == 1
    notify_client(people["client"].id, now=after_delay())

    [email] = outbox.messages("client@example.test")
    text, html = parts(email)
    for n in range(1, 6):
        assert f"Message number {n}" in text
        assert f"Message number {n}" in html
    assert "5 unread messages" in text
    assert "Staff" in email["Subject"] and "Tax return 2024" in email["Subject"]
    assert f"http://portal.test/portal/rooms/{room.id}" in text
    assert f'href="http://portal.test/portal/rooms/{room.id}"' in html
    state = db.session.get(ReadState, (people["client"].id, room.id))
    assert state.notified_through_message_id == max(
        db.session.scalars(select(NotificationLog.last_message_id))
    )


def test_one_pending_job_per_client_whatever_the_rooms(people):
    room = room_with(people["staff"], people["client"], people["outsider"])
    other = room_with(people["staff"], people["client"], title="Other")
    for _ in range(3):
        post(room, people["staff"], "hello")
    post(other, people["staff"], "hello")

    assert len(scheduled_for(people["client"].id)) == 1
    assert len(scheduled_for(people["outsider"].id)) == 1
    assert len(ScheduledJobRegistry(queue=get_queue())) == 2


def test_the_author_and_internal_users_get_no_client_email(people, outbox):
    room = room_with(people["staff"], people["client"], people["outsider"], people["staff_all"])
    post(room, people["client"], "From the client")

    assert scheduled_for(people["client"].id) == []
    assert scheduled_for(people["staff"].id) == []
    assert scheduled_for(people["staff_all"].id) == []
    for person in ("client", "staff", "staff_all"):
        assert notify_client(people[person].id, now=after_delay()) is None
    notify_client(people["outsider"].id, now=after_delay())
    assert [m["To"] for m in outbox.messages()] == ["Outsider <outsider@example.test>"]


def test_the_same_job_run_twice_sends_one_email(people, outbox):
    room = room_with(people["staff"], people["client"])
    post(room, people["staff"], "Once only")
    now = after_delay()

    assert notification_jobs.notify_client(people["client"].id, now=now)
    assert notification_jobs.notify_client(people["client"].id, now=now) is None
    assert kinds(outbox) == ["client_notification"]
    [row] = db.session.scalars(select(NotificationLog)).all()
    assert (row.status, row.attempts) == ("sent", 1)


def test_new_messages_after_an_email_get_their_own_email(people, outbox):
    room = room_with(people["staff"], people["client"])
    post(room, people["staff"], "First")
    notify_client(people["client"].id, now=after_delay())
    post(room, people["staff"], "Second")
    notify_client(people["client"].id, now=after_delay())

    first, second = outbox.messages()
    assert "First" in parts(first)[0] and "Second" not in parts(first)[0]
    assert "Second" in parts(second)[0] and "First" not in parts(second)[0]


@pytest.mark.parametrize(
    "change",
    ["muted", "email_off", "deactivated", "removed", "read"],
)
def test_state_is_rechecked_when_the_job_runs(people, outbox, change):
    room = room_with(people["staff"], people["client"])
    post(room, people["staff"], "Are you there?")
    client = user(people["client"])
    if change == "muted":
        db.session.execute(
            Participant.__table__.update()
            .where(Participant.user_id == client.id)
            .values(muted=True)
        )
    elif change == "email_off":
        client.email_notifications = False
    elif change == "deactivated":
        client.active = False
    elif change == "removed":
        set_participants(room, user(people["staff"]), [people["staff"].id])
    elif change == "read":
        mark_read(client, room)
    db.session.commit()

    assert notify_client(client.id, now=after_delay()) is None
    assert outbox.messages() == []


def test_invited_clients_without_an_active_account_get_nothing(people, outbox):
    room = room_with(people["staff"], people["invited"])
    post(room, people["staff"], "Welcome")

    assert scheduled_for(people["invited"].id) == []
    assert notify_client(people["invited"].id, now=after_delay()) is None
    assert outbox.messages() == []


def test_muted_and_opted_out_clients_are_not_even_scheduled(people):
    room = room_with(people["staff"], people["client"], people["outsider"])
    db.session.execute(
        Participant.__table__.update()
        .where(Participant.user_id == people["client"].id)
        .values(muted=True)
    )
    user(people["outsider"]).email_notifications = False
    db.session.commit()
    post(room, people["staff"], "hello")

    assert len(ScheduledJobRegistry(queue=get_queue())) == 0


XSS = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", '"><svg onload=alert(1)>']


def test_bodies_names_and_titles_are_escaped_in_the_html_part(people, outbox):
    staff = user(people["staff"])
    staff.name = XSS[2]
    db.session.commit()
    room = room_with(people["staff"], people["client"], title=XSS[1])
    for body in XSS:
        post(room, people["staff"], body)
    notify_client(people["client"].id, now=after_delay())

    [email] = outbox.messages()
    text, html = parts(email)
    for raw in ("<script", "<img", "<svg", "onerror=alert(1)>"):
        assert raw not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert '"&gt;&lt;svg onload=alert(1)&gt;' in html
    # The plain-text part quotes them as written.
    assert XSS[0] in text


def test_attachments_are_named_not_attached(people, outbox):
    room = room_with(people["staff"], people["client"])
    files = [
        Attachment(
            filename=name, storage_name=name + "-stored", content_type="application/pdf", size=10
        )
        for name in ("invoice.pdf", "contract.pdf")
    ]
    post(room, people["staff"], "", attachments=files)
    notify_client(people["client"].id, now=after_delay())

    [email] = outbox.messages()
    text, html = parts(email)
    assert "Attached: invoice.pdf <http://portal.test/files/" in text
    for name in ("invoice.pdf", "contract.pdf"):
        assert f"{name}</a>" in html
    # Named and linked, never shown as an image from a private URL.
    assert "<img" not in html
    assert list(email.iter_attachments()) == []


def test_redis_down_at_enqueue_is_logged_never_raised(people, monkeypatch, caplog):
    import portal.notify.client_emails as notifications

    def down(*_args, **_kwargs):
        raise ConnectionError("redis is down")

    room = room_with(people["staff"], people["client"])
    monkeypatch.setattr(notifications, "get_redis", down)
    # Alembic's fileConfig (run by the app fixture) disables loggers that existed before it.
    monkeypatch.setattr(notifications.log, "disabled", False)
    with caplog.at_level(logging.ERROR, logger="portal.notify.client_emails"):
        message = post(room, people["staff"], "Still stored")
    assert message.id
    assert "could not schedule" in caplog.text
