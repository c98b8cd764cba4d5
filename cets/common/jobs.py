"""Long work as Jobs: a row people can watch, a handler per kind, one Celery task to run any.

A handler processes its work in chunks, each chunk in its own transaction, and reports progress
after each commit; that is what makes the progress bar live and a rerun after a crash resume
instead of doubling (handlers skip what an earlier run already committed).
"""

import logging
from collections.abc import Callable

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .errors import DomainError
from .models import Job

log = logging.getLogger(__name__)

JobHandler = Callable[[Job], dict | None]
_HANDLERS: dict[str, JobHandler] = {}


def job_handler(kind: str):
    """Register the function that runs jobs of ``kind`` (it returns the job's result dict)."""

    def register(fn: JobHandler) -> JobHandler:
        _HANDLERS[kind] = fn
        return fn

    return register


def job_create(*, kind: str, user=None, params: dict | None = None, total: int = 0,
               enqueue: bool = True) -> Job:
    """Create a job and, once the surrounding transaction commits, send it to a worker."""
    if kind not in _HANDLERS:
        raise DomainError(f"Unknown job kind {kind!r}.", "unknown_job_kind", "kind")
    job = Job.objects.create(kind=kind, created_by=user, params=params or {}, total=total)
    if enqueue:
        from .tasks import job_run_task

        transaction.on_commit(lambda: job_run_task.delay(job.pk))
    return job


def job_progress(job: Job, *, done: int | None = None, advance: int = 0, total: int | None = None,
                 message: str | None = None) -> None:
    """Record progress (outside any long transaction, so readers see it at once)."""
    fields: dict = {}
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
    if fields:
        Job.objects.filter(pk=job.pk).update(**fields)


def job_run(job_id: int) -> Job:
    """Run a job by its handler; a failure is recorded on the job with its message."""
    job = Job.objects.get(pk=job_id)
    if job.status == Job.Status.SUCCEEDED:
        return job
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING, started_at=timezone.now())
    job.status = Job.Status.RUNNING
    try:
        result = _HANDLERS[job.kind](job)
    except Exception as exc:
        log.exception("job %s failed", job.pk)
        Job.objects.filter(pk=job.pk).update(
            status=Job.Status.FAILED, message=str(getattr(exc, "message", exc))[:500], finished_at=timezone.now()
        )
        job.refresh_from_db()
        if not isinstance(exc, DomainError):
            raise
        return job
    job.refresh_from_db()
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.SUCCEEDED, result=result, finished_at=timezone.now(),
        done=job.total if job.total else job.done,
    )
    job.refresh_from_db()
    return job
