"""Live events per web node when several nodes share one Redis: the cost of the hub's
pattern subscription, and the event rate at which one Redis channel space stops scaling.

    .venv/bin/python bench/hub_nodes.py [--nodes 4] [--users 200] [--events 40000]
                                        [--room-size 10] [--database URL]

Each web process's hub (`portal/live/hub.py`) holds ONE pattern subscription to every
user's and every room's channel and keeps what concerns its own streams. So every node
reads every event published anywhere: adding nodes adds stream capacity, not event
capacity. This script simulates `--nodes` web nodes as processes, each with the real app
and its real hub (room viewers resolved by the app's own query on the database), each
holding `--users` streams of its own; a publisher sends `--events` events (80 % messages
on room channels, 20 % per-user events) as fast as Redis takes them. It prints, per node,
the events it read per second, the CPU it spent per event and per second, and the same for
a bare redis-py pattern subscriber that only counts (the baseline, same layout and run).
A node saturates at the printed "capacity" (events/s at one full core); that rate, for the
whole deployment, is where channels must be sharded. Bounded; contacts only a Redis of its
own on 127.0.0.1.
"""

import argparse
import json
import multiprocessing
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

PREFIX = "bench."
DONE = "done"


def _cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _redis_server(folder):
    from tests.helpers import free_port

    port = free_port()
    process = subprocess.Popen(
        [shutil.which("redis-server"), "--port", str(port), "--bind", "127.0.0.1",
         "--save", "", "--appendonly", "no", "--dir", folder],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"
    import redis

    deadline = time.monotonic() + 10
    while True:
        try:
            redis.Redis.from_url(url).ping()
            return process, url
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _app(database_url, redis_url):
    from portal import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "REDIS_URL": redis_url,
            "SSE_CHANNEL_PREFIX": PREFIX,
            "SECRET_KEY": "bench",
            "INSTANCE_PATH": tempfile.mkdtemp(prefix="hub-bench-"),
        }
    )


def node(kind, index, user_ids, database_url, redis_url, ready, results):
    """One web node: the real hub with a stream per local user (or a bare counter)."""
    if kind == "hub":
        from portal.live.inbox import IDLE
        from portal.live.publish import get_live

        app = _app(database_url, redis_url)
        with app.app_context():
            hub = get_live().hub
        subscriptions = [hub.open(user_id) for user_id in user_ids]
        finished = threading.Event()
        delivered = [0]

        def drain(subscription):
            while True:
                event = subscription.get(3600)
                if event is None:
                    return
                if event == IDLE:
                    continue
                delivered[0] += 1
                if event.type == DONE:
                    finished.set()

        for subscription in subscriptions:
            threading.Thread(target=drain, args=(subscription,), daemon=True).start()
        started = _cpu()
        ready.put(index)
        finished.wait()
        results.put((index, delivered[0], _cpu() - started))
        hub.stop()
        return

    import redis

    pubsub = redis.Redis.from_url(redis_url).pubsub()
    pubsub.psubscribe(f"{PREFIX}user.*", f"{PREFIX}room.*")
    pubsub.get_message(timeout=5)
    pubsub.get_message(timeout=5)
    started = _cpu()
    ready.put(index)
    done_channel = f"{PREFIX}user.{user_ids[0]}".encode()
    seen = 0
    for item in pubsub.listen():
        if item["type"] != "pmessage":
            continue
        seen += 1
        if item["channel"] == done_channel and b'"type": "done"' in item["data"]:
            break
    results.put((index, seen, _cpu() - started))


def _seed(database_url, redis_url, nodes, users, room_size):
    """Users and rooms in the database; rooms mix users of every node."""
    from flask_migrate import upgrade
    from sqlalchemy import MetaData

    from portal.extensions import db
    from portal.models import Participant, Room, User
    from portal.models.base import utcnow

    app = _app(database_url, redis_url)
    with app.app_context():
        existing = MetaData()
        existing.reflect(db.engine)
        existing.drop_all(db.engine)
        upgrade()
        now = utcnow()
        people = [
            User(email=f"u{n}@bench.test", name=f"User {n}", kind="internal", invited_at=now)
            for n in range(nodes * users)
        ]
        db.session.add_all(people)
        db.session.flush()
        ids = [user.id for user in people]
        rooms = []
        shuffled = ids[:]
        random.Random(7).shuffle(shuffled)
        for start in range(0, len(shuffled), room_size):
            members = shuffled[start : start + room_size]
            room = Room(title=f"Room {start}", created_by_id=members[0])
            db.session.add(room)
            db.session.flush()
            db.session.add_all(
                Participant(room_id=room.id, user_id=m, added_at=now) for m in members
            )
            rooms.append(room.id)
        db.session.commit()
    return ids, rooms


