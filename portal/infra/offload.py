"""CPU-heavy work off the gevent loop, so one big image or password hash doesn't stall
every open stream."""

import os
import threading

from flask import current_app, has_app_context

from portal.infra.cooperative import cooperative

#: Bounded pools by name, with the setting giving their size (and a default outside an app).
POOLS = {"passwords": ("PASSWORD_HASH_THREADS", 2)}
_pools = {}
_guard = threading.Lock()


def offload(fn, *args, pool=None):
    """Call `fn(*args)` in a thread pool when serving under gevent, else directly.

    `pool=None` is gevent's shared pool; a name from POOLS is a dedicated bounded pool, so
    a burst of that work queues instead of taking every thread. Pillow and hashlib's scrypt
    release the GIL, so the worker's other greenlets keep running meanwhile.
    """
    if not cooperative():
        return fn(*args)
    from gevent import get_hub

    if pool is None:
        return get_hub().threadpool.apply(fn, args)
    return _named_pool(pool).apply(fn, args)


def _named_pool(name):
    """This process's pool called `name` (made after fork, so every worker has its own)."""
    from gevent.threadpool import ThreadPool

    key = (os.getpid(), name)
    with _guard:
        if key not in _pools:
            setting, default = POOLS[name]
            size = current_app.config[setting] if has_app_context() else default
            _pools[key] = ThreadPool(maxsize=size)
        return _pools[key]
