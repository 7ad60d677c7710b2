"""Serving files: headers that keep the browser safe, names, and who may download."""

import io
import re
from urllib.parse import quote, unquote

import pytest
from PIL import Image

from portal.extensions import db
from portal.messaging.filenames import clean_filename, content_disposition, from_browser
from portal.messaging.rooms import set_participants
from portal.models import Room, User
from tests.files_helpers import (
    HTML_PAGE,
    SVG_WITH_SCRIPT,
    attachments,
    jpeg_with_exif,
    send,
)

SANDBOX = "sandbox; default-src 'none'"


@pytest.fixture
def room_id(make_room):
    return make_room("Files")


@pytest.fixture
def uploaded(client, app, people, room_id):
    """Staff sends a photo, an SVG, an HTML page and a text file; returns their attachments."""
    client.login("staff@example.test")
    files = [
        (jpeg_with_exif(1600, 1000), "photo.jpg"),
        (SVG_WITH_SCRIPT, "logo.svg"),
        (HTML_PAGE, "photo.png"),
        (b"plain words", "notes.txt"),
    ]
    assert send(client, room_id, files).status_code == 302
    client.logout()
    return {a.filename: a for a in attachments(app)}


def url(attachment, thumb=False):
    return f"/files/{attachment.id}/{quote(attachment.filename)}" + ("?thumb=1" if thumb else "")


def assert_safe_headers(response):
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"] == SANDBOX
    cache = response.headers["Cache-Control"]
    assert "private" in cache and "no-cache" in cache and "public" not in cache
    assert response.headers.get("ETag")  # revalidation is a cheap 304


def test_image_is_served_inline(client, uploaded):
    client.login("client@example.test")
    response = client.get(url(uploaded["photo.jpg"]))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/jpeg"
    assert response.headers["Content-Disposition"] == (
        "inline; filename=\"photo.jpg\"; filename*=UTF-8''photo.jpg"
    )
    assert_safe_headers(response)
    assert Image.open(io.BytesIO(response.data)).size == (1000, 1600)


def test_thumbnail(client, uploaded):
    client.login("client@example.test")
    response = client.get(url(uploaded["photo.jpg"], thumb=True))
    assert response.status_code == 200 and response.headers["Content-Type"] == "image/webp"
    assert_safe_headers(response)
    assert Image.open(io.BytesIO(response.data)).size == (500, 800)


@pytest.mark.parametrize(
    "name,content_type",
    [
        ("logo.svg", "application/octet-stream"),
        ("photo.png", "application/octet-stream"),
        ("notes.txt", "text/plain; charset=utf-8"),
    ],
)
def test_other_files_are_downloads(client, uploaded, name, content_type):
    client.login("client@example.test")
    for thumb in (False, True):
        response = client.get(url(uploaded[name], thumb=thumb))
        assert response.status_code == 200
        assert response.headers["Content-Type"] == content_type
        assert response.headers["Content-Disposition"].startswith("attachment; ")
        assert_safe_headers(response)


def test_room_page_shows_thumbnail_and_download_links(client, uploaded, room_id):
    client.login("client@example.test")
    page = client.get(f"/portal/rooms/{room_id}").get_data(as_text=True)
    photo, svg = uploaded["photo.jpg"], uploaded["logo.svg"]
    assert f'<a href="{url(photo)}" target="_blank"' in page
    assert f'src="{url(photo, thumb=True)}"' in page and 'width="500" height="800"' in page
    assert f'<a href="{url(svg)}" download>' in page
    assert '<span class="file-name">logo.svg</span>' in page and "SVG · " in page
    assert "<svg" not in page and "<script>alert" not in page


def test_wrong_filename_redirects_to_the_canonical_url(client, uploaded):
    client.login("client@example.test")
    photo = uploaded["photo.jpg"]
    response = client.get(f"/files/{photo.id}/other.jpg?thumb=1")
    assert response.status_code == 302
    assert response.headers["Location"] == url(photo, thumb=True)


