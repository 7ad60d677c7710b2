"""The operator commands: users create and seed-demo."""

from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Message, Participant, Room, User


def _user(app, email):
    with app.app_context():
        return db.session.scalar(select(User).where(User.email == email))


def test_users_create_internal_admin_with_password(app, runner):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "Boss@Example.test",
            "--name",
            "Boss",
            "--kind",
            "internal",
            "--admin",
            "--all-rooms",
            "--password",
            "long enough password",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "active" in result.output
    user = _user(app, "boss@example.test")
    assert user.is_admin and user.access_all_rooms and user.is_internal
    assert user.status == "active"
    with app.app_context():
        assert db.session.get(User, user.id).check_password("long enough password")


def test_users_create_client_without_password_is_invited(app, runner):
    result = runner.invoke(
        args=["users", "create", "c@example.test", "--name", "C", "--kind", "client"]
    )
    assert result.exit_code == 0, result.output
    user = _user(app, "c@example.test")
    assert user.status == "invited" and user.is_client and not user.is_active


def test_users_create_refuses_duplicates_case_insensitively(runner):
    runner.invoke(args=["users", "create", "dup@example.test", "--name", "A", "--kind", "client"])
    result = runner.invoke(
        args=["users", "create", "DUP@example.TEST", "--name", "B", "--kind", "client"]
    )
    assert result.exit_code != 0
    assert "already exists" in result.output


def test_users_create_refuses_admin_client(runner):
    result = runner.invoke(
        args=["users", "create", "c@example.test", "--name", "C", "--kind", "client", "--admin"]
    )
    assert result.exit_code != 0
    assert _user(runner.app, "c@example.test") is None


def test_seed_demo_prints_logins_and_seeds_once(app, runner):
    result = runner.invoke(args=["seed-demo", "--if-empty"])
    assert result.exit_code == 0, result.output
    assert "admin@example.com" in result.output and "portal-demo-1" in result.output
    with app.app_context():
        kinds = {
            (u.email, u.kind, u.is_admin, u.access_all_rooms, u.status)
            for u in db.session.scalars(select(User))
        }
        assert ("admin@example.com", "internal", True, False, "active") in kinds
        assert ("staff@example.com", "internal", False, False, "active") in kinds
        assert ("lead@example.com", "internal", False, True, "active") in kinds
        assert ("client@example.com", "client", False, False, "active") in kinds
        assert ("invited@example.com", "client", False, False, "invited") in kinds
        assert db.session.scalar(select(func.count(Room.id))) == 3
        assert db.session.scalar(select(func.count(Message.id))) >= 24
        assert db.session.scalar(select(func.count(Participant.id))) >= 8
    again = runner.invoke(args=["seed-demo", "--if-empty"])
    assert "not seeded" in again.output
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == 5


def test_demo_admin_can_log_in(app, runner, client):
    runner.invoke(args=["seed-demo"])
    response = client.login("admin@example.com", "portal-demo-1")
    assert response.headers["Location"] == "/app/rooms"
