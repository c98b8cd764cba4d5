"""A cycle close is never stuck: a dead worker's close resumes without doubling, a close failed for good
leaves the cycle open again (and closable), and the admin shows why."""

import datetime as dt

import pytest
from django.utils import timezone

from cets.common.errors import Conflict
from cets.common.jobs import job_retry, job_sweep
from cets.common.models import AuditEntry, Job
from compliance import services
from compliance.models import Certificate, Obligation

from .conftest import BEFORE_DEADLINE

pytestmark = pytest.mark.django_db


class WorkerKilled(BaseException):
    """Stands for kill -9: nothing in the job runner catches it, the job is left running."""


@pytest.fixture
def run_after_commit(django_capture_on_commit_callbacks):
    """``run_after_commit(fn)``: call ``fn`` and run what it queued, as a worker would after the commit."""

    def _run(fn):
        with django_capture_on_commit_callbacks(execute=True):
            return fn()

    return _run


@pytest.fixture
def crash_on_second_chunk(monkeypatch):
    """Chunks of 2 obligations; the second chunk raises ``exc`` once (set by the test)."""
    real = services.close_chunk
    state = {"exc": None, "calls": 0}

    def chunk(cycle, ids, actor):
        state["calls"] += 1
        if state["calls"] == 2 and state["exc"] is not None:
            raise state["exc"]
        return real(cycle, ids, actor)

    monkeypatch.setattr(services, "CLOSE_CHUNK", 2)
    monkeypatch.setattr(services, "close_chunk", chunk)
    return state


@pytest.fixture
def compliant_2021(obligations, entity, entity_user, give):
    give(entity, 2021, 1_000_000)
    services.surrender(actor=entity_user, obligation=obligations[(entity.pk, 2021)],
                       items=[{"kind": "cea", "vintage": 2021, "quantity": 1_000_000}], on_date=BEFORE_DEADLINE)


def _silence(job, seconds=3600):
    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - dt.timedelta(seconds=seconds))
    job.refresh_from_db()


def test_close_resumes_the_same_job_after_its_worker_died(cycle, obligations, national, compliant_2021,
                                                          crash_on_second_chunk, run_after_commit):
    crash_on_second_chunk["exc"] = WorkerKilled()
    with pytest.raises(WorkerKilled):
        run_after_commit(lambda: services.cycle_close(actor=national, cycle=cycle))
    cycle.refresh_from_db()
    job = cycle.closing_job
    job.refresh_from_db()
    assert (cycle.status, job.status, job.done, job.attempts) == ("closing", "running", 2, 1)
    first_closed = dict(Obligation.objects.filter(closed_at__isnull=False).values_list("pk", "closed_at"))
    assert len(first_closed) == 2 and Certificate.objects.count() == 1
    # While the heartbeat is fresh the job is alive: asking again is refused and changes nothing.
    with pytest.raises(Conflict) as exc:
        services.cycle_close(actor=national, cycle=cycle)
    assert exc.value.code == "cycle_closing"
    _silence(job)
    rerun = run_after_commit(lambda: services.cycle_close(actor=national, cycle=cycle))
    rerun.refresh_from_db()
    cycle.refresh_from_db()
    assert (rerun.pk, rerun.status, rerun.done, rerun.attempts, cycle.status) == (job.pk, "succeeded", 3, 2, "closed")
    assert dict(Obligation.objects.filter(pk__in=first_closed).values_list("pk", "closed_at")) == first_closed
    assert Obligation.objects.filter(closed_at__isnull=True).count() == 0
    assert Certificate.objects.count() == 1 and Job.objects.filter(kind=services.CLOSE_JOB).count() == 1
    assert AuditEntry.objects.filter(action="compliance.cycle_closed").count() == 1
    assert AuditEntry.objects.filter(action="compliance.cycle_close_resume", actor=national).count() == 1


def test_close_failed_for_good_reopens_the_cycle_which_closes_again(cycle, obligations, national, entity,
                                                                   compliant_2021, crash_on_second_chunk,
                                                                   run_after_commit):
    crash_on_second_chunk["exc"] = RuntimeError("could not serialize access")
    with pytest.raises(RuntimeError):
        run_after_commit(lambda: services.cycle_close(actor=national, cycle=cycle))
    cycle.refresh_from_db()
    failed = cycle.closing_job
    failed.refresh_from_db()
    assert (cycle.status, failed.status, failed.error) == ("open", "failed", "could not serialize access")
    # What the first chunk decided is undone: open obligations, no certificate, all audited.
    assert set(Obligation.objects.values_list("status", "closed_at", "shortfall_tco2")) == {("open", None, 0)}
    assert Certificate.objects.count() == 0
    entry = AuditEntry.objects.get(action="compliance.cycle_close_failed")
    assert (entry.after["status"], entry.after["obligations_reopened"], len(entry.after["certificates_withdrawn"]),
            entry.after["error"]) == ("open", 2, 1, "could not serialize access")
    # The failed job itself is not re-run (what it started was undone); closing again starts a new job.
    with pytest.raises(Conflict) as exc:
        job_retry(actor=national, job=failed)
    assert exc.value.code == "job_not_retryable"
    crash_on_second_chunk["exc"] = None
    job = run_after_commit(lambda: services.cycle_close(actor=national, cycle=cycle))
    job.refresh_from_db()
    cycle.refresh_from_db()
    assert (job.pk != failed.pk, job.status, job.done, cycle.status) == (True, "succeeded", 3, "closed")
    assert Obligation.objects.get(entity=entity, year=2021).status == "compliant"
    assert Certificate.objects.count() == 1


def test_sweeper_fails_a_close_after_its_last_attempt_and_the_cycle_opens(cycle, obligations, national,
                                                                         crash_on_second_chunk, run_after_commit,
                                                                         client, admin_login):
    crash_on_second_chunk["exc"] = WorkerKilled()
    with pytest.raises(WorkerKilled):
        run_after_commit(lambda: services.cycle_close(actor=national, cycle=cycle))
    job = Job.objects.get(kind=services.CLOSE_JOB)
    Job.objects.filter(pk=job.pk).update(attempts=job.max_attempts)
    _silence(job)
    assert run_after_commit(job_sweep) == {"requeued": 0, "failed": 1}
    job.refresh_from_db()
    cycle.refresh_from_db()
    assert (job.status, cycle.status, Obligation.objects.filter(closed_at__isnull=False).count()) == (
        "failed", "open", 0)
    assert job.error.startswith("The worker running this job stopped responding 3 times")
    admin_login(client, national)
    page = client.get("/admin/compliance/compliancecycle/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "The worker running this job stopped responding 3 times" in page
