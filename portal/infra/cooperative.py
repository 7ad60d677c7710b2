"""Are we serving under gevent? One answer for every module that must not block the loop."""

import sys


def cooperative():
    """True in a process whose threads gevent has patched (gunicorn's gevent workers)."""
    if "gevent" not in sys.modules:
        return False
    from gevent import monkey

    return monkey.is_module_patched("threading")
