"""User content is inert everywhere: titles, bodies and names, on pages and fragments."""

from html.parser import HTMLParser

import pytest

from portal.extensions import db
from portal.messaging.messages import post_message
from portal.messaging.rendering import message_html
from portal.messaging.rooms import create_room
from portal.models import User

CORPUS = [
    "<script>alert('evil')</script>",
    "<img src=x onerror=\"alert('evil')\">",
    "javascript:alert('evil')",
    '<a href="javascript:alert(1)">evil link</a>',
    '<div hx-get="/evil" hx-trigger="load">evil</div>',
    '"><svg onload=alert("evil")>',
    "{{ 7*7 }} evil",
    "https://example.com/ok\"onmouseover=\"alert('evil')",
]
PAYLOAD = "\n".join(CORPUS)


class Audit(HTMLParser):
    """Collects every element and attribute the browser would see."""

    def __init__(self):
        super().__init__()
        self.problems = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in {"svg", "img", "iframe", "object", "embed"} and "evil" in str(attrs) + tag:
            self.problems.append(f"<{tag}> from user content")
        if tag == "script" and not (attrs.get("src") or "").startswith("/static/"):
            # Our only inline script-like content is none; any inline <script> is a leak.
            self.problems.append("inline <script>")
        for name, value in attrs.items():
            value = value or ""
            if name.startswith("on"):
                self.problems.append(f"event handler attribute {name}")
            if name.startswith(("hx-", "data-hx-")) and "evil" in value:
                self.problems.append(f"{name}={value!r} from user content")
            if name in {"href", "src"} and value.strip().lower().startswith(
                ("javascript:", "data:")
            ):
                self.problems.append(f"{name}={value!r}")


def audit(html):
    parser = Audit()
    parser.feed(html)
    return parser.problems


@pytest.fixture
def hostile(app, make_user):
    staff = make_user("staff")
    evil_client = make_user("evil", kind="client")
    with app.app_context():
        db.session.get(User, evil_client.id).name = "<img src=x onerror=\"alert('evil')\">"
        db.session.commit()
        author = db.session.get(User, staff.id)
        room = create_room(
            author, "<script>alert('evil')</script>\"><svg onload=x>", [evil_client.id]
        )
        message = post_message(room, db.session.get(User, evil_client.id), PAYLOAD)
        return room.id, message.id


def test_hostile_content_is_inert_on_every_page(client, hostile):
    room_id, message_id = hostile
    client.login("staff@example.test")
    pages = {
        "room list": client.get("/app/rooms"),
        "room": client.get(f"/app/rooms/{room_id}"),
        "after fragment": client.get(
            f"/app/rooms/{room_id}/messages?after=0", headers={"HX-Request": "true"}
        ),
        "before fragment": client.get(
            f"/app/rooms/{room_id}/messages?before={message_id + 1}", headers={"HX-Request": "true"}
        ),
        "participants": client.get(f"/app/rooms/{room_id}/participants"),
        "htmx send": client.form_post(
            f"/app/rooms/{room_id}/messages", {"body": PAYLOAD}, headers={"HX-Request": "true"}
        ),
    }
    client.logout()
    client.login("evil@example.test")
    pages["portal list"] = client.get("/portal/rooms")
    pages["portal room"] = client.get(f"/portal/rooms/{room_id}")
    for name, response in pages.items():
        assert response.status_code == 200, name
        html = response.get_data(as_text=True)
        assert audit(html) == [], name
        assert "<script>alert" not in html and "<svg" not in html, name
        assert "49 evil" not in html, name  # no template evaluation of user content


def test_message_html_links_only_http_urls():
    html = str(message_html("see https://example.com/a?b=1&c=2. and javascript:alert(1) <b>x</b>"))
    assert (
        '<a href="https://example.com/a?b=1&amp;c=2" rel="noopener noreferrer nofollow" '
        'target="_blank">https://example.com/a?b=1&amp;c=2</a>.' in html
    )
    assert "javascript:alert(1)" in html and 'href="javascript' not in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html


def test_message_html_keeps_balanced_parentheses_and_quotes_escaped():
    html = str(message_html('(https://en.wikipedia.org/wiki/Foo_(bar)) "https://x.test/"'))
    assert 'href="https://en.wikipedia.org/wiki/Foo_(bar)"' in html
    assert 'href="https://x.test/"' in html and "&#34;" in html
