"""Do wrong-password loops stall the other requests of their gevent worker?

    .venv/bin/python bench/hash_stall.py [--loops 4] [--seconds 6]

Starts one gunicorn gevent worker (temporary SQLite, REDIS_URL or redis://127.0.0.1:6379/12,
rate limits off), polls /healthz every 10 ms from a thread, and compares its latency idle
with its latency while `--loops` threads POST wrong current passwords to /password/change
(each one a ~120 ms scrypt) as fast as they can.
"""

import argparse
import contextlib
import http.cookiejar
import os
import re
import sys
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

CSRF = re.compile(r'name="csrf-token" content="([^"]+)"')


def login(base):
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    token = CSRF.search(opener.open(f"{base}/login").read().decode()).group(1)
    data = f"email=b%40example.test&password=bench+password+1&csrf_token={token}".encode()
    page = opener.open(f"{base}/login", data=data).read().decode()
    return opener, CSRF.search(page).group(1)


def guess(base, stop, counts):
    opener, token = login(base)
    body = (
        f"csrf_token={token}&current=wrong+guess+123&password=another+password+1"
        "&confirm=another+password+1"
    ).encode()
    while not stop.is_set():
        with contextlib.suppress(urllib.error.HTTPError):  # 400: wrong current password
            opener.open(f"{base}/password/change", data=body, timeout=60).read()
        counts.append(1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--loops", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=6)
    args = parser.parse_args()
    port = harness.free_port()
    env = {"PASSWORD_CHANGE_MAX_FAILURES": "1000000"}
    server = harness.served(harness.scratch("portal-bench-hash-"), port, env)
    base = f"http://127.0.0.1:{port}"
    try:
        idle, counts = harness.idle_latencies(f"{base}/healthz"), []
        stop = threading.Event()
        loops = [
            threading.Thread(target=guess, args=(base, stop, counts)) for _ in range(args.loops)
        ]
        for loop in loops:
            loop.start()
        time.sleep(1)  # the loops are logged in and hashing
        with harness.Polling(f"{base}/healthz") as busy:
            time.sleep(args.seconds)
        stop.set()
        for loop in loops:
            loop.join(60)
    finally:
        harness.stop(server)
    print(f"{args.loops} wrong-password loops, {len(counts)} attempts in ~{args.seconds + 1:.0f} s")
    for label, samples in (("/healthz idle", idle), ("/healthz during loops", busy)):
        median, p99, worst = harness.summary(samples)
        print(f"{label:<22} median {median:6.1f} ms  p99 {p99:6.1f} ms  max {worst:6.1f} ms")


if __name__ == "__main__":
    main()
