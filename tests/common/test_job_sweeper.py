"""No job is stuck: heartbeats, the sweeper that re-queues or fails a job whose worker died, asking again,
and a run that lost its job stopping before it writes more."""

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, transaction
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from cets.common import tasks
from cets.common.audit import audit_record
from cets.common.jobs import JobLost, job_create, job_handler, job_progress, job_retry, job_run, job_sweep
from cets.common.models import AuditEntry, Job

pytestmark = pytest.mark.django_db

LOST = "The worker running this job stopped responding 3 times"
ON_ITEM: dict = {"hook": None}


@job_handler("test.sweep_count")
def sweep_count(job: Job) -> dict:
    """One audited row per item in its own transaction, skipping what an earlier run wrote."""
    written = 0
    for item in range(job.total):
        if AuditEntry.objects.filter(action="test.swept", object_type=f"job{job.pk}", object_id=str(item)).exists():
            continue
        if ON_ITEM["hook"] is not None:
            ON_ITEM["hook"](job, item)
        with transaction.atomic():
            audit_record(actor=None, action="test.swept", object_type=f"job{job.pk}", object_id=item)
        written += 1
        job_progress(job, done=item + 1)
    return {"written": written}


class Killed(BaseException):
    """Stands for kill -9: the runner catches nothing, the job is left running."""


@pytest.fixture(autouse=True)
def _no_hook():
    ON_ITEM["hook"] = None
    yield
    ON_ITEM["hook"] = None


def _kill_at(n):
    def hook(job, item):
        if item == n:
            raise Killed

    return hook


def _silence(job, seconds=3600):
    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - dt.timedelta(seconds=seconds))
    job.refresh_from_db()


@pytest.fixture
def died(entity_user):
    """A 5-item job whose worker died after item 2 (3 rows written), silent for an hour."""
    job = job_create(kind="test.sweep_count", user=entity_user, total=5, enqueue=False)
    ON_ITEM["hook"] = _kill_at(3)
    with pytest.raises(Killed):
        job_run(job.pk)
    ON_ITEM["hook"] = None
    _silence(job)
    return job


def _written(job):
    return sorted(AuditEntry.objects.filter(action="test.swept", object_type=f"job{job.pk}")
                  .values_list("object_id", flat=True))


def test_sweeper_requeues_a_silent_job_which_resumes_without_doubling(died, django_capture_on_commit_callbacks):
    assert (died.status, died.attempts, died.done) == ("running", 1, 3)
    with django_capture_on_commit_callbacks() as sent:
        assert job_sweep() == {"requeued": 1, "failed": 0}
    died.refresh_from_db()
    assert (died.status, len(sent)) == ("pending", 1)
    assert died.error == "The worker running this job stopped responding after run 1 of 3; re-queued."
    assert AuditEntry.objects.filter(action="job.requeue", object_id=str(died.pk)).count() == 1
    sent[0]()  # the worker that takes the message
    died.refresh_from_db()
    assert (died.status, died.attempts, died.done, died.result) == ("succeeded", 2, 5, {"written": 2})
    assert _written(died) == ["0", "1", "2", "3", "4"]


