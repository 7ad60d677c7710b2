"""Settings → Activity at 1,000,000 audit rows: ms per page, with a bare-Flask baseline.

    .venv/bin/python bench/audit_activity.py [--rows 1000000] [--requests 50] [--reuse]

Builds the schema with the migrations on a SQLite file in the temporary folder, or on
DATABASE_URL (its tables are dropped first: use a throwaway one); `--reuse` keeps either
when it already holds `--rows` rows. Seeds `--rows` audit rows a second
apart over the past months (a person is actor or subject of 1 row in 1,000, one room of
1 in 500, a rare kind of 1 in 10,000), then times, as an admin through the test client:
the newest page, a page deep in the trail (keyset cursor near the oldest rows), each filter
(rare person, room, rare kind, one day), and the CSV export of one person's rows (1,000)
and of one kind (a quarter of the trail).
Prints p50/p95 ms per page next to a bare Flask page rendering 50 rows the same way.
Redis: REDIS_URL (default redis://127.0.0.1:6379/14).
"""

import argparse
import os
import sys
import tempfile
import time
from datetime import timedelta

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import bare_page, make_app, migrate, pct, scratch  # noqa: E402
from sqlalchemy import insert, select, text  # noqa: E402

from portal.extensions import db  # noqa: E402
from portal.models import AuditEvent, User  # noqa: E402
from portal.models.base import utcnow  # noqa: E402
from portal.people.users import create_user  # noqa: E402

PASSWORD = "bench password 1"
BATCH = 10_000
KINDS = ["settings.changed", "participant.added", "room.renamed", "password.changed"]


def seed(app, rows):
    """An admin, a person, and `rows` audit rows; returns the seconds seeding took."""
    started = time.perf_counter()
    with app.app_context():
        admin = create_user("admin@example.test", "Ada Admin", "internal", password=PASSWORD)
        admin.is_admin = True
        person = create_user("sam@example.test", "Sam Client", "client")
        db.session.commit()
        start = utcnow() - timedelta(seconds=rows)
        for offset in range(0, rows, BATCH):
            batch = []
            for n in range(offset, min(rows, offset + BATCH)):
                batch.append(
                    {
                        "at": start + timedelta(seconds=n),
                        "actor_id": admin.id if n % 3 else None,
                        "actor_label": "Ada Admin" if n % 3 else "system",
                        "action": "user.erased" if n % 10_000 == 7 else KINDS[n % 4],
                        "user_id": person.id if n % 1000 == 3 else 1000 + n % 5000,
                        "room_id": 42 if n % 500 == 1 else n % 20_000,
                        "message_id": None,
                        "summary": f"Row {n}: something changed for someone in some room",
                        "ip": "192.0.2.10",
                    }
                )
            db.session.execute(insert(AuditEvent), batch)
            db.session.commit()
        db.session.execute(text("ANALYZE"))
        db.session.commit()
    return time.perf_counter() - started


def seeded(app, rows):
    with app.app_context():
        try:
            # The bench's own CSV exports add `export.made` rows; they are not the seed.
            seeded_rows = select(db.func.count(AuditEvent.id)).where(
                AuditEvent.action != "export.made"
            )
            return db.session.scalar(seeded_rows) == rows
        except Exception:  # no schema yet
            db.session.rollback()
            return False


def timed(client, url, requests):
    for _ in range(3):
        client.get(url)
    samples = []
    for _ in range(requests):
        began = time.perf_counter()
        response = client.get(url)
        response.get_data()
        samples.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    samples.sort()
    return pct(samples, 0.5), pct(samples, 0.95)


def baseline(requests):
    items = [{"id": n, "who": "Ada Admin", "summary": f"Row {n}: something"} for n in range(50)]
    page = (
        "<table>{% for i in items %}<tr id='a{{ i.id }}'><td>{{ i.who }}</td>"
        "<td>{{ i.summary }}</td></tr>{% endfor %}</table>"
    )
    return bare_page(page, items, requests, timed)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--reuse", action="store_true")
    args = parser.parse_args()
    tmp = scratch("portal-bench-audit-")
    # A fixed SQLite file (when DATABASE_URL is unset), so `--reuse` can find it again.
    sqlite_file = os.path.join(tempfile.gettempdir(), "portal-bench-audit.sqlite3")
    app = make_app(
        tmp,
        database_url=os.environ.get("DATABASE_URL") or f"sqlite:///{sqlite_file}",
        redis_url=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/14"),
    )
    if args.reuse and seeded(app, args.rows):
        print(f"reusing {args.rows:,} rows")
    else:
        migrate(app, fresh=True)
        print(f"seeded {args.rows:,} rows in {seed(app, args.rows):.0f} s")
    with app.app_context():
        person = db.session.scalar(select(User.id).where(User.email == "sam@example.test"))
        deep = db.session.scalar(select(db.func.min(AuditEvent.id))) + 100
        day = (utcnow() - timedelta(seconds=args.rows // 2)).date().isoformat()
    client = app.test_client()
    client.post("/login", data={"email": "admin@example.test", "password": PASSWORD})
    pages = [
        ("newest page", "/settings/activity"),
        ("deep page (oldest rows)", f"/settings/activity?page={deep}"),
        ("person (1 in 1,000)", f"/settings/activity?person={person}"),
        ("room (1 in 500)", "/settings/activity?room=42"),
        ("rare kind (1 in 10,000)", "/settings/activity?kind=user.erased"),
        ("one day", f"/settings/activity?since={day}&until={day}"),
        ("kind + one day", f"/settings/activity?kind=room.renamed&since={day}&until={day}"),
    ]
    engine = app.config["SQLALCHEMY_DATABASE_URI"]
    print(f"database: {engine.split(':')[0]}; {args.requests} requests each; ms p50 / p95")
    p50, p95 = baseline(args.requests)
    print(f"{'bare Flask, 50 rows':32} {p50:8.1f} {p95:8.1f}")
    for label, url in pages:
        p50, p95 = timed(client, url, args.requests)
        print(f"{label:32} {p50:8.1f} {p95:8.1f}")
    began = time.perf_counter()
    response = client.get(f"/settings/activity.csv?person={person}")
    lines = response.get_data().count(b"\n") - 1
    csv_ms = (time.perf_counter() - began) * 1000
    print(f"{'CSV, person filter':32} {csv_ms:8.1f} ms for {lines:,} rows")
    began = time.perf_counter()
    response = client.get("/settings/activity.csv?kind=participant.added")
    lines = response.get_data().count(b"\n") - 1
    csv_ms = (time.perf_counter() - began) * 1000
    print(f"{'CSV, one kind':32} {csv_ms:8.1f} ms for {lines:,} rows")


if __name__ == "__main__":
    main()
