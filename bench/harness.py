"""What every benchmark shares, written once: free ports, server processes and their CPU and
memory, a migrated instance of the app, an embedded Redis, a bare Flask baseline, percentiles.

Benchmarks run from a checkout (`.venv/bin/python bench/NAME.py`); importing this module puts the
checkout and bench/ on `sys.path`, so the scripts import it first.
"""

import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)
for _path in (os.path.join(ROOT, "bench"), ROOT):
    if _path not in sys.path:
        sys.path.insert(0, _path)


# ----------------------------------------------------------------------------- processes


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url, process=None, timeout=60):
    """Until `url` answers below 500; gives up early when `process` has exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise SystemExit(f"the server exited ({process.returncode}) before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status < 500:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"nothing answered {url}")


def wait_port(port, timeout=60):
    """Until something listens on 127.0.0.1:`port`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"nothing listening on {port}")


def start(command, env, log_path=None):
    """`command` (a shell line) in its own session, from the checkout, with this venv's
    scripts first on PATH; output to `log_path` or nowhere."""
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
    env = {**env, "PATH": BIN + os.pathsep + env.get("PATH", "")}
    process = subprocess.Popen(
        ["sh", "-c", command],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    process.log = log
    return process


def stop(process):
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)
    if process.log is not subprocess.DEVNULL:
        process.log.close()


def gunicorn(port, workers=1, *options):
    """A gunicorn line with gevent workers on 127.0.0.1:`port` (the Procfile's web line is
    `web_command()`; single-purpose benchmarks use this narrower one)."""
    return " ".join(
        [
            "exec gunicorn --worker-class gevent --no-control-socket",
            f"--workers {workers} --bind 127.0.0.1:{port}",
            *options,
            "wsgi:app",
        ]
    )


def web_command():
    """The Procfile's web line, as `make run` starts it."""
    with open(os.path.join(ROOT, "Procfile")) as f:
        for line in f:
            if line.startswith("web:"):
                return line.split(":", 1)[1].strip()
    raise SystemExit("no web line in the Procfile")


def descendants(pid):
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    children = [int(p) for p in out.split()]
    return children + [d for c in children for d in descendants(c)]


def workers(process):
    """The gunicorn worker processes (children of the master under `sh -c exec`)."""
    found = [p for p in descendants(process.pid) if not descendants(p)]
    return found or [process.pid]


def rss_kib(pids):
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/status") as f:
            total += next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    return total


def cpu_seconds(pids, reaped=False):
    """User + system CPU seconds of `pids` (a process gone meanwhile counts 0); with
    `reaped`, also of their children that ended (PostgreSQL's postmaster reaps every
    backend that closes, so a connection closed during a load still counts)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        total += int(fields[11]) + int(fields[12])
        if reaped:
            total += int(fields[13]) + int(fields[14])
    return total / ticks


def named_pids(name):
    out = subprocess.run(["pgrep", "-x", name], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


# ----------------------------------------------------------------------------- figures


def pct(samples, p):
    """The `p` quantile (0..1) of sorted `samples`; NaN when there are none."""
    return samples[min(len(samples) - 1, int(len(samples) * p))] if samples else float("nan")


def summary(samples):
    """Median, p99 and worst of `samples`."""
    samples = sorted(samples)
    return statistics.median(samples), pct(samples, 0.99), samples[-1]


class Polling:
    """`url` fetched every 10 ms from a thread while the `with` block runs; the block gets the
    list the latencies (ms) go into."""

    def __init__(self, url):
        self.url, self.samples, self.done = url, [], threading.Event()
        self.thread = threading.Thread(target=self._poll)

    def _poll(self):
        while not self.done.is_set():
            began = time.perf_counter()
            urllib.request.urlopen(self.url, timeout=30).read()
            self.samples.append((time.perf_counter() - began) * 1000)
            time.sleep(0.01)

    def __enter__(self):
        self.thread.start()
        return self.samples

    def __exit__(self, *_exc):
        self.done.set()
        self.thread.join()


def idle_latencies(url, seconds=2):
    """What `Polling` measures with nothing else going on: the baseline."""
    with Polling(url) as samples:
        time.sleep(seconds)
    return samples


def bare_page(template, items, requests, timed):
    """The bare baseline of a page benchmark: a Flask app rendering `template` over `items`,
    timed by the benchmark's own `timed(client, url, requests)` in the same process."""
    from flask import Flask, render_template_string

    bare = Flask("baseline")

    @bare.route("/")
    def index():
        return render_template_string(template, items=items)

    return timed(bare.test_client(), "/", requests)


# ----------------------------------------------------------------------------- instances


def scratch(prefix="portal-bench-"):
    return tempfile.mkdtemp(prefix=prefix)


def redis(tmp):
    """REDIS_URL when set, else an embedded Redis on a socket in `tmp`: (url, process or None)."""
    if os.environ.get("REDIS_URL"):
        return os.environ["REDIS_URL"], None
    from portal.runtime import embedded_redis

    process = embedded_redis.start(os.path.join(tmp, "redis.sock"), tmp)
    return f"unix://{tmp}/redis.sock", process


def reset_database(url):
    """Drops every table of `url` (a PostgreSQL database given to a benchmark)."""
    from sqlalchemy import MetaData, create_engine

    engine = create_engine(url)
    metadata = MetaData()
    metadata.reflect(engine)
    metadata.drop_all(engine)
    engine.dispose()


def make_app(tmp, database_url=None, redis_url=None, **config):
    """The app on `database_url` (else DATABASE_URL, else a SQLite file in `tmp`), CSRF and
    rate limits off, for driving it through the test client; `config` adds or overrides."""
    from portal import create_app

    redis_url = redis_url or os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/14")
    return create_app(
        {
            "INSTANCE_PATH": tmp,
            "SECRET_KEY": "bench",
            "SQLALCHEMY_DATABASE_URI": database_url
            or os.environ.get("DATABASE_URL")
            or f"sqlite:///{tmp}/bench.sqlite3",
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            "REDIS_URL": redis_url,
            # The limiter's storage follows REDIS_URL (else it would be the embedded default).
            "RATELIMIT_STORAGE_URI": redis_url.replace("unix://", "redis+unix://", 1),
            **config,
        }
    )


def migrate(app, fresh=False):
    """The schema by the migrations (as deployed); `fresh` drops every table first."""
    from flask_migrate import upgrade
    from sqlalchemy import MetaData

    from portal.extensions import db

    with app.app_context():
        if fresh:
            existing = MetaData()
            existing.reflect(db.engine)
            existing.drop_all(db.engine)
        upgrade()
    return app


def served(tmp, port, env=(), workers=1):
    """One gunicorn (gevent) on a fresh SQLite instance in `tmp` with one internal user
    b@example.test / "bench password 1", rate limits off: the started process."""
    env = {
        **os.environ,
        "PORTAL_INSTANCE_PATH": tmp,
        "DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3",
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/12"),
        "RATELIMIT_ENABLED": "0",
        **dict(env),
    }
    run = {"cwd": ROOT, "env": env, "check": True, "capture_output": True}
    flask = [f"{BIN}/flask", "--app", "wsgi"]
    subprocess.run([*flask, "db", "upgrade"], **run)
    user = ["b@example.test", "--name", "B", "--kind", "internal", "--password", "bench password 1"]
    subprocess.run([*flask, "users", "create", *user], **run)
    server = start(gunicorn(port, workers), env)
    wait_http(f"http://127.0.0.1:{port}/healthz", server)
    return server
