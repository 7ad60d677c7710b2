"""The database down: 503 with Retry-After and the product's words, never a bare 500;
/healthz names the part that is down. PostgreSQL refusing connections (a closed port)
and an SQLite file that can't be read, whichever database the suite runs on."""

import os
import socket

import pytest

from portal import create_app
from tests.conftest import PortalClient


def _closed_port():
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(params=["postgresql-refused", "sqlite-unreadable", "sqlite-missing"])
def broken_database(request, tmp_path):
    if request.param == "postgresql-refused":
        return f"postgresql+psycopg://postgres@127.0.0.1:{_closed_port()}/portal"
    if request.param == "sqlite-unreadable":
        garbage = tmp_path / "portal.sqlite3"
        garbage.write_bytes(os.urandom(8192))  # (the tests run as root: no chmod can hide it)
        return f"sqlite:///{garbage}"
    return f"sqlite:///{tmp_path}/no-such-folder/portal.sqlite3"


@pytest.fixture
def down(app_config, broken_database, client, people, room):
    """A client logged in (on the working app), then the same cookie on an app whose
    database is unreachable."""
    client.login("staff@example.test")
    token = client.csrf_token()  # kept in the session cookie they will share
    app = create_app({**app_config, "SQLALCHEMY_DATABASE_URI": broken_database})
    app.test_client_class = PortalClient
    broken = app.test_client()
    broken.set_cookie("session", client.get_cookie("session").value)
    broken.room, broken.token = room, token
    return broken


def test_a_page_answers_503_in_the_products_words(down):
    response = down.get(f"/app/rooms/{down.room}")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    page = response.get_data(as_text=True)
    assert "Temporarily unavailable" in page
    assert "cannot reach its database just now" in page
    assert "Traceback" not in page and "OperationalError" not in page


def test_a_send_without_javascript_says_it_was_not_saved(down):
    response = down.post(
        f"/app/rooms/{down.room}/messages", data={"body": "Still here?", "csrf_token": down.token}
    )
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    assert "this was not saved" in response.get_data(as_text=True)


def test_a_send_from_the_composer_gets_one_plain_sentence(down):
    headers = {"HX-Request": "true"}
    response = down.post(
        f"/app/rooms/{down.room}/messages",
        data={"body": "Still here?", "csrf_token": down.token},
        headers=headers,
    )
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    text = response.get_data(as_text=True)
    assert "<" not in text and "Your text is kept" in text


def test_healthz_says_the_database_is_down_and_redis_is_not(down):
    response = down.get("/healthz")
    assert response.status_code == 503
    assert response.json == {"status": "unavailable", "database": "unavailable", "redis": "ok"}


def test_a_bug_in_a_statement_is_still_a_500(app_config):
    """Only an unreachable database is a 503: an integrity error is not "try again later"."""
    from sqlalchemy.exc import IntegrityError

    def bug():
        raise IntegrityError("INSERT …", {}, Exception("duplicate key"))

    app = create_app({**app_config, "PROPAGATE_EXCEPTIONS": False})
    app.add_url_rule("/integrity-bug", "integrity_bug", bug)
    response = app.test_client().get("/integrity-bug")
    assert response.status_code == 500
    assert "Retry-After" not in response.headers
