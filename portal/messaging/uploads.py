"""Uploaded files: checked, stored under UPLOAD_DIR with server-made names, never orphaned.

Files are written before the message is committed (the message refers to them); anything
written is deleted again if a file is refused, the message is refused or the commit fails
(`messages.post_message` owns that).
"""

import contextlib
import errno
import os
import re
import secrets

from flask import current_app
from sqlalchemy import func, select

from portal.extensions import db
from portal.infra.offload import offload
from portal.messaging import images
from portal.messaging.filenames import clean_filename, from_browser
from portal.messaging.image_slots import ImageBusy, image_slot
from portal.messaging.storage import get_storage
from portal.models import Attachment

CHUNK = 1024 * 1024
STORAGE_NAME = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{32}(\.thumb)?\.[a-z]{3,4}$")
#: Non-image types worth naming to the browser; every other file is application/octet-stream.
SAFE_TYPES = {
    ".pdf": "application/pdf",
    ".zip": "application/zip",
    ".txt": "text/plain",
    ".csv": "text/csv",
    ".doc": "application/msword",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xls": "application/vnd.ms-excel",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".ppt": "application/vnd.ms-powerpoint",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
OCTET_STREAM = "application/octet-stream"


#: The file system under UPLOAD_DIR is full (or the user's quota on it is).
DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})


class UploadError(ValueError):
    """A refused upload, with what to tell the sender (and the HTTP status to answer with)."""

    def __init__(self, message, status=422):
        super().__init__(message)
        self.status = status


def store_files(files, user_id=None):
    """Unsaved Attachments for the non-empty uploads in `files`, their contents on disk."""
    files = [f for f in files if f and f.filename]
    limit = current_app.config["MAX_FILES_PER_MESSAGE"]
    if len(files) > limit:
        raise UploadError(
            f"You attached {len(files)} files; a message can carry at most {limit}. "
            "Nothing was sent."
        )
    stored = []
    try:
        for upload in files:
            stored.append(_store(upload, user_id))
            _check_quota(stored)
    except BaseException:
        discard(stored)
        raise
    return stored


def _check_quota(stored):
    """Refuse when the files stored so far would take the workspace past STORAGE_QUOTA_MB."""
    quota_mb = current_app.config["STORAGE_QUOTA_MB"]
    if not quota_mb:
        return
    used = db.session.scalar(select(func.coalesce(func.sum(Attachment.size), 0)))
    if used + sum(a.size or 0 for a in stored) > quota_mb * 1024 * 1024:
        raise UploadError(
            f"The workspace's file storage is full (the quota is {quota_mb} MB). "
            "Nothing was sent; ask an admin to make room.",
            status=413,
        )


def _store(upload, user_id=None):
    filename = clean_filename(from_browser(upload.filename))
    key = secrets.token_hex(16)
    raw = _path(f"{key[:2]}/{key}.bin")
    attachment = Attachment(filename=filename, storage_name=f"{key[:2]}/{key}.bin")
    try:
        os.makedirs(os.path.dirname(raw), exist_ok=True)
        attachment.size = _copy(upload, raw, filename)
        _recognise_image(attachment, raw, filename, user_id)
        get_storage().keep([n for n in (attachment.storage_name, attachment.thumb_name) if n])
    except BaseException as exc:
        # Nothing half-stored: whatever was written of this file goes.
        discard([attachment])
        _remove(raw)
        if isinstance(exc, OSError) and exc.errno in DISK_FULL:
            raise UploadError(
                f"There is no room left to store “{filename}”. Nothing was sent; ask an "
                "admin to make room.",
                status=507,
            ) from exc
        raise
    return attachment


def _copy(upload, path, filename):
    """Write the upload to `path`, refusing it as soon as it passes the size limit."""
    limit_mb = current_app.config["MAX_UPLOAD_MB"]
    limit = limit_mb * 1024 * 1024
    size = 0
    with open(path, "xb") as out:
        while chunk := upload.stream.read(CHUNK):
            size += len(chunk)
            if size > limit:
                raise UploadError(
                    f"“{filename}” is larger than {limit_mb} MB, the limit for one file. "
                    "Nothing was sent."
                )
            out.write(chunk)
    return size


def _recognise_image(attachment, raw, filename, user_id=None):
    """Re-encode a real image in place of the upload (plus a thumbnail); else keep the bytes."""
    try:
        with image_slot(user_id):
            _process_image(attachment, raw, filename)
    except ImageBusy as exc:
        raise UploadError(
            f"{exc} Try sending “{filename}” again in a moment. Nothing was sent.", status=429
        ) from exc


def _process_image(attachment, raw, filename):
    try:
        picture = offload(images.decode, raw)
    except images.ImageRefused as exc:
        current_app.logger.info("refused image %r: %s", filename, exc)
        raise UploadError(
            f"“{filename}” has too many pixels or frames to process safely (the limits are "
            f"{images.MAX_PIXELS // 1_000_000} megapixels in all frames together and "
            f"{images.MAX_FRAMES} frames per animation). Nothing was sent."
        ) from exc
    if picture is None:
        extension = os.path.splitext(filename)[1].lower()
        attachment.content_type = SAFE_TYPES.get(extension, OCTET_STREAM)
        attachment.is_image = False
        return
    base = attachment.storage_name.removesuffix(".bin")
    attachment.storage_name = base + picture.extension
    offload(images.save, picture, _path(attachment.storage_name))
    _remove(raw)
    thumb_path = _path(base + ".thumb" + images.THUMB_EXTENSION)
    if offload(images.save_thumbnail, picture, thumb_path):
        attachment.thumb_name = base + ".thumb" + images.THUMB_EXTENSION
    attachment.is_image = True
    attachment.content_type = picture.content_type
    attachment.width, attachment.height = picture.size
    attachment.size = os.path.getsize(_path(attachment.storage_name))


def discard(attachments):
    """Delete the stored files of `attachments` (unsaved, or whose message failed)."""
    for attachment in attachments:
        for name in (attachment.storage_name, attachment.thumb_name):
            if name:
                get_storage().delete(name)


def stored_name(attachment, thumb=False):
    """The storage name of the file (or of its thumbnail, else the image itself)."""
    name = attachment.thumb_name if thumb and attachment.thumb_name else attachment.storage_name
    if not STORAGE_NAME.match(name):
        raise ValueError(f"unexpected storage name {name!r}")
    return name


def limits_text():
    """The upload limits in words, for error messages."""
    config = current_app.config
    return (
        f"Each file can be at most {config['MAX_UPLOAD_MB']} MB, one message can carry "
        f"at most {config['MAX_FILES_PER_MESSAGE']} files, and one upload at most "
        f"{human_size(config['MAX_CONTENT_LENGTH'])} in all."
    )


def _path(storage_name):
    return os.path.join(current_app.config["UPLOAD_DIR"], storage_name)


def _remove(path):
    with contextlib.suppress(FileNotFoundError):
        os.remove(path)


def human_size(num_bytes):
    """ "2.5 MB": a file size for people."""
    size = float(num_bytes or 0)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            if unit == "bytes":
                return f"{int(size)} bytes"
            return f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"
