"""gunicorn reads this from the project folder (systemd units, the image, the tests): the
same settings as the Procfile's `--config python:portal.runtime.gunicorn_conf`."""

from portal.runtime.gunicorn_conf import (  # noqa: F401
    logger_class,
    post_request,
    post_worker_init,
    when_ready,
)
