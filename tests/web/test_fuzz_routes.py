"""Every route in url_map, every persona, hostile values everywhere: never a 500.

Path parameters, query parameters and form fields get odd digits, ids past the column
range of SQLite (2⁶³) and PostgreSQL (2³¹), NUL bytes, very long strings and unicode
controls. Run it on both databases (DATABASE_URL selects PostgreSQL).
"""

import re
from urllib.parse import quote

import pytest

from portal.extensions import db
from portal.models import Attachment, User
from tests.files_helpers import png, send
from tests.harden_helpers import make_room

HOSTILE = [
    "²",
    "١٢",
    "9223372036854775808",
    "2147483648",
    "99999999999999999999999999",
    "-1",
    "0",
    "1e3",
    " 7 ",
    "\x00",
    "1\x00",
    "a" * 5000,
    "\u202e\u200b\u2066",
    "\ud7ff\ufffd",
    "../../etc/passwd",
    "<script>x</script>",
    "%00",
    "",
]
QUERY_NAMES = ["after", "before", "through", "next", "email", "token", "id", "page"]
FORM_NAMES = [
    "email",
    "password",
    "confirm",
    "current",
    "name",
    "kind",
    "title",
    "body",
    "through",
    "participant_ids",
    "shown_ids",
    "new_client_name",
    "new_client_email",
    "is_admin",
    "access_all_rooms",
    "active",
    "muted_room_ids",
    "email_notifications",
    "client_msg_id",
    "next",
]
PARAM = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")
PERSONAS = [None, "admin", "client"]


@pytest.fixture
def targets(app, people, client):
    """Real ids for the parameters not being fuzzed, so deep code paths are reached."""
    room_id = make_room(app, people, creator="admin", members=("client",))
    client.login("admin@example.test")
    send(client, room_id, [(png(), "a.png")], body="hello")
    with app.app_context():
        attachment = db.session.scalars(db.select(Attachment)).first()
        return {
            "room_id": str(room_id),
            "user_id": str(people["invited"].id),
            "attachment_id": str(attachment.id),
            "message_id": str(attachment.message_id),
            "filename": "a.png",
            "token": "x" * 43,
        }


@pytest.fixture
def relaxed_limits(app, monkeypatch):
    for name in (
        "LOGIN_FAILURE_LIMIT",
        "LOGIN_FAILURE_IP_LIMIT",
        "PASSWORD_FORGOT_LIMIT",
        "PASSWORD_FORGOT_IP_LIMIT",
        "INVITE_LIMIT",
        "MESSAGE_LIMIT",
    ):
        monkeypatch.setitem(app.config, name, "1000000 per minute")
    monkeypatch.setitem(app.config, "PASSWORD_CHANGE_MAX_FAILURES", 1_000_000)


def fill(rule, values):
    # A parameter no target names (a route added later) still gets a plain id.
    return PARAM.sub(lambda m: quote(values.get(m.group(1), "1"), safe=""), rule)


def requests_for(rule, methods, targets):
    """(method, url, form) triples: each path parameter, the query and the form fuzzed."""
    names = PARAM.findall(rule)
    for value in HOSTILE:
        for name in names:
            url = fill(rule, {**targets, name: value})
            for method in methods:
                yield method, url, None
        url = fill(rule, targets)
        query = "&".join(f"{n}={quote(value, safe='')}" for n in QUERY_NAMES)
        yield "GET", f"{url}?{query}", None
        if "POST" in methods:
            yield "POST", url, {n: value for n in FORM_NAMES}
            yield (
                "POST",
                url,
                {n: [value, "1", value] for n in ("participant_ids", "muted_room_ids")},
            )


def test_no_route_answers_500_to_hostile_input(app, people, targets, relaxed_limits):
    failures, count = [], 0
    rules = [r for r in app.url_map.iter_rules() if not r.rule.startswith("/static")]
    for persona in PERSONAS:
        browser = app.test_client()
        for rule in rules:
            if rule.rule == "/logout" or (rule.rule == "/stream" and persona):
                continue
            if persona and browser.get("/preferences/notifications").status_code != 200:
                browser.login(f"{persona}@example.test")
            token = browser.csrf_token()
            methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
            for method, url, form in requests_for(rule.rule, methods, targets):
                count += 1
                status = attempt(browser, method, url, form, token)
                if not isinstance(status, int) or status >= 500:
                    failures.append((persona, method, url[:100], status))
    assert count > 3000
    assert not failures, f"{len(failures)} failures, e.g. {failures[:8]}"


def attempt(browser, method, url, form, token):
    """The status code, or what the app raised (which a server would turn into a 500)."""
    try:
        if method == "GET":
            response = browser.get(url)
        else:
            response = browser.post(url, data={"csrf_token": token, **(form or {})})
        response.close()
        return response.status_code
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc)[:120]}"


def test_a_nul_byte_is_a_400_page(client, people):
    response = client.form_post("/login", {"email": "a\x00@example.test", "password": "x"})
    assert response.status_code == 400
    assert "Something was wrong with that request" in response.get_data(as_text=True)


@pytest.mark.parametrize("room_id", ["²", "2147483648", "9223372036854775808", "١٢"])
def test_odd_ids_in_paths_are_404(client, people, room_id):
    client.login("admin@example.test")
    assert client.get(f"/app/rooms/{quote(room_id)}").status_code == 404


@pytest.mark.parametrize("value", ["²", "2147483648", "9223372036854775808"])
def test_odd_numbers_in_queries_are_ignored(client, app, people, value):
    room_id = make_room(app, people)
    client.login("staff@example.test")
    url = f"/app/rooms/{room_id}/messages?after={quote(value)}"
    assert client.get(url).status_code == 200
    read = client.form_post(f"/app/rooms/{room_id}/read", {"through": value})
    assert read.status_code == 204


def test_an_id_past_the_range_in_a_form_is_a_validation_error(client, app, people):
    room_id = make_room(app, people)
    client.login("staff@example.test")
    response = client.form_post(
        f"/app/rooms/{room_id}/participants", {"participant_ids": ["9223372036854775808"]}
    )
    assert response.status_code == 422
    with app.app_context():
        assert db.session.get(User, people["staff"].id) is not None
