from celery import shared_task

from .audit import audit_seal_all
from .jobs import job_run, job_sweep


@shared_task(acks_late=True, reject_on_worker_lost=True)
def job_run_task(job_id: int) -> str:
    """Run any Job; idempotent because handlers resume from what is committed.

    A message redelivered after its worker died finds the job still held (fresh heartbeat) or takes it
    over (stale); the sweeper, not the redelivery, is what guarantees that no job stays stuck.
    """
    return job_run(job_id, rerun_failed=False).status


@shared_task
def job_sweep_task() -> dict:
    """Re-queue or fail the jobs whose worker stopped responding (beat, every minute)."""
    return job_sweep()


@shared_task
def ping(value: int) -> int:
    """A no-op round trip, used to prove a worker is reachable through the broker."""
    return value * 2


@shared_task
def audit_seal_task() -> int:
    """Seal the audit entries committed since the last run into the hash chain (beat, every 10 s)."""
    return audit_seal_all()
