"""Time per uploaded image against a bare Pillow `Image.thumbnail`, for a few sizes.

    .venv/bin/python bench/thumbnails.py [--repeat 5]

For each size a photo-like JPEG (and one PNG) is written to a temporary folder, then
timed three ways, best of `--repeat`:
- baseline: `Image.open` + `Image.thumbnail((800, 800))` + save as WebP — bare Pillow;
- thumbnail: `portal.messaging.images.save_thumbnail` on the decoded image — our thumbnail step;
- upload: `portal.messaging.images.decode` + `save` + `save_thumbnail` — everything an upload costs
  (full decode of every pixel, EXIF orientation, metadata-free re-encode, thumbnail).
"""

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from PIL import Image  # noqa: E402

from portal import images  # noqa: E402

SIZES = [("JPEG", 1200, 900), ("JPEG", 4032, 3024), ("JPEG", 6000, 4000), ("PNG", 2000, 2000)]


def photo(width, height):
    """Gradients plus noise: compresses roughly like a photo, unlike a flat colour."""
    noise = [Image.effect_noise((width, height), 40 + 10 * i) for i in range(3)]
    gradient = Image.linear_gradient("L").resize((width, height))
    channels = [Image.blend(gradient, n, 0.35) for n in noise]
    return Image.merge("RGB", channels)


def best(repeat, work):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times) * 1000


def baseline(source, target):
    with Image.open(source) as image:
        image.thumbnail((images.THUMB_SIDE, images.THUMB_SIDE))
        image.save(target, images.THUMB_FORMAT, quality=80)


def upload(source, folder):
    picture = images.decode(source)
    images.save(picture, os.path.join(folder, "full" + picture.extension))
    images.save_thumbnail(picture, os.path.join(folder, "thumb.webp"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"Pillow {Image.__version__}, best of {args.repeat}; thumbnails {images.THUMB_SIDE} px")
    print(
        f"{'image':<18}{'bytes':>11}{'baseline ms':>13}{'thumb ms':>10}{'upload ms':>11}"
        f"{'thumb/base':>12}{'upload/base':>13}"
    )
    with tempfile.TemporaryDirectory() as folder:
        for fmt, width, height in SIZES:
            source = os.path.join(folder, f"source-{width}x{height}.{fmt.lower()}")
            photo(width, height).save(source, fmt, **({"quality": 90} if fmt == "JPEG" else {}))
            target = os.path.join(folder, "baseline.webp")
            base = best(args.repeat, lambda s=source, t=target: baseline(s, t))
            picture = images.decode(source)
            thumb_path = os.path.join(folder, "thumb.webp")
            thumb = best(args.repeat, lambda p=picture, t=thumb_path: images.save_thumbnail(p, t))
            full = best(args.repeat, lambda s=source: upload(s, folder))
            label = f"{fmt} {width}×{height}"
            print(
                f"{label:<18}{os.path.getsize(source):>11,}{base:>13.1f}{thumb:>10.1f}"
                f"{full:>11.1f}{thumb / base:>12.2f}{full / base:>13.2f}"
            )


if __name__ == "__main__":
    main()
