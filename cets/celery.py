"""The Celery app. Without a broker (the demo), settings make every task run in-process."""

import contextlib
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cets.settings")

app = Celery("cets")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@contextlib.contextmanager
def tasks_in_process():
    """Run every task sent inside the block at once, in this process, even with a broker configured.

    For commands that need their jobs' results before they go on (``seed_demo`` approves the
    allocation run its job calculated): sent to a broker, the job would wait for a worker that may
    not be running, and the command would fail or wait. Errors propagate to the caller.
    """
    before = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    try:
        yield
    finally:
        app.conf.task_always_eager, app.conf.task_eager_propagates = before
