"""Conversation export of a large room: time and peak memory of the streamed ZIP.

    .venv/bin/python bench/room_export.py [--messages 100000] [--files 200] [--file-mb 5]

Builds the schema with the migrations on a temporary SQLite database (or DATABASE_URL, whose
tables are dropped first: use a throwaway one). Seeds one room with `--messages` messages
and `--files` stored files of `--file-mb` MB each (random bytes, so deflate cannot shrink
them), then downloads GET /app/rooms/<id>/export through the test client, reading the
streamed body chunk by chunk and throwing it away, as a browser writing to disk would.
Prints seconds, MB/s, the archive's size and the process's peak RSS before and after the
export (the growth is what the export held in memory). Redis: REDIS_URL (default db 14).
"""

import argparse
import os
import resource
import sys
import time
from datetime import timedelta

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import make_app, migrate, scratch  # noqa: E402
from sqlalchemy import insert, select  # noqa: E402

from portal.extensions import db  # noqa: E402
from portal.models import Attachment, Message, Participant, Room  # noqa: E402
from portal.models.base import utcnow  # noqa: E402
from portal.people.users import create_user  # noqa: E402

PASSWORD = "bench password 1"
BATCH = 10_000


def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def seed(app, messages, files, file_mb):
    started = time.perf_counter()
    with app.app_context():
        staff = create_user("staff@example.test", "Sam Staff", "internal", password=PASSWORD)
        room = Room(title="A very long conversation", created_by_id=staff.id)
        db.session.add(room)
        db.session.flush()
        db.session.add(Participant(room_id=room.id, user_id=staff.id))
        db.session.commit()
        start = utcnow() - timedelta(seconds=messages)
        for offset in range(0, messages, BATCH):
            rows = [
                {
                    "room_id": room.id,
                    "author_id": staff.id,
                    "body": f"Message {n}: here is the update on the file, see attached.",
                    "created_at": start + timedelta(seconds=n),
                }
                for n in range(offset, min(messages, offset + BATCH))
            ]
            db.session.execute(insert(Message), rows)
            db.session.commit()
        ids = db.session.scalars(
            select(Message.id).where(Message.room_id == room.id).order_by(Message.id)
        ).all()
        upload_dir = app.config["UPLOAD_DIR"]
        os.makedirs(upload_dir, exist_ok=True)
        step = max(1, len(ids) // max(1, files))
        for n in range(files):
            name = f"bench{n:06d}.bin"
            with open(os.path.join(upload_dir, name), "wb") as out:
                for _ in range(file_mb):
                    out.write(os.urandom(1024 * 1024))
            db.session.add(
                Attachment(
                    message_id=ids[n * step],
                    filename=f"scan {n}.bin",
                    storage_name=name,
                    content_type="application/octet-stream",
                    size=file_mb * 1024 * 1024,
                )
            )
        db.session.commit()
        return room.id, time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--file-mb", type=int, default=5)
    args = parser.parse_args()
    tmp = scratch("portal-bench-export-")
    app = migrate(make_app(tmp), fresh=True)
    room_id, seconds = seed(app, args.messages, args.files, args.file_mb)
    print(
        f"seeded {args.messages:,} messages, {args.files * args.file_mb:,} MB of files "
        f"in {seconds:.0f} s"
    )
    client = app.test_client()
    client.post("/login", data={"email": "staff@example.test", "password": PASSWORD})
    before = peak_mb()
    began = time.perf_counter()
    response = client.get(f"/app/rooms/{room_id}/export")
    assert response.status_code == 200, response.status_code
    size = 0
    for chunk in response.response:
        size += len(chunk)
    elapsed = time.perf_counter() - began
    after = peak_mb()
    print(
        f"export: {elapsed:.1f} s, {size / 1e6:,.0f} MB archive, {size / 1e6 / elapsed:.0f} MB/s; "
        f"peak RSS {before:.0f} MB before, {after:.0f} MB after (+{after - before:.0f} MB)"
    )


if __name__ == "__main__":
    main()
