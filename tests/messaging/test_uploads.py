"""Sending files: the composer, type detection, re-encoding, limits and cleanup."""

import io

import pytest
from PIL import Image
from sqlalchemy import func, select

from portal.extensions import db
from portal.messaging import images
from portal.models import Message
from tests.files_helpers import (
    GPS_IFD,
    HTML_PAGE,
    MAKE,
    ORIENTATION,
    SVG_WITH_SCRIPT,
    attachments,
    gif_js_polyglot,
    jpeg_with_exif,
    png,
    png_header_bomb,
    send,
    stored_files,
)

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def room_id(make_room):
    return make_room("Files")


def message_count(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Message))


def read_stored(app, attachment, thumb=False):
    name = attachment.thumb_name if thumb else attachment.storage_name
    with open(f"{app.config['UPLOAD_DIR']}/{name}", "rb") as f:
        return f.read()


# The composer


def test_composer_offers_files_with_progress(client, people, room_id):
    client.login("staff@example.test")
    page = client.get(f"/app/rooms/{room_id}").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page
    assert '<ol id="outbox"' in page  # where upload.js shows messages not sent yet
    assert '<label for="files">Attach files</label>' in page
    assert 'type="file" id="files" name="files" multiple' in page
    assert '<progress id="upload-progress"' in page
    assert "js/upload.js" in page


def test_file_only_message_without_js_redirects(client, app, people, room_id):
    client.login("staff@example.test")
    response = send(client, room_id, [(png(), "chart.png"), (PDF, "Q3 report.pdf")])
    assert response.status_code == 302
    assert "#message-" in response.headers["Location"]
    found = attachments(app)
    assert [(a.filename, a.is_image, a.content_type) for a in found] == [
        ("chart.png", True, "image/png"),
        ("Q3 report.pdf", False, "application/pdf"),
    ]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Q3 report.pdf" in page and f"/files/{found[1].id}/Q3%20report.pdf" in page
    assert f'src="/files/{found[0].id}/chart.png?thumb=1"' in page


def test_file_only_message_with_htmx_returns_the_fragment(client, app, people, room_id):
    client.login("client@example.test")
    response = send(client, room_id, [(PDF, "brief.pdf")], htmx=True, portal=True)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    (attachment,) = attachments(app)
    assert 'class="message"' in html and f'href="/files/{attachment.id}/brief.pdf"' in html
    assert "brief.pdf" in html and "bytes" in html


def test_text_and_files_together(client, app, people, room_id):
    client.login("staff@example.test")
    response = send(client, room_id, [(png(), "a.png")], body="Here you go", htmx=True)
    assert response.status_code == 200
    assert "Here you go" in response.get_data(as_text=True)
    assert len(attachments(app)) == 1


def test_stored_under_server_names_outside_static(client, app, people, room_id):
    client.login("staff@example.test")
    send(client, room_id, [(b"hello", "../../portal/static/evil.txt")])
    (attachment,) = attachments(app)
    assert attachment.filename == "evil.txt"
    (path,) = stored_files(app)
    assert "evil" not in path and path == attachment.storage_name
    assert read_stored(app, attachment) == b"hello"


# Detection by content, never by name or declared type


@pytest.mark.parametrize(
    "content,name,is_image,content_type",
    [
        (png(), "notes.txt", True, "image/png"),
        (HTML_PAGE, "photo.png", False, "application/octet-stream"),
        (SVG_WITH_SCRIPT, "logo.svg", False, "application/octet-stream"),
        (HTML_PAGE, "page.html", False, "application/octet-stream"),
        (b"\x89PNG\r\n\x1a\nnot really", "broken.png", False, "application/octet-stream"),
        (PDF, "contract.pdf", False, "application/pdf"),
    ],
)
def test_type_is_detected_by_content(
    client, app, people, room_id, content, name, is_image, content_type
):
    client.login("staff@example.test")
    assert send(client, room_id, [(content, name)]).status_code == 302
    (attachment,) = attachments(app)
    assert (attachment.is_image, attachment.content_type) == (is_image, content_type)
    if not is_image:
        assert read_stored(app, attachment) == content
        assert attachment.storage_name.endswith(".bin")


