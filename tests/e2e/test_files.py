"""In Chromium: staff attaches an image and a PDF; both pages show the thumbnail and link."""

import re

import pytest

from tests.files_helpers import png

pytestmark = pytest.mark.e2e

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
# Note whether the bar was shown while the composer reported progress, and how far it got.
RECORD_PROGRESS = """() => {
  const bar = document.getElementById("upload-progress");
  window.progressSeen = [false, 0];
  document.getElementById("composer").addEventListener("composer:progress", () => {
    const [shown, furthest] = window.progressSeen;
    window.progressSeen = [shown || !bar.hidden, Math.max(bar.value, furthest)];
  });
}"""


def test_image_and_pdf_appear_for_sender_and_live_for_the_other_participant(
    app, people, make_room, live_server, new_page, login
):
    room_id = make_room("Site photos")
    client_page = login(new_page(), "client@example.test")
    client_page.goto(live_server(f"/portal/rooms/{room_id}"))
    staff_page = login(new_page(), "staff@example.test")
    staff_page.goto(live_server(f"/app/rooms/{room_id}"))

    staff_page.get_by_label("Message", exact=True).fill("Photos from the site visit")
    staff_page.get_by_label("Attach files").set_input_files(
        [
            {"name": "site.png", "mimeType": "image/png", "buffer": png(1600, 1200)},
            {"name": "Quote 2024.pdf", "mimeType": "application/pdf", "buffer": PDF},
        ]
    )
    staff_page.evaluate(RECORD_PROGRESS)
    staff_page.get_by_role("button", name="Send").click()

    see_attachments(staff_page, live_server)
    assert staff_page.evaluate("window.progressSeen") == [True, 100]
    # The other participant's open page gets the message live, without reloading.
    see_attachments(client_page, live_server)

    # The composer was cleared and the progress bar hidden again.
    assert staff_page.get_by_label("Message", exact=True).input_value() == ""
    assert staff_page.get_by_label("Attach files").evaluate("input => input.files.length") == 0
    assert staff_page.locator("#upload-progress").is_hidden()


def test_too_many_files_are_refused_before_uploading_and_the_draft_stays(
    app, people, make_room, live_server, page, login
):
    room_id = make_room("Files")
    login(page, "staff@example.test")
    page.goto(live_server(f"/app/rooms/{room_id}"))
    page.get_by_label("Message", exact=True).fill("Eleven pictures")
    files = [{"name": f"p{i}.png", "mimeType": "image/png", "buffer": png()} for i in range(11)]
    page.get_by_label("Attach files").set_input_files(files)
    page.get_by_role("button", name="Send").click()
    error = page.locator("#composer-error")
    error.filter(has_text="a message can carry at most 10").wait_for()
    assert page.get_by_label("Message", exact=True).input_value() == "Eleven pictures"
    assert page.locator("#messages .message").count() == 0


def see_attachments(page, live_server):
    """The thumbnail (loaded, 800 px wide) and a working download link for the PDF."""
    thumbnail = page.locator("#messages img[alt='site.png']")
    thumbnail.wait_for()
    assert re.search(r"^/files/\d+/site\.png\?thumb=1$", thumbnail.get_attribute("src"))
    page.wait_for_function(
        "img => img.complete && img.naturalWidth === 800", arg=thumbnail.element_handle()
    )
    link = page.get_by_role("link", name="Quote 2024.pdf")
    link.wait_for()
    download = page.request.get(live_server(link.get_attribute("href")))
    assert download.ok and download.body() == PDF
    assert download.headers["content-disposition"].startswith("attachment;")
    assert download.headers["x-content-type-options"] == "nosniff"
