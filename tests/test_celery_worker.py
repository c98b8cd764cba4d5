"""A real round trip: a task sent through Redis to a Celery worker process started by the test."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def worker_queue():
    """A worker listening on a queue of its own, so no other worker (or test run) takes the task."""
    queue = f"cets-test-{uuid.uuid4().hex[:12]}"
    env = {**os.environ, "CELERY_TASK_ALWAYS_EAGER": "0", "REDIS_URL": os.environ["REDIS_URL"]}
    celery = Path(sys.executable).with_name("celery")
    worker = subprocess.Popen(
        [str(celery), "-A", "cets", "worker", "--pool=solo", "-c", "1", "-Q", queue, "--without-gossip",
         "--without-mingle", "--without-heartbeat", "-l", "warning"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        yield queue
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(timeout=10)


@pytest.mark.celery_worker
def test_ping_goes_through_redis_to_a_worker(worker_queue):
    from cets.celery import app
    from cets.common.tasks import ping

    assert app.conf.broker_url.startswith("redis://")
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        result = ping.apply_async(args=[21], queue=worker_queue)
        assert result.get(timeout=60) == 42
    finally:
        app.conf.task_always_eager = eager
    assert result.successful()
