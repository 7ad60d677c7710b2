"""The stream's own login check applies exactly the rules of every page's check."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from portal.extensions import db
from portal.infra.database import check_engine
from portal.models import LoginSession, User
from portal.models.base import utcnow
from portal.people import sessions as signin
from portal.people.sessions import TOUCH_EVERY, session_user
from tests.sse import ClientStream

NOW = utcnow()


def _session(app, user_id, **values):
    """A login session of `user_id` as of NOW (then changed by `values`); its token."""
    token = f"token-{user_id}-{len(values)}-{sorted(values)}"
    with app.app_context():
        created = NOW - timedelta(hours=1)
        row = LoginSession(user_id=user_id, token=token, created_at=created, last_seen_at=NOW)
        for name, value in values.items():
            setattr(row, name, value)
        db.session.add(row)
        db.session.commit()
    return token


def _hours(app, name):
    return timedelta(hours=app.config[name])


CASES = {
    "live": ("staff", {}, signin.ALLOWED),
    "revoked": ("staff", {"revoked_at": NOW - timedelta(minutes=1)}, signin.DENIED),
    "past its lifetime": ("staff", {"created_at": "lifetime"}, signin.DENIED),
    "within its lifetime": ("staff", {"created_at": "almost lifetime"}, signin.ALLOWED),
    "idle": ("staff", {"last_seen_at": "idle"}, signin.DENIED),
    "never touched, young": ("staff", {"last_seen_at": None}, signin.ALLOWED),
    "never touched, older": ("staff", {"last_seen_at": None, "created_at": "old"}, signin.TOUCH),
    "touch due": ("staff", {"last_seen_at": NOW - TOUCH_EVERY}, signin.TOUCH),
    "deactivated user": ("deactivated", {}, signin.DENIED),
    "invited, never activated": ("invited", {}, signin.DENIED),
}


def _values(app, values):
    lifetime, idle = _hours(app, "SESSION_LIFETIME_HOURS"), _hours(app, "SESSION_IDLE_HOURS")
    special = {
        "lifetime": NOW - lifetime - timedelta(seconds=1),
        "almost lifetime": NOW - lifetime + timedelta(minutes=1),
        "idle": NOW - idle - timedelta(seconds=1),
        "old": NOW - TOUCH_EVERY,
    }
    return {k: special.get(v, v) if isinstance(v, str) else v for k, v in values.items()}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_stream_check_agrees_with_the_page_check(app, people, case):
    handle, values, expected = CASES[case]
    user_id = people[handle].id
    values = _values(app, values)
    if values.get("last_seen_at", 0) is None and "created_at" not in values:
        values["created_at"] = NOW - timedelta(seconds=30)
    token = _session(app, user_id, **values)
    with app.test_request_context():
        verdict = signin.stream_verdict(user_id, token, now=NOW)
        page_allows = session_user(user_id, token, now=NOW) is not None
    assert verdict == expected
    assert (verdict != signin.DENIED) == page_allows


def test_another_users_token_or_no_token_is_denied(app, people):
    token = _session(app, people["staff"].id)
    with app.test_request_context():
        assert signin.stream_verdict(people["staff"].id, token, now=NOW) == signin.ALLOWED
        assert signin.stream_verdict(people["client"].id, token, now=NOW) == signin.DENIED
        assert signin.stream_verdict(people["staff"].id, token + "x", now=NOW) == signin.DENIED
        assert signin.stream_verdict(people["staff"].id, None, now=NOW) == signin.DENIED
        assert signin.stream_verdict(None, token, now=NOW) == signin.DENIED


def _last_seen(app):
    with app.app_context():
        return db.session.scalar(select(LoginSession.last_seen_at))


def _set_last_seen(app, when):
    with app.app_context():
        db.session.execute(update(LoginSession).values(last_seen_at=when))
        db.session.commit()


def test_a_stream_connect_counts_as_activity_once_a_touch_is_due(client, app, people):
    client.login("staff@example.test")
    stale = utcnow() - TOUCH_EVERY - timedelta(minutes=1)
    _set_last_seen(app, stale)
    stream = ClientStream(client)
    assert ("comment", "connected") in stream.connected()
    stream.close()
    assert _last_seen(app) > stale


def test_a_stream_connect_writes_nothing_while_the_session_is_fresh(client, app, people):
    client.login("staff@example.test")
    recent = utcnow() - timedelta(seconds=5)
    _set_last_seen(app, recent)
    stream = ClientStream(client)
    assert ("comment", "connected") in stream.connected()
    stream.close()
    assert _last_seen(app) == recent


def test_a_deactivated_users_stream_is_refused(client, app, people):
    client.login("staff@example.test")
    with app.app_context():
        db.session.execute(update(User).where(User.id == people["staff"].id).values(active=False))
        db.session.commit()
    assert client.get("/stream").status_code == 401


def test_a_connection_the_database_dropped_costs_one_retry_not_a_refusal(app, people):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("only PostgreSQL drops connections from the server side here")
    token = _session(app, people["staff"].id)
    with app.test_request_context():
        assert signin.stream_verdict(people["staff"].id, token, now=NOW) == signin.ALLOWED
        with check_engine(app).connect() as connection:  # the pooled one, idle again
            backend = connection.execute(select(func.pg_backend_pid())).scalar()
        with db.engine.begin() as connection:
            connection.execute(select(func.pg_terminate_backend(backend)))
        assert signin.stream_verdict(people["staff"].id, token, now=NOW) == signin.ALLOWED