def test_sweeper_fails_a_job_after_its_last_attempt_and_the_pages_say_why(died, client, admin_login, national,
                                                                          entity_user):
    Job.objects.filter(pk=died.pk).update(attempts=3)
    assert job_sweep() == {"requeued": 0, "failed": 1}
    died.refresh_from_db()
    assert (died.status, died.done) == ("failed", 3)
    assert died.error.startswith(LOST) and died.message.startswith(LOST) and died.finished_at is not None
    assert AuditEntry.objects.filter(action="job.fail_lost", object_id=str(died.pk)).count() == 1
    assert job_sweep() == {"requeued": 0, "failed": 0}  # failed is final
    client.force_login(entity_user)
    page = client.get(f"/jobs/{died.pk}/").content.decode()
    assert LOST in page and 'data-testid="job-error"' in page and "hx-get" not in page
    assert f'action="/jobs/{died.pk}/retry/"' in page  # a plain failure may be started again
    admin_login(client, national)
    listing = client.get("/admin/common/job/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert LOST in listing
    detail = client.get(f"/admin/common/job/{died.pk}/change/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert LOST in detail and "Last error" in detail


def test_sweeper_leaves_live_jobs_alone(entity_user, django_capture_on_commit_callbacks):
    pending = job_create(kind="test.sweep_count", user=entity_user, total=2, enqueue=False)
    running = job_create(kind="test.sweep_count", user=entity_user, total=2, enqueue=False)
    Job.objects.filter(pk=running.pk).update(status="running", attempts=1)
    job_progress(Job.objects.get(pk=running.pk), done=1)
    before = list(Job.objects.order_by("pk").values_list("status", "attempts", "heartbeat_at", "error"))
    with django_capture_on_commit_callbacks() as sent:
        assert job_sweep() == {"requeued": 0, "failed": 0}
    assert sent == [] and list(Job.objects.order_by("pk").values_list(
        "status", "attempts", "heartbeat_at", "error")) == before
    assert {pending.pk, running.pk} == set(Job.objects.values_list("pk", flat=True))


def test_a_pending_job_lost_by_the_broker_is_sent_again_at_no_cost(entity_user, django_capture_on_commit_callbacks):
    job = job_create(kind="test.sweep_count", user=entity_user, total=2, enqueue=False)
    _silence(job)
    with django_capture_on_commit_callbacks(execute=True):
        assert job_sweep() == {"requeued": 1, "failed": 0}
    job.refresh_from_db()
    assert (job.status, job.attempts, job.error, job.done) == ("succeeded", 1, "", 2)


def test_a_run_that_lost_its_job_stops_before_writing_more(entity_user, django_capture_on_commit_callbacks):
    job = job_create(kind="test.sweep_count", user=entity_user, total=5, enqueue=False)

    def requeued_meanwhile(run, item):  # the sweeper took the job away while this run was paused
        if item == 2:
            Job.objects.filter(pk=run.pk).update(status="pending", heartbeat_at=timezone.now())

    ON_ITEM["hook"] = requeued_meanwhile
    job = job_run(job.pk)
    assert (job.status, job.done, _written(job)) == ("pending", 2, ["0", "1", "2"])
    ON_ITEM["hook"] = None
    with pytest.raises(JobLost):  # the stale run's next report is refused
        job_progress(Job(pk=job.pk, status="running", attempts=1), done=4)
    job = job_run(job.pk)
    assert (job.status, job.attempts, job.done, _written(job)) == ("succeeded", 2, 5, ["0", "1", "2", "3", "4"])


def test_a_redelivered_message_leaves_a_live_run_alone(entity_user):
    job = job_create(kind="test.sweep_count", user=entity_user, total=2, enqueue=False)
    Job.objects.filter(pk=job.pk).update(status="running", attempts=1, heartbeat_at=timezone.now())
    assert job_run(job.pk).status == "running"
    assert _written(job) == [] and Job.objects.get(pk=job.pk).attempts == 1


def test_asking_again_requeues_a_stale_job_and_refuses_a_live_one(died, entity_user, other_entity_user, client,
                                                                  api, django_capture_on_commit_callbacks):
    Job.objects.filter(pk=died.pk).update(heartbeat_at=timezone.now())
    refused = api(entity_user).post(f"/api/v1/jobs/{died.pk}/retry/")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "job_not_retryable"
    _silence(died)
    assert api(other_entity_user).post(f"/api/v1/jobs/{died.pk}/retry/").status_code == 404
    client.force_login(other_entity_user)
    assert client.post(f"/jobs/{died.pk}/retry/").status_code == 404
    assert Job.objects.get(pk=died.pk).status == "running"
    client.force_login(entity_user)
    page = client.get(f"/jobs/{died.pk}/").content.decode()
    assert "stopped responding" in page and f'action="/jobs/{died.pk}/retry/"' in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/jobs/{died.pk}/retry/")
    assert response.status_code == 302
    died.refresh_from_db()
    assert (died.status, died.attempts, died.done) == ("succeeded", 2, 5)
    assert AuditEntry.objects.get(action="job.requeue", object_id=str(died.pk)).actor == entity_user
    body = api(entity_user).get(f"/api/v1/jobs/{died.pk}/").json()
    assert (body["status"], body["attempts"], body["max_attempts"]) == ("succeeded", 2, 3)


def test_a_failed_job_stays_failed_until_asked_again_then_gets_fresh_attempts(died):
    Job.objects.filter(pk=died.pk).update(status="failed", attempts=3, error="boom")
    assert tasks.job_run_task(died.pk) == "failed"  # a late duplicate message changes nothing
    assert Job.objects.get(pk=died.pk).attempts == 3 and _written(died) == ["0", "1", "2"]
    died.refresh_from_db()
    job_retry(actor=died.created_by, job=died)
    assert (died.status, died.attempts) == ("pending", 0)
    assert tasks.job_run_task(died.pk) == "succeeded"
    died.refresh_from_db()
    assert (died.attempts, died.done, _written(died)) == (1, 5, ["0", "1", "2", "3", "4"])


def test_the_sweeper_is_scheduled_every_minute():
    task = PeriodicTask.objects.get(task="cets.common.tasks.job_sweep_task")
    assert (task.enabled, task.interval.every, task.interval.period) == (True, 60, "seconds")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_sweepers_requeue_once(entity_user, monkeypatch):
    sent = []
    monkeypatch.setattr(tasks.job_run_task, "delay", lambda job_id: sent.append(job_id))
    job = job_create(kind="test.sweep_count", user=entity_user, total=2, enqueue=False)
    Job.objects.filter(pk=job.pk).update(status="running", attempts=1)
    _silence(job)
    barrier = threading.Barrier(4)

    def sweep(_):
        try:
            barrier.wait()
            return job_sweep()["requeued"]
        finally:
            connection.close()

    with ThreadPoolExecutor(4) as pool:
        assert sum(pool.map(sweep, range(4))) == 1
    job.refresh_from_db()
    assert (sent, job.status, job.attempts) == ([job.pk], "pending", 1)
    assert AuditEntry.objects.filter(action="job.requeue").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_long_handler_keeps_beating_without_progress_reports(entity_user, settings):
    settings.JOB_HEARTBEAT_SECONDS = 0.05
    seen = []

    @job_handler("test.quiet")
    def quiet(job):
        started = Job.objects.get(pk=job.pk).heartbeat_at
        for _ in range(100):  # until the heartbeat thread has touched the row (bounded, 5 s at most)
            beat = Job.objects.get(pk=job.pk).heartbeat_at
            if beat > started:
                seen.append(beat)
                break
            threading.Event().wait(0.05)
        return {}

    job = job_create(kind="test.quiet", user=entity_user, enqueue=False)
    assert job_run(job.pk).status == "succeeded"
    assert len(seen) == 1
