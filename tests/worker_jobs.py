"""A slow, resumable job kind for the real-worker test (tests/test_celery_worker.py): the worker process
imports this module (``--include``), the test process too, so both know the kind."""

import time

from django.db import transaction

from cets.common.audit import audit_record
from cets.common.jobs import job_handler, job_progress
from cets.common.models import AuditEntry, Job

SLOW_KIND = "test.slow_count"


@job_handler(SLOW_KIND)
def slow_count(job: Job) -> dict:
    """One audited row per item, each in its own transaction after ``params["pause"]`` seconds of "work";
    items an earlier run committed are skipped, so a rerun after a crash neither doubles nor loses any."""
    written = 0
    for item in range(job.total):
        if AuditEntry.objects.filter(action="test.slow_item", object_type=f"job{job.pk}", object_id=str(item)).exists():
            continue
        time.sleep(job.params.get("pause", 0))
        with transaction.atomic():
            audit_record(actor=None, action="test.slow_item", object_type=f"job{job.pk}", object_id=item)
        written += 1
        job_progress(job, done=item + 1)
    return {"written": written}
