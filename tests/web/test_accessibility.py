"""Every control on every page has an accessible name; every form posts with CSRF."""

from html.parser import HTMLParser

import pytest

from portal.extensions import db
from portal.messaging.messages import post_message
from portal.messaging.rooms import create_room
from portal.models import User


class Controls(HTMLParser):
    """Collects form controls, labels and forms of a page."""

    def __init__(self):
        super().__init__()
        self.controls, self.label_for, self.forms = [], set(), []
        self._label_depth = 0
        self._form = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "label":
            self._label_depth += 1
            if attrs.get("for"):
                self.label_for.add(attrs["for"])
        elif tag == "form":
            self._form = {"method": (attrs.get("method") or "get").lower(), "csrf": False}
            self.forms.append(self._form)
        elif tag in {"input", "select", "textarea"}:
            kind = attrs.get("type", "text")
            if kind == "hidden":
                if attrs.get("name") == "csrf_token" and self._form is not None:
                    self._form["csrf"] = True
                return
            if kind in {"submit", "button"}:
                return
            named = bool(
                attrs.get("aria-label") or attrs.get("aria-labelledby") or attrs.get("title")
            )
            self.controls.append(
                (tag, attrs.get("id"), attrs.get("name"), named or self._label_depth > 0)
            )
        elif tag == "button":
            self.controls.append(("button", attrs.get("id"), attrs.get("name"), None))

    def handle_endtag(self, tag):
        if tag == "label":
            self._label_depth -= 1
        elif tag == "form":
            self._form = None

    def unnamed(self):
        return [
            (tag, id_, name)
            for tag, id_, name, named in self.controls
            if named is False and (id_ is None or id_ not in self.label_for)
        ]


def check(html):
    parser = Controls()
    parser.feed(html)
    assert parser.unnamed() == [], "controls without a label"
    posts = [f for f in parser.forms if f["method"] == "post"]
    assert all(f["csrf"] for f in posts), "a POST form without csrf_token"


@pytest.fixture
def room_id(app, people):
    with app.app_context():
        staff = db.session.get(User, people["staff"].id)
        room = create_room(staff, "Accessible room", [people["client"].id, people["admin"].id])
        post_message(room, staff, "hello")
        return room.id


def test_staff_and_admin_pages(client, people, room_id):
    client.login("admin@example.test")
    for url in [
        "/app/rooms",
        "/app/rooms/new",
        f"/app/rooms/{room_id}",
        f"/app/rooms/{room_id}/participants",
        "/settings/users",
        f"/settings/users/{people['client'].id}/edit",
        f"/settings/users/{people['staff'].id}/edit",
        "/preferences/notifications",
        "/password/change",
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
        check(response.get_data(as_text=True))


def test_client_pages(client, people, room_id):
    client.login("client@example.test")
    for url in ["/portal/rooms", f"/portal/rooms/{room_id}", "/preferences/notifications"]:
        response = client.get(url)
        assert response.status_code == 200, url
        check(response.get_data(as_text=True))


def test_anonymous_pages(client):
    for url in ["/login", "/password/forgot"]:
        check(client.get(url).get_data(as_text=True))
