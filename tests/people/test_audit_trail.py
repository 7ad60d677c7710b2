"""The audit trail: every recorded action writes exactly one row, in its own transaction."""

from datetime import timedelta

import pytest
from flask import current_app
from sqlalchemy import func, select

from jobs.retention import purge_audit
from portal.extensions import db
from portal.infra import audit, settings
from portal.messaging.changes import delete_message
from portal.messaging.messages import post_message
from portal.messaging.rooms import (
    archive_room,
    create_room,
    rename_room,
    set_participants,
    unarchive_room,
)
from portal.models import AuditEvent, Room, User
from portal.models.base import utcnow
from portal.notify import inbound
from portal.notify.replies import reply_address
from portal.people import links
from portal.people.admin import update_user
from portal.people.erasure import erase_person
from portal.people.invitations import invite_user, resend_invitation
from portal.people.login_links import login_link, request_login_link, use_login_link
from portal.people.passwords import change_password, set_password_by_link
from portal.people.person_data import export_person
from tests.conftest import PASSWORD
from tests.reply_helpers import reply

NEW_PASSWORD = "a brand new password"


def get(persona):
    return db.session.get(User, persona.id)


def new_rows(since):
    rows = db.session.scalars(
        select(AuditEvent).where(AuditEvent.id > since).order_by(AuditEvent.id)
    )
    return list(rows)


def last_id():
    return db.session.scalar(select(func.coalesce(func.max(AuditEvent.id), 0)))


def a_room(people, members=("client",), creator="staff"):
    return create_room(get(people[creator]), "Tax return 2025", [people[m].id for m in members])


def edit(people, target, **changes):
    user = get(people[target])
    values = {
        "name": user.name,
        "is_admin": user.is_admin,
        "access_all_rooms": user.access_all_rooms,
        "active": user.active,
        **changes,
    }
    return lambda: update_user(user, get(people["admin"]), **values)


def link_flow(people, purpose):
    user = get(people["invited" if purpose == links.INVITE else "staff"])
    token = links.issue_link(user, purpose, 3600)
    db.session.commit()
    link = links.find_link(token, purpose)
    return lambda: set_password_by_link(link, NEW_PASSWORD, NEW_PASSWORD)


def login_link_flow(people):
    user = get(people["staff"])
    token = links.issue_link(user, links.LOGIN, 900)
    db.session.commit()
    link = login_link(token)
    return lambda: use_login_link(link)


def in_request(verb, *args):
    with current_app.test_request_context():
        return verb(*args)


def deletion(people):
    room = a_room(people)
    message = post_message(room, get(people["client"]), "Please delete this")
    return lambda: delete_message(message, get(people["staff"]))


def refused_reply(people):
    room = a_room(people)
    address = reply_address(people["client"].id, room.id)
    archive_room(room, actor=get(people["staff"]))
    db.session.commit()
    return lambda: inbound.receive(bytes(reply(address)), "client@example.test", [address])


