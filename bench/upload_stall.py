"""Does a big image upload stall the other requests of its gevent worker?

    .venv/bin/python bench/upload_stall.py [--side 2000] [--uploads 3]

Starts one gunicorn gevent worker (temporary SQLite, REDIS_URL or redis://127.0.0.1:6379/12),
polls /healthz every 10 ms from a thread, and compares its latency while idle (the
baseline) with its latency while a large noise PNG is uploaded, verified, re-encoded
and thumbnailed by the same worker.
"""

import argparse
import http.cookiejar
import io
import os
import re
import statistics
import sys
import time
import urllib.request
import uuid

from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402


def multipart(fields, files):
    boundary = uuid.uuid4().hex
    out = io.BytesIO()
    for name, value in fields.items():
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode())
        out.write(f"{value}\r\n".encode())
    for name, (filename, data) in files.items():
        out.write(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: image/png\r\n\r\n'.encode()
        )
        out.write(data + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--side", type=int, default=2000)
    parser.add_argument("--uploads", type=int, default=3)
    args = parser.parse_args()
    port = harness.free_port()
    server = harness.served(harness.scratch("portal-bench-upload-"), port)
    base = f"http://127.0.0.1:{port}"
    try:
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        token = re.search(
            r'name="csrf-token" content="([^"]+)"', opener.open(f"{base}/login").read().decode()
        ).group(1)
        data = f"email=b%40example.test&password=bench+password+1&csrf_token={token}".encode()
        opener.open(f"{base}/login", data=data)
        new = opener.open(f"{base}/app/rooms/new").read().decode()
        token = re.search(r'name="csrf-token" content="([^"]+)"', new).group(1)
        room = opener.open(f"{base}/app/rooms", data=f"title=Bench&csrf_token={token}".encode())
        room_url = room.url.split("#")[0]

        noise = Image.frombytes(
            "RGB", (args.side, args.side), os.urandom(args.side * args.side * 3)
        )
        png = io.BytesIO()
        noise.save(png, "PNG")
        png = png.getvalue()

        idle, upload_ms = harness.idle_latencies(f"{base}/healthz"), []
        with harness.Polling(f"{base}/healthz") as busy:
            for n in range(args.uploads):
                body, ctype = multipart(
                    {"csrf_token": token, "body": f"upload {n}"},
                    {"files": (f"noise{n}.png", png)},
                )
                request = urllib.request.Request(
                    f"{room_url}/messages", data=body, headers={"Content-Type": ctype}
                )
                start = time.perf_counter()
                opener.open(request, timeout=120).read()
                upload_ms.append((time.perf_counter() - start) * 1000)
    finally:
        harness.stop(server)
    rows = [
        ("/healthz idle (baseline)", harness.summary(idle)),
        ("/healthz during uploads", harness.summary(busy)),
    ]
    print(
        f"{args.side}x{args.side} noise PNG ({len(png) / 1e6:.1f} MB), {args.uploads} uploads, "
        f"mean upload {statistics.mean(upload_ms):.0f} ms"
    )
    for label, (median, p99, worst) in rows:
        print(f"{label:<25} median {median:6.1f} ms  p99 {p99:6.1f} ms  max {worst:6.1f} ms")
    (i_med, _, i_max), (b_med, _, b_max) = rows[0][1], rows[1][1]
    print(f"ratio during/idle         median {b_med / i_med:5.1f}x  max {b_max / i_max:5.1f}x")


if __name__ == "__main__":
    main()