def test_conditional_request(client, uploaded):
    client.login("client@example.test")
    first = client.get(url(uploaded["notes.txt"]))
    again = client.get(url(uploaded["notes.txt"]), headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


# Who may download (PRODUCT.md §2): everyone else gets the same 404


@pytest.mark.parametrize("who", ["staff", "client", "staff_all"])
def test_people_who_can_view_the_room_can_download(client, uploaded, people, who):
    client.login(f"{who}@example.test")
    assert client.get(url(uploaded["notes.txt"])).status_code == 200


@pytest.mark.parametrize("who", ["outsider", "admin"])
def test_people_outside_the_room_get_404(client, make_room, uploaded, people, who):
    make_room("Their own room", members=(who,))
    client.login(f"{who}@example.test")
    for attachment in uploaded.values():
        assert client.get(url(attachment)).status_code == 404
        assert client.get(url(attachment, thumb=True)).status_code == 404
        # A wrong name doesn't reveal the canonical one either.
        assert client.get(f"/files/{attachment.id}/x").status_code == 404


def test_anonymous_gets_404(client, uploaded):
    for attachment in uploaded.values():
        response = client.get(url(attachment))
        assert response.status_code == 404 and "Location" not in response.headers


def test_guessed_id_gets_404(client, uploaded):
    client.login("client@example.test")
    missing = max(a.id for a in uploaded.values()) + 1
    assert client.get(f"/files/{missing}/photo.jpg").status_code == 404


def test_removed_participant_loses_access(client, app, uploaded, people, room_id):
    client.login("client@example.test")
    assert client.get(url(uploaded["notes.txt"])).status_code == 200
    with app.app_context():
        room = db.session.get(Room, room_id)
        set_participants(room, db.session.get(User, people["staff"].id), [])
    assert client.get(url(uploaded["notes.txt"])).status_code == 404
    assert client.get(url(uploaded["photo.jpg"], thumb=True)).status_code == 404


def test_deactivated_client_loses_access(client, app, uploaded, people):
    client.login("client@example.test")
    with app.app_context():
        db.session.get(User, people["client"].id).active = False
        db.session.commit()
    assert client.get(url(uploaded["notes.txt"])).status_code in (302, 404)


# Names: shown as given (minus what could hurt), never trusted in a header


@pytest.mark.parametrize(
    "given,shown",
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\eve\\report.pdf", "report.pdf"),
        ('say "hi".txt', 'say "hi".txt'),
        ("evil\r\nSet-Cookie: a=1.txt", "evil Set-Cookie: a=1.txt"),
        ("invoice\u202efdp.exe", "invoicefdp.exe"),
        ("zero\u200bwidth\u2066.txt", "zerowidth.txt"),
        ("tab\there.txt", "tab here.txt"),
        ("..", "file"),
        ("", "file"),
        ("  résumé final .docx. ", "résumé final .docx"),
    ],
)
def test_clean_filename(given, shown):
    assert clean_filename(given) == shown


def test_long_names_keep_their_extension():
    name = clean_filename("a" * 300 + ".pdf")
    assert len(name) == 200 and name.endswith("aaa.pdf")
    assert len(clean_filename("b" * 300)) == 200


def test_content_disposition_is_rfc_6266_with_ascii_fallback():
    header = content_disposition("attachment", 'Résumé "final"\\ 100%.pdf')
    assert header == (
        'attachment; filename="Resume _final__ 100_.pdf"; '
        "filename*=UTF-8''R%C3%A9sum%C3%A9%20%22final%22%5C%20100%25.pdf"
    )
    assert content_disposition("inline", "файл.pdf").startswith('inline; filename=".pdf";')


def test_browser_escapes_are_undone():
    assert from_browser("say %22hi%22%0D%0A.txt") == 'say "hi"\r\n.txt'
    assert from_browser("100%25.txt") == "100%25.txt"


# As a browser sends them: `"`, CR and LF percent-escaped in the multipart header.
HOSTILE_NAMES = [
    ("../../../../etc/passwd", "passwd"),
    ("quote%22.txt", 'quote".txt'),
    ("crlf%0D%0AX-Injected: yes.txt", "crlf X-Injected: yes.txt"),
    ("rtl\u202egnp.exe", "rtlgnp.exe"),
    ("x" * 300 + ".txt", "x" * 196 + ".txt"),
]


@pytest.mark.parametrize("sent,shown", HOSTILE_NAMES)
def test_hostile_names_through_upload_and_download(client, app, people, room_id, sent, shown):
    client.login("staff@example.test")
    assert send(client, room_id, [(b"data", sent)]).status_code == 302
    (attachment,) = attachments(app)
    assert attachment.filename == shown
    assert len(attachment.filename) <= 200 and "/" not in attachment.filename
    response = client.get(url(attachment))
    assert response.status_code == 200 and "X-Injected" not in response.headers
    disposition = response.headers["Content-Disposition"]
    assert "\r" not in disposition and "\n" not in disposition and "\u202e" not in disposition
    match = re.fullmatch(
        r'attachment; filename="([^"\\]*)"; filename\*=UTF-8\'\'(\S+)', disposition
    )
    assert match and unquote(match.group(2)) == attachment.filename


def test_revalidation_is_a_304_for_viewers_and_a_404_once_removed(client, app, uploaded, people):
    client.login("client@example.test")
    first = client.get(url(uploaded["photo.jpg"]))
    etag = {"If-None-Match": first.headers["ETag"]}
    assert client.get(url(uploaded["photo.jpg"]), headers=etag).status_code == 304
    with app.app_context():
        from portal.extensions import db
        from portal.messaging.rooms import set_participants
        from portal.models import Attachment, Room, User

        room = db.session.get(Attachment, uploaded["photo.jpg"].id).message.room
        set_participants(
            db.session.get(Room, room.id), db.session.get(User, people["staff"].id), []
        )
    assert client.get(url(uploaded["photo.jpg"]), headers=etag).status_code == 404
