"""Real Celery worker processes started by the tests: a round trip through Redis, and a worker killed with
SIGKILL in the middle of a job, whose job the sweeper hands to a new worker that finishes it."""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _start_worker(queue: str, **env) -> subprocess.Popen:
    """A worker listening on a queue of its own, so no other worker (or test run) takes the task."""
    env = {**os.environ, "CELERY_TASK_ALWAYS_EAGER": "0", "REDIS_URL": os.environ["REDIS_URL"], **env}
    celery = Path(sys.executable).with_name("celery")
    return subprocess.Popen(
        [str(celery), "-A", "cets", "worker", "--pool=solo", "-c", "1", "-Q", queue, "--without-gossip",
         "--without-mingle", "--without-heartbeat", "-l", "warning", "--include", "tests.worker_jobs"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def _stop(worker: subprocess.Popen) -> None:
    if worker.poll() is not None:
        return
    worker.terminate()
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait(timeout=10)


@pytest.fixture
def worker_queue():
    queue = f"cets-test-{uuid.uuid4().hex[:12]}"
    worker = _start_worker(queue)
    try:
        yield queue
    finally:
        _stop(worker)


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


def _wait_for(condition, *, timeout: float, every: float = 0.1, action=None):
    """Poll ``condition()`` (running ``action()`` first each round) until it is truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if action is not None:
            action()
        value = condition()
        if value:
            return value
        time.sleep(every)
    pytest.fail(f"still waiting after {timeout} s")


@pytest.mark.celery_worker
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_job_leaves_no_stuck_job(settings, entity_user):
    """SIGKILL the worker running a 12-item job: the job stays "running" with its heartbeat silent; the
    sweeper re-queues it, a new worker resumes from the committed items, and every item is written once."""
    from django.db import connection, transaction

    from cets.celery import app
    from cets.common.jobs import job_create, job_sweep
    from cets.common.models import AuditEntry, Job
    from tests.worker_jobs import SLOW_KIND

    db = connection.settings_dict
    database_url = f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
    queue = f"cets-test-{uuid.uuid4().hex[:12]}"
    worker_env = {"DATABASE_URL": database_url, "JOB_HEARTBEAT_SECONDS": "0.2", "CONN_MAX_AGE": "0"}
    settings.JOB_STALE_AFTER_SECONDS = 2  # the sweeper here, in the test process
    conf = {"task_always_eager": app.conf.task_always_eager, "task_routes": app.conf.task_routes}
    app.conf.task_always_eager = False
    app.conf.task_routes = {"cets.common.tasks.job_run_task": {"queue": queue}}
    workers = [_start_worker(queue, **worker_env)]
    try:
        with transaction.atomic():
            job = job_create(kind=SLOW_KIND, user=entity_user, total=12, params={"pause": 0.25})

        def progress():
            return Job.objects.get(pk=job.pk)

        _wait_for(lambda: progress().done >= 3, timeout=90)
        workers[0].kill()  # SIGKILL: no clean-up, no acknowledgement, no failure recorded
        workers[0].wait(timeout=10)
        killed = progress()
        assert (killed.status, killed.attempts) == ("running", 1) and 3 <= killed.done < 12

        workers.append(_start_worker(queue, **worker_env))
        done = _wait_for(lambda: progress().status in ("succeeded", "failed") and progress(), timeout=120,
                         every=0.3, action=job_sweep)
        assert (done.status, done.attempts, done.done, done.total) == ("succeeded", 2, 12, 12)
        assert done.error == "The worker running this job stopped responding after run 1 of 3; re-queued."
        items = list(AuditEntry.objects.filter(action="test.slow_item", object_type=f"job{job.pk}")
                     .values_list("object_id", flat=True))
        assert sorted(items, key=int) == [str(i) for i in range(12)]  # each once: nothing doubled, nothing lost
        # The killed run may have committed one item after its last progress report.
        assert done.result["written"] in (12 - killed.done, 12 - killed.done - 1)
    finally:
        for worker in workers:
            _stop(worker)
        app.conf.task_always_eager = conf["task_always_eager"]
        app.conf.task_routes = conf["task_routes"]
