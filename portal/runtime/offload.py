"""CPU-heavy work off the gevent loop, so one big image doesn't stall every open stream."""

import sys


def offload(fn, *args):
    """Call `fn(*args)` in gevent's thread pool when serving under gevent, else directly.

    Pillow releases the GIL while it decodes, resizes and encodes, so the worker's other
    greenlets (event streams, other requests) keep running meanwhile.
    """
    if "gevent" not in sys.modules:
        return fn(*args)
    from gevent import get_hub, monkey

    if not monkey.is_module_patched("threading"):
        return fn(*args)
    return get_hub().threadpool.apply(fn, args)
