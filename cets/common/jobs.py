"""Long work as Jobs: a row people can watch, a handler per kind, one Celery task to run any.

A handler processes its work in chunks, each chunk in its own transaction, and reports progress
after each commit; that is what makes the progress bar live and a rerun after a crash resume
instead of doubling (handlers skip what an earlier run already committed).

No job is stuck. A run keeps ``heartbeat_at`` fresh (every progress report, and a small thread
every ``JOB_HEARTBEAT_SECONDS`` while the handler works), so a job silent for longer than
``JOB_STALE_AFTER_SECONDS`` has lost its worker (killed, out of memory, machine gone): the sweeper
(a beat task) re-queues it, and after ``max_attempts`` runs fails it with the reason, which the
admin and the job page show. Every state change is a compare-and-set on (status, attempts,
heartbeat): of two sweepers, or a sweeper and a redelivered message, exactly one acts. ``attempts``
counts the runs started and fences a run that lost its job: its next progress report finds the row
changed and stops it (``JobLost``) before it writes anything more. Acks-late and
reject-on-worker-lost (settings, ``tasks.job_run_task``) redeliver some messages sooner, but the
heartbeat is what the platform relies on: a Redis broker redelivers an unacknowledged message only
after its visibility timeout (an hour).

A kind may register ``on_failure(job, error)``: it runs in the transaction that fails the job for
good and undoes what starting the job did (a cycle being closed is open again); such a failed job is
not retried as it is, the operation is started again instead.
"""

import logging
import threading
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import connection, connections, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from .audit import audit_record
from .errors import Conflict, DomainError
from .models import Job

log = logging.getLogger(__name__)

JobHandler = Callable[[Job], dict | None]
FailureHook = Callable[[Job, str], None]
_HANDLERS: dict[str, JobHandler] = {}
_ON_FAILURE: dict[str, FailureHook] = {}
SWEEP_BATCH = 500


class JobLost(Exception):
    """This run no longer owns its job (re-queued after its heartbeat went silent, or failed): stop quietly."""


def job_handler(kind: str, *, on_failure: FailureHook | None = None):
    """Register the function that runs jobs of ``kind`` (it returns the job's result dict), and
    optionally the compensation run when such a job fails for good."""

    def register(fn: JobHandler) -> JobHandler:
        _HANDLERS[kind] = fn
        if on_failure is not None:
            _ON_FAILURE[kind] = on_failure
        else:
            _ON_FAILURE.pop(kind, None)
        return fn

    return register


def stale_before():
    """A job whose last heartbeat is older than this has lost its worker."""
    return timezone.now() - timedelta(seconds=settings.JOB_STALE_AFTER_SECONDS)


def _send(job_id: int) -> None:
    """Hand the job to the broker; if the broker is down, say so on the row and leave it to the sweeper.

    The job and whatever started it are already committed, so failing the request here would report an
    error for work that was in fact accepted. The row stays pending with a message; ``job_sweep`` sends it
    again once its heartbeat is stale (``JOB_STALE_AFTER_SECONDS``).
    """
    from kombu.exceptions import OperationalError as BrokerError

    from .tasks import job_run_task

    try:
        job_run_task.delay(job_id)
    except (BrokerError, ConnectionError) as exc:  # the publish failed (refused, reset, DNS): not the task's error
        log.warning("job %s: broker unavailable (%s); the sweeper will send it again", job_id, exc)
        Job.objects.filter(pk=job_id, status=Job.Status.PENDING).update(
            message=_("Waiting for the task queue, which did not answer; it will be sent again automatically."))


def _enqueue(job_id: int) -> None:
    transaction.on_commit(lambda: _send(job_id))


def job_create(*, kind: str, user=None, params: dict | None = None, total: int = 0,
               enqueue: bool = True) -> Job:
    """Create a job and, once the surrounding transaction commits, send it to a worker."""
    if kind not in _HANDLERS:
        raise DomainError(f"Unknown job kind {kind!r}.", "unknown_job_kind", "kind")
    job = Job.objects.create(kind=kind, created_by=user, params=params or {}, total=total,
                             heartbeat_at=timezone.now(), max_attempts=settings.JOB_MAX_ATTEMPTS)
    if enqueue:
        _enqueue(job.pk)
    return job


def _owned(job: Job):
    """The row as long as this run owns it: still running, and no later run started."""
    return Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING, attempts=job.attempts)


