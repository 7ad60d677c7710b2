"""Redis connections and the RQ queue, one per app."""

import redis
from flask import current_app
from rq import Queue


def init_app(app):
    app.extensions["redis"] = redis.Redis.from_url(
        app.config["REDIS_URL"], socket_connect_timeout=2, socket_timeout=5
    )


def get_redis():
    return current_app.extensions["redis"]


def get_queue():
    return Queue(current_app.config["RQ_QUEUE"], connection=get_redis())
