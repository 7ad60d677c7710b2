"""`rq worker --worker-class jobs.worker.Worker`: build the app once, before jobs fork.

RQ runs each job in a forked work horse. Creating the app in the worker process first
means every work horse inherits it instead of paying `create_app()` per job. Creating
the app opens no database or Redis connection, so nothing shared crosses the fork.
"""

from rq.worker import Worker as RQWorker

import jobs


class Worker(RQWorker):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        jobs.preload_app()
