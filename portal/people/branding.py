"""The firm's logo (Settings → Client portal): checked, re-encoded, stored as a setting."""

import base64
import hashlib
import io
import tempfile

from portal.infra import settings
from portal.messaging.images import ImageRefused, decode

#: Largest logo file accepted, and the formats: no animations, nothing that carries scripts.
LOGO_MAX_BYTES = 1024 * 1024
LOGO_FORMATS = {"PNG", "JPEG", "WEBP"}
#: Longest side of the stored logo: enough for a sidebar, a login page and an email.
LOGO_SIDE = 512
#: Pixels decoded at most (a 1 MB file can still declare a huge canvas).
LOGO_MAX_PIXELS = 25_000_000

REFUSED = "The logo must be a PNG, JPEG or WebP image of at most 1 MB."


def set_logo(upload, actor):
    """Store `upload` (a werkzeug FileStorage) as the logo: re-encoded as a PNG without
    metadata, at most LOGO_SIDE pixels on its longest side. SettingError if refused."""
    data = upload.stream.read(LOGO_MAX_BYTES + 1)
    if not data or len(data) > LOGO_MAX_BYTES:
        raise settings.SettingError(REFUSED, settings.LOGO)
    png = _reencoded(data)
    version = hashlib.sha256(png).hexdigest()[:12]
    encoded = base64.b64encode(png).decode("ascii")
    return settings.store({settings.LOGO: encoded, settings.LOGO_VERSION: version}, actor)


def remove_logo(actor):
    return settings.store({settings.LOGO: "", settings.LOGO_VERSION: ""}, actor)


def _reencoded(data):
    with tempfile.NamedTemporaryFile() as source:
        source.write(data)
        source.flush()
        try:
            picture = decode(source.name, max_pixels=LOGO_MAX_PIXELS, max_frames=1)
        except ImageRefused:
            picture = None
    if picture is None or picture.format not in LOGO_FORMATS or len(picture.frames) != 1:
        raise settings.SettingError(REFUSED, settings.LOGO)
    image = picture.frames[0].copy()
    image.thumbnail((LOGO_SIDE, LOGO_SIDE))
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()
