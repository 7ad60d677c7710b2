"""Uploads in an S3-compatible bucket (STORAGE_BACKEND=s3), against a real S3 API server:
moto's server mode on a local port."""

import os
import re
import subprocess
import sys
import time
from urllib.parse import quote

import boto3
import pytest

from portal.messaging.uploads import STORAGE_NAME
from tests.files_helpers import attachments, png, send, stored_files
from tests.helpers import free_port

BUCKET = "portal-uploads"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture(scope="module")
def s3_server():
    port = free_port()
    moto = os.path.join(os.path.dirname(sys.executable), "moto_server")
    process = subprocess.Popen(
        [moto, "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    client = boto3.client(
        "s3", endpoint_url=url, region_name="us-east-1",
        aws_access_key_id="test-key", aws_secret_access_key="test-secret",
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while True:
        try:
            client.list_buckets()
            break
        except Exception:  # noqa: BLE001 - not listening yet
            assert time.monotonic() < deadline and process.poll() is None, "moto did not start"
            time.sleep(0.2)
    yield url, client
    process.terminate()
    process.wait(10)


@pytest.fixture
def bucket(app, s3_server):
    """The app switched to S3 storage with an empty bucket, for one test."""
    url, client = s3_server
    client.create_bucket(Bucket=BUCKET)
    settings = {
        "STORAGE_BACKEND": "s3",
        "S3_BUCKET": BUCKET,
        "S3_PREFIX": "uploads/",
        "S3_ENDPOINT_URL": url,
        "S3_REGION": "us-east-1",
        "S3_ACCESS_KEY_ID": "test-key",
        "S3_SECRET_ACCESS_KEY": "test-secret",
    }
    before = {key: app.config[key] for key in settings}
    app.config.update(settings)
    app.extensions.pop("portal.storage", None)
    yield client
    app.config.update(before)
    app.extensions.pop("portal.storage", None)
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


def keys(client):
    return sorted(o["Key"] for o in client.list_objects_v2(Bucket=BUCKET).get("Contents", []))


def test_files_go_to_the_bucket_and_download_through_the_access_check(
    app, client, people, make_room, bucket
):
    room = make_room("Files")
    client.login("staff@example.test")
    response = send(
        client, room, [(png(1600, 1200), "chart.png"), (PDF, "terms.pdf")], body="files"
    )
    assert response.status_code == 302
    image, pdf = sorted(attachments(app), key=lambda a: not a.is_image)
    names = [image.storage_name, image.thumb_name, pdf.storage_name]
    assert image.thumb_name, "a 1600 px image gets a thumbnail"
    assert keys(bucket) == sorted(f"uploads/{name}" for name in names)
    assert stored_files(app) == [], "nothing stays on the web node's disk"

    download = client.get(f"/files/{pdf.id}/terms.pdf")
    assert download.status_code == 200 and download.data == PDF
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    again = client.get(
        f"/files/{pdf.id}/terms.pdf", headers={"If-None-Match": download.headers["ETag"]}
    )
    assert again.status_code == 304
    thumb = client.get(f"/files/{image.id}/chart.png?thumb=1")
    assert thumb.status_code == 200 and thumb.mimetype == "image/webp"

    client.logout()
    client.login("outsider@example.test")
    assert client.get(f"/files/{pdf.id}/terms.pdf").status_code == 404


def test_a_refused_upload_leaves_nothing_in_the_bucket(app, client, people, make_room, bucket):
    room = make_room("Files")
    client.login("staff@example.test")
    app.config["MAX_UPLOAD_MB"], before = 1, app.config["MAX_UPLOAD_MB"]
    try:
        response = send(client, room, [(png(), "ok.png"), (b"x" * (2 << 20), "big.bin")])
    finally:
        app.config["MAX_UPLOAD_MB"] = before
    assert response.status_code == 422  # the file limit, said in the page (413 is the request's)
    assert keys(bucket) == [] and stored_files(app) == []


def test_missing_object_is_a_404_not_a_500(app, client, people, make_room, bucket):
    room = make_room("Files")
    client.login("staff@example.test")
    send(client, room, [(PDF, "terms.pdf")])
    (pdf,) = attachments(app)
    bucket.delete_object(Bucket=BUCKET, Key=f"uploads/{pdf.storage_name}")
    assert client.get(f"/files/{pdf.id}/terms.pdf").status_code == 404


ODD_NAMES = [
    "../../etc/passwd",
    "..\\..\\windows\\win.ini",
    "a/../../b.pdf",
    "%2e%2e%2fkey.pdf",
    "uploads/../../other-bucket-key.pdf",
    "名前 ?#%&=+.pdf",
    " .hidden ",
]


def test_odd_and_hostile_file_names_never_shape_a_bucket_key(
    app, client, people, make_room, bucket
):
    """The key is the server-made storage name: a name with ../ or odd characters is only
    ever the download's label, never a path in the bucket."""
    room = make_room("Files")
    client.login("staff@example.test")
    contents = {name: f"file {n}".encode() for n, name in enumerate(ODD_NAMES)}
    response = send(client, room, [(data, name) for name, data in contents.items()], "odd")
    assert response.status_code == 302
    stored = attachments(app)
    assert len(stored) == len(ODD_NAMES)
    for key in keys(bucket):
        assert key.startswith("uploads/") and STORAGE_NAME.match(key.removeprefix("uploads/"))
        assert ".." not in key
    for attachment, data in zip(stored, contents.values(), strict=True):
        assert "/" not in attachment.filename and "\\" not in attachment.filename
        download = client.get(f"/files/{attachment.id}/{quote(attachment.filename, safe='')}")
        assert download.status_code == 200 and download.data == data
    # A download URL whose name part climbs out reaches this attachment or nothing.
    first = stored[0]
    climbing = client.get(f"/files/{first.id}/..%2F..%2Fuploads%2Fother")
    assert climbing.status_code in (200, 404)
    if climbing.status_code == 200:
        assert climbing.data == contents[ODD_NAMES[0]]
    assert re.fullmatch(r"[^/\\]+", first.filename)