def test_gif_polyglot_is_re_encoded_without_its_script(client, app, people, room_id):
    client.login("staff@example.test")
    send(client, room_id, [(gif_js_polyglot(), "cat.gif")])
    (attachment,) = attachments(app)
    assert attachment.is_image and attachment.content_type == "image/gif"
    stored = read_stored(app, attachment)
    assert b"alert" not in stored
    assert Image.open(io.BytesIO(stored)).format == "GIF"


def test_exif_orientation_applied_metadata_stripped_and_thumbnail(client, app, people, room_id):
    client.login("staff@example.test")
    send(client, room_id, [(jpeg_with_exif(1600, 1000), "holiday.jpg")])
    (attachment,) = attachments(app)
    # Orientation 6 turns the 1600×1000 landscape into a 1000×1600 portrait.
    assert (attachment.width, attachment.height) == (1000, 1600)
    full = read_stored(app, attachment)
    thumb = read_stored(app, attachment, thumb=True)
    for data in (full, thumb):
        assert b"SpyCam" not in data and b"secret comment" not in data
        image = Image.open(io.BytesIO(data))
        exif = image.getexif()
        assert ORIENTATION not in exif and MAKE not in exif and not exif.get_ifd(GPS_IFD)
        assert "exif" not in image.info and "comment" not in image.info
    assert Image.open(io.BytesIO(full)).size == (1000, 1600)
    assert Image.open(io.BytesIO(thumb)).size == (500, 800)
    assert attachment.size == len(full)


def test_small_image_has_no_separate_thumbnail(client, app, people, room_id):
    client.login("staff@example.test")
    send(client, room_id, [(png(800, 300), "banner.png")])
    (attachment,) = attachments(app)
    assert attachment.thumb_name is None and (attachment.width, attachment.height) == (800, 300)


def test_animated_gif_keeps_its_frames(client, app, people, room_id):
    frames = [Image.new("RGB", (900, 60), c) for c in [(255, 0, 0), (0, 255, 0), (0, 0, 255)]]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=80, loop=0)
    client.login("staff@example.test")
    send(client, room_id, [(out.getvalue(), "spinner.gif")])
    (attachment,) = attachments(app)
    assert Image.open(io.BytesIO(read_stored(app, attachment))).n_frames == 3
    assert Image.open(io.BytesIO(read_stored(app, attachment, thumb=True))).size == (800, 53)


# Refusals: a clear message, the draft kept, nothing stored


def assert_nothing_stored(app):
    assert message_count(app) == 0
    assert attachments(app) == []
    assert stored_files(app) == []


def test_too_many_files(client, app, people, room_id):
    client.login("staff@example.test")
    files = [(png(), f"p{i}.png") for i in range(11)]
    response = send(client, room_id, files, body="All the pictures", htmx=True)
    assert response.status_code == 422
    assert response.headers["HX-Retarget"] == "#composer-error"
    assert "You attached 11 files; a message can carry at most 10" in response.get_data(
        as_text=True
    )
    assert_nothing_stored(app)


def test_ten_files_are_fine(client, app, people, room_id):
    client.login("staff@example.test")
    send(client, room_id, [(png(), f"p{i}.png") for i in range(10)])
    assert len(attachments(app)) == 10 and message_count(app) == 1


