"""The last-admin guard counts only active, activated admins, and holds under a race."""

import threading

from portal.extensions import db
from portal.models import User
from portal.models.users import active_admin_count
from portal.people import admin as admin_verbs


def demote_self(client, user):
    data = {"name": user.name, "active": "y"}
    if user.access_all_rooms:
        data["access_all_rooms"] = "y"
    return client.form_post(f"/settings/users/{user.id}/edit", data)


def test_an_invited_admin_does_not_count(client, app, people, make_user):
    make_user("pending_boss", is_admin=True, password=None)
    with app.app_context():
        assert active_admin_count() == 1
    client.login("admin@example.test")
    response = demote_self(client, people["admin"])
    assert response.status_code == 400
    assert "last active admin" in response.get_data(as_text=True)


def test_a_deactivated_admin_does_not_count(client, app, people, make_user):
    make_user("old_boss", is_admin=True, active=False)
    client.login("admin@example.test")
    assert demote_self(client, people["admin"]).status_code == 400


def test_an_invited_admin_can_be_demoted_while_only_they_would_be_lost(client, people, make_user):
    pending = make_user("pending_boss", is_admin=True, password=None)
    client.login("admin@example.test")
    response = client.form_post(
        f"/settings/users/{pending.id}/edit", {"name": pending.name, "active": "y"}
    )
    assert response.status_code == 302


def test_two_admins_demoting_themselves_at_once_leave_one_admin(
    app, people, make_user, monkeypatch
):
    second = make_user("second_admin", is_admin=True)
    browsers = {}
    for user in (people["admin"], second):
        browsers[user.id] = app.test_client()
        browsers[user.id].login(user.email)
    # Both requests reach the guard together: with a plain read-then-write both would pass.
    barrier = threading.Barrier(2, timeout=30)
    lock = admin_verbs._lock_admin_rows

    def together():
        barrier.wait()
        lock()

    monkeypatch.setattr(admin_verbs, "_lock_admin_rows", together)
    statuses = {}

    def run(user):
        statuses[user.id] = demote_self(browsers[user.id], user).status_code

    threads = [threading.Thread(target=run, args=(u,)) for u in (people["admin"], second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(statuses.values()) == [302, 400]
    with app.app_context():
        assert active_admin_count() == 1
        admins = db.session.scalars(db.select(User).where(User.is_admin.is_(True))).all()
        assert len(admins) == 1
