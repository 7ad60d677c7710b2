"""The installed portal's home-screen icons, drawn from the branding (Pillow)."""

import functools
import io

from PIL import Image, ImageDraw, ImageFont

#: What Android and iOS ask a web app manifest for.
ICON_SIZES = (192, 512)


@functools.lru_cache(maxsize=16)
def app_icon(name, colour, size):
    """PNG bytes: the first letter of `name` in white on `colour`, a full square (the
    platforms round it themselves)."""
    image = Image.new("RGB", (size, size), colour)
    draw = ImageDraw.Draw(image)
    letter = (name.strip()[:1] or "P").upper()
    font = ImageFont.load_default(size=size * 0.55)
    draw.text((size / 2, size / 2), letter, fill="white", font=font, anchor="mm")
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
