"""Security headers on every page; a strict CSP whose only inline exception is a nonce."""

import re

from portal.extensions import db
from portal.messaging.rooms import create_room
from portal.models import User


def test_pages_carry_security_headers_and_a_strict_csp(client, app, people):
    with app.app_context():
        room = create_room(db.session.get(User, people["staff"].id), "Headers", [])
        room_id = room.id
    client.login("staff@example.test")
    for url in ["/login", "/app/rooms", f"/app/rooms/{room_id}"]:
        response = client.get(url)
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Referrer-Policy"] == "same-origin"
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self';" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    page = client.get(f"/app/rooms/{room_id}")
    nonce = re.search(r"'nonce-([^']+)'", page.headers["Content-Security-Policy"]).group(1)
    assert f'<style nonce="{nonce}">' in page.get_data(as_text=True)
    other = client.get(f"/app/rooms/{room_id}")
    assert nonce not in other.headers["Content-Security-Policy"]  # fresh per request


def test_no_inline_scripts_or_event_handlers_in_templates():
    import pathlib

    root = pathlib.Path(__file__).parent.parent.parent / "portal" / "templates"
    for path in root.rglob("*.html"):
        if "email" in path.parts:
            continue  # emails are not served by us; mail clients need inline styles
        text = path.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), f"inline script in {path}"
        assert not re.search(r"\s(on[a-z]+|hx-on[:-][^=]*)=", text), f"inline handler in {path}"
        assert "style=" not in text, f"inline style attribute in {path}"