def _as_read(job: Job):
    """The row as ``job`` read it: a compare-and-set for a change decided on that reading."""
    return Job.objects.filter(pk=job.pk, status=job.status, attempts=job.attempts, heartbeat_at=job.heartbeat_at)


def job_progress(job: Job, *, done: int | None = None, advance: int = 0, total: int | None = None,
                 message: str | None = None) -> None:
    """Record progress and a heartbeat (outside any long transaction, so readers see it at once).

    Inside a run, a row that changed owner (the sweeper re-queued the job) raises ``JobLost``.
    """
    fields: dict = {"heartbeat_at": timezone.now()}
    if done is not None:
        fields["done"] = done
        job.done = done
    elif advance:
        fields["done"] = F("done") + advance
        job.done += advance
    if total is not None:
        fields["total"] = job.total = total
    if message is not None:
        fields["message"] = job.message = message[:500]
    if job.status != Job.Status.RUNNING:
        Job.objects.filter(pk=job.pk).update(**fields)
    elif not _owned(job).update(**fields):
        raise JobLost(job.pk)


class _Heartbeat:
    """Touch ``heartbeat_at`` every ``JOB_HEARTBEAT_SECONDS`` from a thread while a handler runs, so a
    long chunk without progress reports is not taken for a dead worker.

    Not started inside a caller's transaction (a test, a synchronous run): the thread's own connection
    could wait for the caller's locks while the caller waits for the thread.
    """

    def __init__(self, job: Job):
        self.job = job
        self.stop = threading.Event()
        self.thread = None

    def __enter__(self):
        if not connection.in_atomic_block:
            self.thread = threading.Thread(target=self._beat, name=f"job-{self.job.pk}-heartbeat", daemon=True)
            self.thread.start()
        return self

    def _beat(self):
        try:
            while not self.stop.wait(settings.JOB_HEARTBEAT_SECONDS):
                if not _owned(self.job).update(heartbeat_at=timezone.now()):
                    return  # lost or finished: the handler learns it at its next progress report
        except Exception:  # a beat missed is not a failure of the job
            log.exception("heartbeat of job %s", self.job.pk)
        finally:
            connections.close_all()  # this thread's connections only

    def __exit__(self, *exc):
        self.stop.set()
        if self.thread is not None:
            self.thread.join()


def _fail(job: Job, error: str, rows) -> bool:
    """Fail the job for good if ``rows`` still matches it, running its kind's compensation in the same
    transaction; False when someone else changed the row first."""
    now = timezone.now()
    with transaction.atomic():
        if not rows.update(status=Job.Status.FAILED, message=error[:500], error=error[:1000], finished_at=now,
                           heartbeat_at=now):
            return False
        job.status, job.message, job.error = Job.Status.FAILED, error[:500], error[:1000]
        hook = _ON_FAILURE.get(job.kind)
        if hook is not None:
            hook(job, error)
    return True


def _lost_message(job: Job) -> str:
    at = timezone.localtime(job.heartbeat_at or job.created_at).strftime("%Y-%m-%d %H:%M:%S")
    return _("The worker running this job stopped responding %(n)s times (last heartbeat %(at)s); the job was "
             "stopped. Start it again once the cause is fixed.") % {"n": job.attempts, "at": at}


def _claim(job_id: int, rerun_failed: bool) -> Job | None:
    """Take the job for this run (attempts + 1), or None when there is nothing to run: it succeeded, a
    live run has it, or it failed (rerun only when asked for directly, and never once compensated)."""
    job = Job.objects.get(pk=job_id)
    S = Job.Status
    if job.status == S.SUCCEEDED or (job.status == S.RUNNING and not job.is_stale):
        return None
    if job.status == S.FAILED and (not rerun_failed or job.kind in _ON_FAILURE):
        return None
    if job.status == S.RUNNING and job.attempts >= job.max_attempts:  # a redelivery after the last run died
        _fail(job, _lost_message(job), _as_read(job))
        return None
    now = timezone.now()
    if not _as_read(job).update(status=S.RUNNING, attempts=F("attempts") + 1, started_at=now, heartbeat_at=now,
                                finished_at=None):
        return None
    job.status, job.attempts, job.heartbeat_at, job.started_at = S.RUNNING, job.attempts + 1, now, now
    return job