def _publish(redis_url, ids, rooms, events, per_node_first):
    import redis

    client = redis.Redis.from_url(redis_url)
    rng = random.Random(11)
    html = "<li class='message'>" + "x" * 500 + "</li>"
    pipe = client.pipeline(transaction=False)
    started = time.perf_counter()
    for n in range(events):
        if n % 5:
            payload = {"event": {"room_id": 0, "html": html}, "author_id": None}
            channel = f"{PREFIX}room.{rng.choice(rooms)}"
        else:
            payload = {"data": {"room_id": 1, "count": 3}, "type": "unread"}
            channel = f"{PREFIX}user.{rng.choice(ids)}"
        pipe.publish(channel, json.dumps(payload))
        if n % 500 == 499:
            pipe.execute()
    for user_id in per_node_first:
        pipe.publish(f"{PREFIX}user.{user_id}", json.dumps({"data": {}, "type": DONE}))
    pipe.execute()
    return events / (time.perf_counter() - started)


def run(kind, args, database_url, redis_url, ids, rooms):
    context = multiprocessing.get_context("fork")
    ready, results = context.Queue(), context.Queue()
    groups = [ids[i * args.users : (i + 1) * args.users] for i in range(args.nodes)]
    processes = [
        context.Process(target=node, args=(kind, i, group, database_url, redis_url, ready, results))
        for i, group in enumerate(groups)
    ]
    for process in processes:
        process.start()
    for _ in processes:
        ready.get(timeout=60)
    started = time.perf_counter()
    rate = _publish(redis_url, ids, rooms, args.events, [g[0] for g in groups])
    rows = [results.get(timeout=600) for _ in processes]
    elapsed = time.perf_counter() - started
    for process in processes:
        process.join(30)
    rows.sort()
    read = args.events + len(groups)
    print(f"\n{kind}: published {args.events} events at {rate:,.0f}/s")
    print("node  read/s   CPU µs/event  local deliveries  capacity (events/s at 1 core)")
    capacities = []
    for index, delivered, cpu in rows:
        per_event = cpu / read
        capacities.append(1 / per_event)
        print(
            f"{index:>4}  {read / elapsed:>7,.0f}  {per_event * 1e6:>12.1f}  {delivered:>16,}"
            f"  {1 / per_event:>12,.0f}"
        )
    return sum(capacities) / len(capacities)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=4)
    parser.add_argument("--users", type=int, default=200, help="streams per node")
    parser.add_argument("--events", type=int, default=40000)
    parser.add_argument("--room-size", type=int, default=10)
    parser.add_argument("--database", help="a PostgreSQL URL (its tables are DROPPED)")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="hub-nodes-")
    redis_process, redis_url = _redis_server(folder)
    from portal.config import database_uri

    database_url = database_uri(args.database or f"sqlite:///{folder}/bench.sqlite3")
    try:
        ids, rooms = _seed(database_url, redis_url, args.nodes, args.users, args.room_size)
        print(
            f"{args.nodes} nodes x {args.users} streams, {len(rooms)} rooms of "
            f"{args.room_size}, database {database_url.split(':')[0]}, {os.cpu_count()} cores"
        )
        bare = run("bare", args, database_url, redis_url, ids, rooms)
        hub = run("hub", args, database_url, redis_url, ids, rooms)
        print(
            f"\ncapacity per node: hub {hub:,.0f} events/s, bare subscriber {bare:,.0f} "
            f"events/s (hub/bare {hub / bare:.2f}); every node reads every event, so this "
            "is the whole deployment's event ceiling whatever the number of nodes"
        )
    finally:
        redis_process.terminate()
        redis_process.wait(10)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
