"""A full disk under UPLOAD_DIR (a real 256 KB tmpfs): a clear refusal, nothing
half-stored, the database and the folder agree."""

import os
import subprocess

import pytest

from tests.files_helpers import attachments, png, send, stored_files


@pytest.fixture
def full_disk(app, monkeypatch, tmp_path):
    """UPLOAD_DIR on a 256 KB file system of its own (mounting one needs root)."""
    folder = tmp_path / "uploads"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"a small tmpfs could not be mounted: {mounted.stderr.strip()}")
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(folder))
    app.extensions.pop("portal.storage", None)  # the storage is made for one UPLOAD_DIR
    yield folder
    app.extensions.pop("portal.storage", None)
    subprocess.run(["umount", str(folder)], check=True)


def _agree(app):
    """Every stored file belongs to an attachment and every attachment has its files."""
    named = sorted(
        name for a in attachments(app) for name in (a.storage_name, a.thumb_name) if name
    )
    assert stored_files(app) == named
    return named


@pytest.mark.parametrize("htmx", [False, True], ids=["no-js", "htmx"])
def test_a_file_that_does_not_fit_is_refused_whole(app, client, people, make_room, full_disk, htmx):
    room_id = make_room("Files")
    client.login("staff@example.test")
    response = send(client, room_id, [(os.urandom(400 * 1024), "scan.pdf")], "The scan", htmx)
    assert response.status_code == 507
    assert "There is no room left to store “scan.pdf”. Nothing was sent" in response.get_data(
        as_text=True
    )
    assert _agree(app) == []

    # Room for a small file: it goes through, and the folder still matches the database.
    small = send(client, room_id, [(png(40, 40), "dot.png")], "A small one", htmx)
    assert small.status_code in (200, 302)
    assert len(_agree(app)) == 1


def test_the_second_file_not_fitting_takes_the_first_with_it(
    app, client, people, make_room, full_disk
):
    room_id = make_room("Files")
    client.login("staff@example.test")
    files = [(os.urandom(150 * 1024), "first.bin"), (os.urandom(150 * 1024), "second.bin")]
    response = send(client, room_id, files, "Two files")
    assert response.status_code == 507
    assert "“second.bin”" in response.get_data(as_text=True)
    assert _agree(app) == []