def job_run(job_id: int, *, rerun_failed: bool = True) -> Job:
    """Run a job by its handler; a failure is recorded on the job with its message.

    A job already succeeded, or held by a live run, is left alone (a duplicate or redelivered message);
    so is a failed one when the call comes from the queue (``rerun_failed=False``): a failure is final
    until someone asks again (``job_retry``), whatever message arrives late.
    """
    job = _claim(job_id, rerun_failed)
    if job is None:
        return Job.objects.get(pk=job_id)
    try:
        with _Heartbeat(job):
            result = _HANDLERS[job.kind](job)
    except JobLost:
        log.warning("job %s: run %s lost the job to a later run; stopped", job.pk, job.attempts)
        return Job.objects.get(pk=job.pk)
    except Exception as exc:
        log.exception("job %s failed", job.pk)
        _fail(job, str(getattr(exc, "message", exc)), _owned(job))
        job.refresh_from_db()
        if not isinstance(exc, DomainError):
            raise
        return job
    job.refresh_from_db(fields=["done", "total"])
    now = timezone.now()
    if not _owned(job).update(status=Job.Status.SUCCEEDED, result=result, finished_at=now, heartbeat_at=now,
                              done=job.total if job.total else job.done):
        log.warning("job %s: run %s finished after losing the job; a later run records the result", job.pk,
                    job.attempts)
    job.refresh_from_db()
    return job


def job_sweep() -> dict[str, int]:
    """Re-queue the jobs whose worker went silent, or fail them once they used their attempts (beat task).

    A pending job silent that long was lost by the broker (or waits behind long work): it is sent
    again, which costs no attempt (a duplicate message finds it running and does nothing). A running
    one lost its worker: re-queued while attempts remain (the next run resumes from what is
    committed), failed for good after the last.
    """
    S = Job.Status
    cutoff = stale_before()
    stale = (Job.objects.filter(status__in=[S.PENDING, S.RUNNING])
             .filter(Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, created_at__lt=cutoff))
             .order_by("pk")[:SWEEP_BATCH])
    counts = {"requeued": 0, "failed": 0}
    for job in stale:
        if job.status == S.RUNNING and job.attempts >= job.max_attempts:
            with transaction.atomic():
                if _fail(job, _lost_message(job), _as_read(job)):
                    audit_record(actor=None, action="job.fail_lost", obj=job, after={"error": job.error})
                    counts["failed"] += 1
        elif job_requeue(job):
            counts["requeued"] += 1
    if any(counts.values()):
        log.warning("job sweep: %s", counts)
    return counts


def job_requeue(job: Job, *, actor=None) -> bool:
    """Send ``job`` to a worker again if its row is still as read (compare-and-set): True if this call did.

    A run that died leaves its reason on the row; a failed job starts with a fresh count of attempts.
    """
    S = Job.Status
    fields: dict = {"status": S.PENDING, "heartbeat_at": timezone.now(), "finished_at": None}
    if job.status == S.RUNNING:
        fields["error"] = _("The worker running this job stopped responding after run %(n)s of %(max)s; "
                            "re-queued.") % {"n": job.attempts, "max": job.max_attempts}
    elif job.status == S.FAILED:
        fields["attempts"] = 0
    with transaction.atomic():
        if not _as_read(job).update(**fields):
            return False
        audit_record(actor=actor, action="job.requeue", obj=job,
                     before={"status": job.status, "attempts": job.attempts}, after={"error": fields.get("error")})
        _enqueue(job.pk)
    job.refresh_from_db()
    return True


def job_retryable(job: Job) -> bool:
    """Whether asking again re-queues ``job``: its worker stopped responding, or it failed and nothing
    undid what it started."""
    return job.is_stale or (job.status == Job.Status.FAILED and job.kind not in _ON_FAILURE)


def job_retry(*, actor, job: Job) -> Job:
    """A person asks again for a job: a stale one (its worker died) or one failed without compensation
    is re-queued at once; anything else is refused and changes nothing."""
    if job.status == Job.Status.FAILED and job.kind in _ON_FAILURE:
        raise Conflict(_("This job failed and what it started was undone; start the operation again."),
                       "job_not_retryable", "job")
    if not job_retryable(job):
        raise Conflict(_("Job #%(id)s is %(status)s; only a failed job or one whose worker stopped responding "
                         "can be started again.") % {"id": job.pk, "status": job.get_status_display()},
                       "job_not_retryable", "job")
    if not job_requeue(job, actor=actor):
        raise Conflict(_("Job #%(id)s changed meanwhile; reload the page.") % {"id": job.pk}, "job_changed", "job")
    return job
