"""Background work of the registry, run as Jobs with a live progress bar."""

from cets.common.jobs import job_handler

from . import services
from .models import Instrument


@job_handler("registry.allocation")
def allocation_job(job) -> dict:
    """Allocate one instrument to many accounts (params: instrument code, {account_id: qty}, reference).

    Rerunning the job resumes: ``allocation_execute`` skips accounts the earlier run already served.
    """
    params = job.params
    instrument = Instrument.objects.get(code=params["instrument"])
    tx = services.allocation_execute(actor=job.created_by, instrument=instrument,
                                     allocations=params["allocations"], reference=params["reference"], job=job)
    return {"transaction": tx.pk, "accounts": len(params["allocations"]), "quantity": tx.quantity}
