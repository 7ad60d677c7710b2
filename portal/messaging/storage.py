"""Where stored files live: UPLOAD_DIR (default), or an S3-compatible bucket.

Uploads are always checked and processed in UPLOAD_DIR (Pillow works on files); with
`STORAGE_BACKEND=s3` the finished files are then moved to the bucket and served from it
through the same access-checked download route, never by a public bucket URL.
"""

import contextlib
import os

from flask import current_app, send_file


class LocalStorage:
    """Files stay where the upload wrote them, under UPLOAD_DIR."""

    def __init__(self, root):
        self.root = root

    def keep(self, names):
        """Nothing to do: the processed files already are the stored ones."""

    def delete(self, name):
        with contextlib.suppress(FileNotFoundError):
            os.remove(os.path.join(self.root, name))

    def open(self, name):
        """The stored file, for reading (exports stream it in chunks)."""
        return open(os.path.join(self.root, name), "rb")  # noqa: SIM115 — the caller closes it

    def send(self, name, mimetype):
        return send_file(os.path.join(self.root, name), mimetype=mimetype, conditional=True)


class S3Storage:
    """Files in a bucket (AWS S3, MinIO, Ceph, moto…), keyed by their storage name."""

    def __init__(self, root, config):
        import boto3  # only deployments that choose S3 need it installed

        self.root = root
        self.bucket = config["S3_BUCKET"]
        self.prefix = config["S3_PREFIX"]
        self.client = boto3.client(
            "s3",
            endpoint_url=config["S3_ENDPOINT_URL"],
            region_name=config["S3_REGION"],
            aws_access_key_id=config["S3_ACCESS_KEY_ID"],
            aws_secret_access_key=config["S3_SECRET_ACCESS_KEY"],
        )

    def keep(self, names):
        """Move the processed files from UPLOAD_DIR into the bucket."""
        for name in names:
            path = os.path.join(self.root, name)
            self.client.upload_file(path, self.bucket, self.prefix + name)
            os.remove(path)

    def delete(self, name):
        with contextlib.suppress(FileNotFoundError):
            os.remove(os.path.join(self.root, name))
        self.client.delete_object(Bucket=self.bucket, Key=self.prefix + name)

    def open(self, name):
        """The object's body, a stream for reading (exports copy it in chunks)."""
        try:
            stored = self.client.get_object(Bucket=self.bucket, Key=self.prefix + name)
        except self.client.exceptions.NoSuchKey as exc:
            raise FileNotFoundError(name) from exc
        return stored["Body"]

    def send(self, name, mimetype):
        try:
            stored = self.client.get_object(Bucket=self.bucket, Key=self.prefix + name)
        except self.client.exceptions.NoSuchKey as exc:
            raise FileNotFoundError(name) from exc
        # The app streams the object (the access check already ran); ETag → cheap 304s.
        response = send_file(
            stored["Body"],
            mimetype=mimetype,
            conditional=True,
            etag=stored["ETag"].strip('"'),
            last_modified=stored["LastModified"],
        )
        response.content_length = stored["ContentLength"]
        return response


def get_storage():
    """The storage backend the settings choose (one per app)."""
    storage = current_app.extensions.get("portal.storage")
    if storage is None:
        config = current_app.config
        if config["STORAGE_BACKEND"] == "s3":
            storage = S3Storage(config["UPLOAD_DIR"], config)
        else:
            storage = LocalStorage(config["UPLOAD_DIR"])
        current_app.extensions["portal.storage"] = storage
    return storage
