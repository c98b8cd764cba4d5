from celery import shared_task

from .audit import audit_seal_all
from .jobs import job_run


@shared_task(acks_late=True)
def job_run_task(job_id: int) -> str:
    """Run any Job; idempotent because handlers resume from what is committed."""
    return job_run(job_id).status


@shared_task
def ping(value: int) -> int:
    """A no-op round trip, used to prove a worker is reachable through the broker."""
    return value * 2


@shared_task
def audit_seal_task() -> int:
    """Seal the audit entries committed since the last run into the hash chain (beat, every 10 s)."""
    return audit_seal_all()