# action → (prepare(people) returning the act, subject attribute and persona it names)
CASES = {
    "invitation.sent": lambda p: (
        lambda: invite_user("new@example.test", "Nora New", "client", get(p["admin"]))
    ),
    "invitation.sent (re-sent)": lambda p: (
        lambda: resend_invitation(get(p["invited"]), get(p["admin"]))
    ),
    "invitation.accepted": lambda p: link_flow(p, links.INVITE),
    "password.reset": lambda p: link_flow(p, links.RESET),
    "password.changed": lambda p: (
        lambda: in_request(change_password, get(p["staff"]), PASSWORD, NEW_PASSWORD, NEW_PASSWORD)
    ),
    "user.deactivated": lambda p: edit(p, "staff", active=False),
    "user.activated": lambda p: edit(p, "deactivated", active=True),
    "admin.granted": lambda p: edit(p, "staff", is_admin=True),
    "admin.removed": lambda p: (
        edit(p, "staff", is_admin=True)(),
        edit(p, "staff", is_admin=False),
    )[1],
    "all_rooms.on": lambda p: edit(p, "staff", access_all_rooms=True),
    "all_rooms.off": lambda p: edit(p, "staff_all", access_all_rooms=False),
    "room.created": lambda p: lambda: create_room(get(p["staff"]), "Alone", []),
    "participant.added": lambda p: (
        lambda room: (
            lambda: set_participants(room, get(p["staff"]), [p["client"].id, p["staff_all"].id])
        )
    )(a_room(p)),
    "participant.removed": lambda p: (
        lambda room: lambda: set_participants(room, get(p["staff"]), [])
    )(a_room(p)),
    "room.renamed": lambda p: (
        lambda room: lambda: rename_room(room, "Tax return 2026", get(p["staff"]))
    )(a_room(p)),
    "room.archived": lambda p: (lambda room: lambda: archive_room(room, actor=get(p["staff"])))(
        a_room(p)
    ),
    "room.unarchived": lambda p: (
        lambda room: (archive_room(room), lambda: unarchive_room(room, actor=get(p["staff"])))[1]
    )(a_room(p)),
    "message.deleted": deletion,
    "export.made": lambda p: lambda: list(export_person(get(p["client"]), get(p["admin"]))),
    "user.erased": lambda p: lambda: erase_person(get(p["client"]), get(p["admin"]), "keep"),
    "reply.refused": refused_reply,
    "login_link.issued": lambda p: lambda: request_login_link("staff@example.test"),
    "login_link.used": lambda p: login_link_flow(p),
    "settings.changed": lambda p: (
        lambda: settings.save({"PORTAL_NAME": "Renamed & Co"}, get(p["admin"]))
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_each_action_writes_exactly_one_row(app_ctx, people, case):
    act = CASES[case](people)
    db.session.commit()
    before = last_id()
    act()
    db.session.rollback()  # only what was committed counts
    [row] = new_rows(before)
    assert row.action == case.split(" ")[0]
    assert row.summary and row.at is not None
    assert row.actor_label


def test_rows_name_actor_subject_and_a_summary_that_outlives_the_subject(app_ctx, people):
    room = a_room(people, members=())
    before = last_id()
    set_participants(room, get(people["staff"]), [people["client"].id])
    [row] = new_rows(before)
    assert (row.actor_id, row.actor_label) == (people["staff"].id, "Staff")
    assert (row.user_id, row.room_id) == (people["client"].id, room.id)
    assert row.summary == "Added Client <client@example.test> (client) in “Tax return 2025”"
    db.session.delete(db.session.get(Room, room.id))
    db.session.commit()
    assert new_rows(before)[0].summary.endswith("in “Tax return 2025”")


def test_creating_a_room_records_it_and_each_person_added(app_ctx, people):
    before = last_id()
    a_room(people, members=("client", "staff_all"))
    actions = [r.action for r in new_rows(before)]
    assert actions == ["room.created", "participant.added", "participant.added"]


def test_deleting_your_own_message_and_unchanged_forms_record_nothing(app_ctx, people):
    room = a_room(people)
    message = post_message(room, get(people["client"]), "Oops")
    before = last_id()
    delete_message(message, get(people["client"]))
    edit(people, "staff")()
    rename_room(room, "Tax return 2025", get(people["staff"]))
    assert new_rows(before) == []


def test_a_refused_change_writes_no_row(app_ctx, people):
    before = last_id()
    with pytest.raises(ValueError):
        update_user(
            get(people["admin"]),
            get(people["admin"]),
            name="Admin",
            is_admin=False,
            access_all_rooms=False,
            active=True,
        )
    db.session.rollback()
    assert new_rows(before) == []


def test_request_ip_is_kept(client, people):
    client.login("admin@example.test")
    client.form_post(
        "/settings/users/invite",
        {"email": "ip@example.test", "name": "Ivy", "kind": "client"},
        environ_base={"REMOTE_ADDR": "203.0.113.9"},
    )
    with client.application.app_context():
        [row] = db.session.scalars(select(AuditEvent)).all()
        assert (row.action, row.ip, row.actor_label) == ("invitation.sent", "203.0.113.9", "Admin")


def test_throttled_logins_write_one_row_per_window(client, people, app, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_FAILURE_LIMIT", "2 per minute")
    for _ in range(2):
        client.login("staff@example.test", "wrong password")
    for _ in range(3):
        assert client.login("staff@example.test", "wrong password").status_code == 429
    with app.app_context():
        [row] = db.session.scalars(select(AuditEvent)).all()
        assert (row.action, row.actor_label, row.user_id) == (
            "login.throttled",
            "system",
            people["staff"].id,
        )
        assert "staff@example.test" in row.summary


def test_wrong_current_passwords_lockout_writes_one_row(client, people, app, monkeypatch):
    monkeypatch.setitem(app.config, "PASSWORD_CHANGE_MAX_FAILURES", 2)
    client.login("staff@example.test")
    for _ in range(2):
        form = {"current": "wrong password", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
        client.form_post("/password/change", form)
    with app.app_context():
        [row] = db.session.scalars(select(AuditEvent)).all()
        assert (row.action, row.actor_id) == ("session.locked_out", people["staff"].id)


def test_retention_job_deletes_only_rows_past_the_setting(app_ctx, app, people, monkeypatch):
    now = utcnow()
    for days in (401, 399):
        audit.record(audit.SYSTEM, "settings.changed", summary=f"{days}", now=now - timedelta(days))
    db.session.commit()
    monkeypatch.setitem(app.config, "AUDIT_RETENTION_DAYS", 400)
    assert purge_audit(now) == 1
    assert [r.summary for r in db.session.scalars(select(AuditEvent))] == ["399"]


def test_unknown_actions_are_refused(app_ctx):
    with pytest.raises(ValueError):
        audit.record(audit.SYSTEM, "made.up", summary="no")


def test_retention_job_runs_daily_from_the_cron(monkeypatch, tmp_path):
    import importlib
    import sys

    from rq import cron

    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setattr(cron, "_job_data_registry", [])
    sys.modules.pop("jobs.cron", None)
    importlib.import_module("jobs.cron")
    [entry] = [e for e in cron._job_data_registry if e["func"] is purge_audit]
    assert entry["cron"] == "17 3 * * *"
