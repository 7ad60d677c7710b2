"""axe-core finds nothing on any page, at desktop and phone sizes, JavaScript on and off.

axe.min.js comes from the axe-playwright-python package (a dev dependency): it is read
from disk and evaluated in the page only here, never served by the app.
"""

import io

import pytest
from axe_playwright_python.base import AXE_SCRIPT
from playwright.sync_api import expect
from werkzeug.datastructures import FileStorage

from portal.extensions import db
from portal.messaging.changes import edit_message
from portal.messaging.messages import post_message
from portal.messaging.rooms import archive_room, create_room
from portal.models import User
from tests.e2e.test_chat_pane import IDS, SIZES_AND_JS, VIEWPORTS
from tests.files_helpers import png

pytestmark = pytest.mark.e2e

TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
RUN = "(tags) => axe.run(document, { runOnly: { type: 'tag', values: tags } })"


def upload(name, data, content_type):
    return FileStorage(io.BytesIO(data), filename=name, content_type=content_type)


@pytest.fixture
def site(app, people):
    """A room with text, an image and a PDF; an archived room; the pages to check."""
    with app.app_context():
        admin = db.session.get(User, people["admin"].id)
        client = db.session.get(User, people["client"].id)
        room = create_room(admin, "Website redesign", [people["staff"].id, client.id])
        hello = post_message(room, admin, "Hello! The draft is at https://example.com/draft")
        thanks = post_message(room, client, "Thanks — looks good.\nOne question though.")
        post_message(
            room,
            admin,
            "Two files",
            files=[
                upload("photo.png", png(600, 400), "image/png"),
                upload("brief.pdf", b"%PDF-1.4\n", "application/pdf"),
            ],
        )
        edit_message(hello, admin, "Hello! The draft is now at https://example.com/draft")
        old = create_room(admin, "Old project", [client.id])
        post_message(old, client, "All done")
        archive_room(old)
        news = create_room(admin, "Office news", [client.id], kind="announcement")
        post_message(news, admin, "Closed on Friday")
        room_id, staff_id, hello_id, thanks_id = room.id, people["staff"].id, hello.id, thanks.id
        news_id = news.id
    return {
        "admin@example.test": [
            "/app/rooms",
            "/app/rooms/new",
            "/app/rooms/new?kind=announcement",
            f"/app/rooms/{room_id}",
            f"/app/rooms/{room_id}/participants",
            "/settings/users",
            f"/settings/users/{staff_id}/edit",
            "/settings/audit",
            "/settings/portal",
            "/preferences/notifications",
            "/password/change",
            "/app/search?q=draft",
            f"/app/rooms/{room_id}/messages/{hello_id}/edit",
            f"/app/rooms/{room_id}/messages/{hello_id}/delete",
        ],
        "client@example.test": [
            "/portal/rooms",
            f"/portal/rooms/{room_id}",
            f"/portal/rooms/{news_id}",
            "/preferences/notifications",
            "/password/change",
            "/portal/search?q=question",
            f"/portal/rooms/{room_id}/messages/{thanks_id}/edit",
        ],
        None: ["/login", "/password/forgot", "/invitation/resend", "/invite/not-a-real-token"],
    }


def axe_violations(page):
    page.evaluate(AXE_SCRIPT)
    results = page.evaluate(RUN, TAGS)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(node["html"][:120] for node in v["nodes"][:3])
        for v in results["violations"]
    ]


@pytest.mark.parametrize("size,js", SIZES_AND_JS, ids=IDS)
def test_every_page_passes_axe(browser, live_server, login, site, size, js):
    found = {}
    for email, paths in site.items():
        # axe itself needs JavaScript: "off" means none of the app's scripts load (the
        # pages have no inline scripts, the CSP forbids them), which is what users see.
        context = browser.new_context(viewport=VIEWPORTS[size])
        context.set_default_timeout(10_000)
        if not js:
            context.route("**/static/js/**", lambda route: route.abort())
            context.route("**/static/vendor/**", lambda route: route.abort())
        page = context.new_page()
        if email:
            login(page, email)
        for path in paths:
            page.goto(live_server(path))
            page.wait_for_load_state("load")
            # Not "networkidle": Chromium reports the shared live worker's script fetch to
            # the page but finishes it in the worker, so Playwright sees it pending forever.
            if js and email:
                expect(page.locator("body[data-live=open]")).to_have_count(1)
            problems = axe_violations(page)
            if not page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"):
                problems.append("the page scrolls sideways")
            if problems:
                found[path] = problems
        context.close()
    assert not found, "\n".join(f"{p}: {v}" for p, vs in found.items() for v in vs)
