"""Conversation export: one streamed ZIP with a self-contained transcript and the files."""

import io
import re
import zipfile

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.infra import zipstream
from portal.messaging import transcripts
from portal.models import AuditEvent, Message
from tests.files_helpers import png, send

HOSTILE = '<script>alert(1)</script><img src="http://evil.test/x.png">'


@pytest.fixture
def history(client, app, people, make_room):
    room_id = make_room("Tax <return> 2025")
    client.login("staff@example.test")
    send(client, room_id, [(png(), "scan.png"), (b"%PDF-1.4 form", "../../form.pdf")], body="Files")
    for body in ("Edit me", "Delete me", HOSTILE, "See https://example.test/a"):
        client.form_post(f"/app/rooms/{room_id}/messages", {"body": body})
    with app.app_context():
        ids = dict(db.session.execute(select(Message.body, Message.id)).all())
    client.form_post(f"/app/rooms/{room_id}/messages/{ids['Edit me']}/edit", {"body": "Edited"})
    client.form_post(f"/app/rooms/{room_id}/messages/{ids['Delete me']}/delete")
    return room_id


def exported(client, room_id):
    response = client.get(f"/app/rooms/{room_id}/export")
    assert response.status_code == 200
    assert response.mimetype == "application/zip" and response.is_streamed
    assert "attachment" in response.headers["Content-Disposition"]
    return zipfile.ZipFile(io.BytesIO(response.get_data()))


def test_transcript_and_files(client, app, people, history):
    archive = exported(client, history)
    assert archive.testzip() is None
    html = archive.read("transcript.html").decode()
    assert "<h1>Tax &lt;return&gt; 2025</h1>" in html and "exported" in html
    assert "Edited" in html and "(edited)" in html and "Edit me" not in html
    assert "This message was deleted" in html and "Delete me" not in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    # Self-contained: nothing is loaded from anywhere else (links are only links).
    assert set(re.findall(r'src="([^"]*)"', html)) <= {n for n in archive.namelist()}
    assert "<script" not in html and "<link" not in html
    files = sorted(n for n in archive.namelist() if n.startswith("files/"))
    assert len(files) == 2 and all(".." not in n for n in files)
    pdf = next(n for n in files if n.endswith("form.pdf"))
    assert archive.read(pdf) == b"%PDF-1.4 form"
    assert f'href="{pdf}"' in html
    with app.app_context():
        [row] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "export.made"))
        assert (row.actor_id, row.room_id) == (people["staff"].id, history)


def test_files_of_deleted_messages_are_left_out(client, app, history):
    with app.app_context():
        with_files = db.session.scalar(select(Message.id).where(Message.body == "Files"))
    client.form_post(f"/app/rooms/{history}/messages/{with_files}/delete")
    archive = exported(client, history)
    assert not [n for n in archive.namelist() if n.startswith("files/")]


def test_large_rooms_stream_in_batches(client, app, history, monkeypatch):
    """Messages are read a batch at a time and the archive leaves in many small chunks."""
    monkeypatch.setattr(transcripts, "BATCH", 2)
    monkeypatch.setattr(zipstream, "CHUNK", 16)
    response = client.get(f"/app/rooms/{history}/export")
    chunks = list(response.response)
    assert len(chunks) > 10
    archive = zipfile.ZipFile(io.BytesIO(b"".join(chunks)))
    assert archive.read("transcript.html").decode().count("<article") == 5
