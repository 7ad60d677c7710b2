"""Real files for the upload tests: images made with Pillow, hostile files made by hand."""

import io
import os
import struct
import zlib

from PIL import Image

from portal.extensions import db
from portal.models import Attachment

HX = {"HX-Request": "true"}
MULTIPART = "multipart/form-data"
ORIENTATION, MAKE, GPS_IFD = 0x0112, 0x010F, 0x8825


def png(width=40, height=30, color=(10, 120, 200)):
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return out.getvalue()


def jpeg_with_exif(width=1600, height=1000):
    """A landscape JPEG tagged 'rotate 90° clockwise' (orientation 6), with GPS and a camera."""
    image = Image.new("RGB", (width, height), (200, 40, 40))
    image.paste((20, 20, 220), (0, 0, width // 4, height // 4))
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    exif[MAKE] = "SpyCam 3000"
    gps = exif.get_ifd(GPS_IFD)
    gps[1], gps[2] = "N", (51.0, 30.0, 26.0)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, comment=b"secret comment")
    return out.getvalue()


def gif_js_polyglot():
    """A valid GIF that is also JavaScript: `GIF89a/*…*/=1;alert(document.domain)//`."""
    out = io.BytesIO()
    Image.new("P", (0x2A2F, 1)).save(out, "GIF")  # width 0x2a2f, little-endian: "/*"
    data = b"GIF89a" + out.getvalue()[6:]  # Pillow may write the (equally valid) 87a header
    assert data.startswith(b"GIF89a/*")
    return data + b"*/=1;alert(document.domain)//"


def png_header_bomb(width, height):
    """A tiny PNG declaring `width`×`height` 1-bit pixels, all zero: a decompression bomb."""

    def chunk(kind, payload):
        body = kind + payload
        return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" * (1 + (width + 7) // 8)
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


SVG_WITH_SCRIPT = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(document.cookie)</script><rect width='10' height='10'/></svg>"
)
HTML_PAGE = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"


def send(client, room_id, files, body="", htmx=False, portal=False):
    """POST the composer with `files` as (bytes, name) pairs."""
    url = f"/{'portal' if portal else 'app'}/rooms/{room_id}/messages"
    data = {"body": body, "files": [(io.BytesIO(content), name) for content, name in files]}
    return client.form_post(url, data, content_type=MULTIPART, headers=HX if htmx else {})


def attachments(app):
    """Every stored attachment, oldest first, detached."""
    with app.app_context():
        found = db.session.scalars(db.select(Attachment).order_by(Attachment.id)).all()
        db.session.expunge_all()
        return found


def stored_files(app):
    """Relative paths of every file under UPLOAD_DIR."""
    root = app.config["UPLOAD_DIR"]
    return sorted(
        os.path.relpath(os.path.join(folder, name), root)
        for folder, _dirs, names in os.walk(root)
        for name in names
    )
