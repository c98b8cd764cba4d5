"""Job handlers of the compliance app (registered when the app is ready)."""

from cets.common.jobs import job_handler

from . import services


@job_handler(services.CLOSE_JOB, on_failure=services.cycle_close_abandon)
def cycle_close_job(job) -> dict:
    """Close a compliance cycle in chunks; a rerun skips what an earlier run committed. Failed for good,
    the cycle is open again."""
    return services.close_run(job)
