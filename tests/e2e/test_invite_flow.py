"""An admin invites a client in the browser; the client follows the email and sees their room."""

from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.messaging.rooms import create_room
from portal.models import User

pytestmark = pytest.mark.e2e


def test_admin_invites_a_client_who_activates_and_sees_the_room(
    app, people, live_server, new_page, login, outbox
):
    admin_page = login(new_page(), "admin@example.test")
    admin_page.goto(live_server("/settings/users"))
    invite_form = admin_page.locator("form.invite-form")
    invite_form.get_by_label("Name").fill("Nora Client")
    invite_form.get_by_label("Email").fill("nora@example.test")
    invite_form.get_by_label("Client").check()
    invite_form.get_by_role("button", name="Send invitation").click()
    admin_page.wait_for_load_state()
    assert "Invitation sent to nora@example.test" in admin_page.content()
    assert admin_page.get_by_role("link", name="Edit Nora Client").is_visible()

    with app.app_context():
        nora = db.session.scalar(select(User).where(User.email == "nora@example.test"))
        assert nora.status == "invited"
        admin = db.session.get(User, people["admin"].id)
        create_room(admin, "Nora — kickoff", [nora.id])

    link = outbox.link("nora@example.test", live_server("/invite/"))
    client_page = new_page()
    client_page.goto(link)
    client_page.get_by_label("New password", exact=True).fill("nora's long password")
    client_page.get_by_label("Repeat the new password").fill("nora's long password")
    client_page.get_by_role("button", name="Set password and log in").click()
    client_page.wait_for_load_state()

    assert urlsplit(client_page.url).path == "/portal/rooms"
    assert "Nora — kickoff" in client_page.content()

    client_page.goto(link)
    assert "This link is no longer valid" in client_page.content()
