"""Per-job cost of RQ work horses, with and without the preloading worker class.

    .venv/bin/python bench/jobs.py [--jobs 20]

Needs REDIS_URL (default redis://127.0.0.1:6379/12) and uses a temporary SQLite database.
Enqueues N `notify_client` jobs for ids that don't exist (each builds its app context,
queries, finds nothing to send) and times a burst worker draining them, for: the
bare baseline (`time.time` jobs, no app at all), the plain `rq worker` (app created in
every forked job) and `--worker-class jobs.worker.Worker` (app created once, before the
forks).
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

import redis
from rq import Queue

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RQ = os.path.join(os.path.dirname(sys.executable), "rq")


def drain(url, queue_name, env, worker_class=None):
    """Run a burst worker until the queue is empty; wall-clock seconds."""
    args = [RQ, "worker", "--burst", "--url", url, queue_name]
    if worker_class:
        args[2:2] = ["--worker-class", worker_class]
    start = time.perf_counter()
    subprocess.run(args, cwd=ROOT, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=20)
    args = parser.parse_args()
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/12")
    tmp = tempfile.mkdtemp(prefix="portal-bench-jobs-")
    env = dict(
        os.environ,
        REDIS_URL=url,
        PORTAL_INSTANCE_PATH=tmp,
        DATABASE_URL=os.environ.get("DATABASE_URL", f"sqlite:///{tmp}/bench.sqlite3"),
    )
    subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "flask"), "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    connection = redis.Redis.from_url(url)
    queue = Queue("portal-bench-jobs", connection=connection)
    results = {}
    for label, func, worker_class in [
        ("baseline (no app)", "time.time", None),
        ("rq worker", "jobs.notifications.notify_client", None),
        ("jobs.worker.Worker", "jobs.notifications.notify_client", "jobs.worker.Worker"),
    ]:
        queue.empty()
        for n in range(args.jobs):
            if func == "time.time":
                queue.enqueue(func)
            else:
                queue.enqueue(func, 10_000_000 + n, 10_000_000)
        seconds = drain(url, queue.name, env, worker_class)
        results[label] = seconds / args.jobs * 1000
    base = results["baseline (no app)"]
    for label, per_job in results.items():
        print(f"{label:<20} {per_job:7.1f} ms per job  ratio {per_job / base:5.2f}x baseline")


if __name__ == "__main__":
    main()