def test_one_byte_over_the_file_limit(client, app, people, room_id, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_UPLOAD_MB", 1)
    client.login("staff@example.test")
    limit = 1024 * 1024
    files = [(png(), "first.png"), (b"x" * limit, "exact.bin"), (b"x" * (limit + 1), "big.zip")]
    response = send(client, room_id, files, body="Keep this draft")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "“big.zip” is larger than 1 MB, the limit for one file." in page
    assert "Keep this draft" in page
    assert_nothing_stored(app)


def test_request_over_the_cap_is_413_naming_the_limits(client, app, people, room_id, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_UPLOAD_MB", 1)
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 2 * 1024 * 1024)
    client.login("staff@example.test")
    for htmx in (False, True):
        response = send(client, room_id, [(b"x" * (2 * 1024 * 1024), "huge.bin")], htmx=htmx)
        assert response.status_code == 413
        text = response.get_data(as_text=True)
        assert "Each file can be at most 1 MB" in text and "at most 10 files" in text
    assert_nothing_stored(app)


def test_decompression_bomb_is_refused(client, app, people, room_id):
    bomb = png_header_bomb(30_000, 30_000)
    assert len(bomb) < 200_000
    client.login("staff@example.test")
    response = send(client, room_id, [(png(), "ok.png"), (bomb, "innocent.png")], htmx=True)
    assert response.status_code == 422
    assert "“innocent.png” has too many pixels" in response.get_data(as_text=True)
    assert_nothing_stored(app)


def test_pixel_flood_just_past_the_limit_is_refused(app, tmp_path):
    path = tmp_path / "flood.png"
    path.write_bytes(png_header_bomb(8000, images.MAX_PIXELS // 8000 + 1))
    with pytest.raises(images.ImageRefused):
        images.decode(path)


def test_animation_past_the_pixel_budget_is_refused(tmp_path):
    frames = [Image.new("L", (100, 100), i) for i in range(20)]
    path = tmp_path / "long.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    with pytest.raises(images.ImageRefused):
        images.decode(path, max_pixels=100 * 100 * 10)


def test_refused_message_text_removes_the_files(client, app, people, room_id):
    client.login("staff@example.test")
    response = send(client, room_id, [(png(), "a.png")], body="x" * 10_001, htmx=True)
    assert response.status_code == 422
    assert_nothing_stored(app)


def test_failed_commit_removes_the_files(client, app, people, room_id, monkeypatch):
    def broken(*args):
        raise RuntimeError("database went away")

    client.login("staff@example.test")
    # The message row is flushed, then the transaction fails before it commits.
    monkeypatch.setattr("portal.messaging.reading.advance_read", broken)
    with pytest.raises(RuntimeError):
        send(client, room_id, [(png(), "a.png"), (PDF, "b.pdf")])
    monkeypatch.undo()
    assert_nothing_stored(app)


def test_double_submit_keeps_one_message_and_no_orphans(client, app, people, room_id):
    client.login("staff@example.test")
    url = f"/app/rooms/{room_id}/messages"
    for _ in range(2):
        data = {
            "body": "",
            "client_msg_id": "same-id-123456",
            "files": [(io.BytesIO(PDF), "a.pdf")],
        }
        assert client.form_post(url, data, content_type="multipart/form-data").status_code == 302
    assert message_count(app) == 1
    (attachment,) = attachments(app)
    assert stored_files(app) == [attachment.storage_name]


def test_empty_message_without_files_is_refused(client, app, people, room_id):
    client.login("staff@example.test")
    response = send(client, room_id, [(b"", "")], htmx=True)
    assert response.status_code == 422
    assert "Write a message or attach a file" in response.get_data(as_text=True)


def test_outsider_cannot_upload(client, app, people, room_id):
    client.login("outsider@example.test")
    assert send(client, room_id, [(PDF, "x.pdf")], portal=True).status_code == 404
    assert_nothing_stored(app)


def test_png_text_exif_and_icc_are_dropped(client, app, people, room_id):
    from PIL import ImageCms, PngImagePlugin

    text = PngImagePlugin.PngInfo()
    text.add_text("Author", "Jane Secret")
    exif = Image.Exif()
    exif[MAKE] = "SpyCam 3000"
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    out = io.BytesIO()
    Image.new("RGB", (50, 50), (1, 2, 3)).save(out, "PNG", pnginfo=text, exif=exif, icc_profile=icc)
    client.login("staff@example.test")
    send(client, room_id, [(out.getvalue(), "scan.png")])
    (attachment,) = attachments(app)
    stored = read_stored(app, attachment)
    assert b"Jane Secret" not in stored and b"SpyCam" not in stored
    image = Image.open(io.BytesIO(stored))
    assert "icc_profile" not in image.info and not image.getexif()


def test_room_list_names_the_file_of_a_file_only_message(client, app, people, room_id):
    client.login("staff@example.test")
    files = [(b"one", "report.pdf"), (b"two", "notes.txt")]
    assert send(client, room_id, files, body="").status_code == 302
    listing = client.get("/app/rooms").get_data(as_text=True)
    assert "Staff: sent report.pdf and 1 more" in listing
