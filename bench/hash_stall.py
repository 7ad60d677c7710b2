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
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from upload_stall import BIN, ROOT, free_port, poll, summary  # noqa: E402

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
    tmp = tempfile.mkdtemp(prefix="portal-bench-hash-")
    env = dict(
        os.environ,
        PORTAL_INSTANCE_PATH=tmp,
        DATABASE_URL=f"sqlite:///{tmp}/bench.sqlite3",
        REDIS_URL=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/12"),
        RATELIMIT_ENABLED="0",
        PASSWORD_CHANGE_MAX_FAILURES="1000000",
    )
    run = {"cwd": ROOT, "env": env, "check": True, "capture_output": True}
    subprocess.run([f"{BIN}/flask", "--app", "wsgi", "db", "upgrade"], **run)
    subprocess.run(
        [f"{BIN}/flask", "--app", "wsgi", "users", "create", "b@example.test", "--name", "B",
         "--kind", "internal", "--password", "bench password 1"],
        **run,
    )  # fmt: skip
    port = free_port()
    server = subprocess.Popen(
        [f"{BIN}/gunicorn", "--worker-class", "gevent", "-w", "1", "--no-control-socket",
         "--bind", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        idle, busy, counts = [], [], []
        stop = threading.Event()
        poller = threading.Thread(target=poll, args=(f"{base}/healthz", stop, idle))
        poller.start()
        time.sleep(2)
        stop.set()
        poller.join()
        stop = threading.Event()
        loops = [
            threading.Thread(target=guess, args=(base, stop, counts)) for _ in range(args.loops)
        ]
        for loop in loops:
            loop.start()
        time.sleep(1)  # the loops are logged in and hashing
        poller = threading.Thread(target=poll, args=(f"{base}/healthz", stop, busy))
        poller.start()
        time.sleep(args.seconds)
        stop.set()
        poller.join()
        for loop in loops:
            loop.join(60)
    finally:
        server.terminate()
        server.wait(10)
    print(f"{args.loops} wrong-password loops, {len(counts)} attempts in ~{args.seconds + 1:.0f} s")
    for label, samples in (("/healthz idle", idle), ("/healthz during loops", busy)):
        median, p99, worst = summary(samples)
        print(f"{label:<22} median {median:6.1f} ms  p99 {p99:6.1f} ms  max {worst:6.1f} ms")


if __name__ == "__main__":
    main()
