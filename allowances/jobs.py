"""Job handlers of the allocation runs (registered at startup by AllowancesConfig.ready)."""

from cets.common.jobs import job_handler

from . import services
from .models import AllocationRun


@job_handler("allowances.calculate")
def calculate(job) -> dict:
    """Compute a run's entity and unit results, chunk by chunk (a rerun resumes)."""
    return services.run_calculate(run=AllocationRun.objects.select_related("plan").get(pk=job.params["run"]),
                                  job=job)


@job_handler("allowances.issue")
def issue(job) -> dict:
    """Issue or withdraw each entity's difference through the registry (a rerun resumes)."""
    return services.run_issue(run=AllocationRun.objects.get(pk=job.params["run"]), job=job)
