"""Images: recognised by content, re-encoded without metadata, thumbnailed.

Only PNG, JPEG, GIF and WebP count as images, and only once Pillow has decoded every
frame; anything else is an ordinary file. Sizes are checked from the header before any
pixel is decoded, so a decompression bomb is refused without being expanded.
"""

import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError

FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}
EXTENSIONS = {"PNG": ".png", "JPEG": ".jpg", "GIF": ".gif", "WEBP": ".webp"}
#: Pixels per image (summed over an animation's frames): 40 MP is a large phone photo.
MAX_PIXELS = 40_000_000
#: Frames per animation: enough for any sticker or screen recording worth sharing.
MAX_FRAMES = 200
#: What each frame costs at least, in pixels: seeking, compositing and re-encoding a frame
#: has a fixed price, so thousands of 1×1 frames are as costly as one large image.
FRAME_MIN_PIXELS = 64 * 1024
THUMB_SIDE = 800
THUMB_FORMAT, THUMB_EXTENSION, THUMB_TYPE = "WEBP", ".webp", "image/webp"

# Pillow refuses anything past twice this itself; our own check below comes first.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


class ImageRefused(Exception):
    """An image too large to decode safely."""


def frame_cost(width, height):
    """The pixel budget one frame of this size uses."""
    return max(width * height, FRAME_MIN_PIXELS)


@dataclass
class Picture:
    """A decoded image, ready to be written."""

    format: str
    frames: list
    durations: list
    loop: int

    @property
    def size(self):
        return self.frames[0].size

    @property
    def content_type(self):
        return FORMATS[self.format]

    @property
    def extension(self):
        return EXTENSIONS[self.format]


def decode(path, max_pixels=MAX_PIXELS, max_frames=MAX_FRAMES):
    """The image at `path` fully decoded and oriented, None if it isn't one; refuses bombs."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(path, formats=list(FORMATS)) as image:
                return _decode(image, max_pixels, max_frames)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageRefused(str(exc)) from exc
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
            # Not an image, or a damaged one: it is kept as an ordinary file.
            return None


def _decode(image, max_pixels, max_frames):
    width, height = image.size
    if width * height > max_pixels:
        raise ImageRefused(f"{width}×{height} pixels")
    # Formats that state their frame count in the header are refused before any decoding.
    declared = getattr(image, "n_frames", 1) if image.format != "GIF" else 1
    if declared > max_frames:
        raise ImageRefused(f"{declared} frames (the limit is {max_frames})")
    animated = getattr(image, "is_animated", False)
    frames, durations, cost = [], [], 0
    # Seeking decodes the previous frame, so count before going further; a frame is only
    # decoded (in _clean) once its own size has been charged against the budget.
    for index, frame in enumerate(ImageSequence.Iterator(image)):
        if index + 1 > max_frames:
            raise ImageRefused(f"more than {max_frames} frames")
        cost += frame_cost(*frame.size)
        if cost > max_pixels:
            raise ImageRefused(f"{index + 1} frames of {width}×{height} pixels")
        frames.append(_clean(frame, animated))
        durations.append(frame.info.get("duration", 100))
    return Picture(image.format, frames, durations, image.info.get("loop", 0))


def _clean(frame, animated):
    """A copy holding only pixels: EXIF orientation applied, every metadata block dropped."""
    frame.load()
    if animated:
        clean = frame.convert("RGBA")
    else:
        clean = ImageOps.exif_transpose(frame)
        alpha = clean.mode in ("RGBA", "LA", "PA") or "transparency" in clean.info
        if clean.mode not in ("RGB", "RGBA", "L", "LA"):
            clean = clean.convert("RGBA" if alpha else "RGB")
    clean.info = {}
    return clean


def save(picture, path):
    """Write the image in its own format, with nothing but its pixels (and timing)."""
    first = picture.frames[0]
    if picture.format == "JPEG":
        pixels = first if first.mode in ("RGB", "L") else first.convert("RGB")
        pixels.save(path, "JPEG", quality=90)
    elif len(picture.frames) > 1:
        first.save(
            path,
            picture.format,
            save_all=True,
            append_images=picture.frames[1:],
            duration=picture.durations,
            loop=picture.loop,
            disposal=2,
        )
    elif picture.format == "WEBP":
        first.save(path, "WEBP", quality=90)
    else:
        first.save(path, picture.format)


def save_thumbnail(picture, path, side=THUMB_SIDE):
    """Write a thumbnail (longest side `side`); False when the image is already that small."""
    first = picture.frames[0]
    if max(first.size) <= side:
        return False
    thumb = first.copy()
    thumb.thumbnail((side, side))
    thumb.save(path, THUMB_FORMAT, quality=80)
    return True
