"""RQ jobs: they take ids, build (or reuse) an app context and call the domain layer."""

from contextlib import contextmanager

from flask import has_app_context

_app = None


@contextmanager
def app_context():
    """The current app context if there is one, else one on this process's own app."""
    if has_app_context():
        yield
        return
    with preload_app().app_context():
        yield


def preload_app():
    """This process's app, created on first use."""
    global _app
    if _app is None:
        from portal import create_app

        _app = create_app()
    return _app
