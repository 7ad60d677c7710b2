"""Bounds on concurrent image processing: per process (a semaphore) and per user (Redis).

An image upload decodes and re-encodes pixels in the thread pool; without a bound, a few
users posting large images at once could keep every core of the server busy.
"""

import contextlib
import logging
import os
import threading

import redis
from flask import current_app

from portal.infra.queues import get_redis

log = logging.getLogger(__name__)
_KEY_TTL_SECONDS = 600
_process = {"pid": None, "semaphore": None}
_guard = threading.Lock()


class ImageBusy(Exception):
    """Too many images are being processed right now; the message says whose."""


def _semaphore():
    """This process's semaphore (made after fork, so each worker has its own)."""
    with _guard:
        if _process["pid"] != os.getpid():
            size = current_app.config["IMAGE_WORKERS_PER_PROCESS"]
            _process.update(pid=os.getpid(), semaphore=threading.BoundedSemaphore(size))
        return _process["semaphore"]


@contextlib.contextmanager
def image_slot(user_id):
    """Hold one of the user's and one of this process's image-processing slots."""
    with _user_slot(user_id):
        semaphore = _semaphore()
        if not semaphore.acquire(timeout=current_app.config["IMAGE_WAIT_SECONDS"]):
            raise ImageBusy("The server is busy processing other images.")
        try:
            yield
        finally:
            semaphore.release()


@contextlib.contextmanager
def _user_slot(user_id):
    if user_id is None:
        yield
        return
    key = f"image-slots:user:{user_id}"
    limit = current_app.config["IMAGE_UPLOADS_PER_USER"]
    client = get_redis()
    try:
        count = client.incr(key)
        client.expire(key, _KEY_TTL_SECONDS)
    except redis.RedisError:
        log.warning("image slots: Redis unavailable, only the per-process bound applies")
        yield
        return
    try:
        if count > limit:
            raise ImageBusy(f"You are already uploading {limit} images at once.")
        yield
    finally:
        with contextlib.suppress(redis.RedisError):
            client.decr(key)
