"""Job handlers of the mrv app: early-warning runs (per batch of submissions and nightly per year)."""

import datetime as dt

from django.utils import timezone

from cets.common.jobs import job_handler, job_progress

from .cems import compare_month
from .early_warnings import warnings_run


@job_handler("mrv.warnings")
def run_warnings(job) -> dict:
    """Rules over a batch of new submissions; rerunning is harmless (open duplicates are skipped)."""
    counts = warnings_run(submission_ids=job.params["submission_ids"])
    job_progress(job, done=len(job.params["submission_ids"]), message=f"{sum(counts.values())} new warnings")
    return {"new_warnings": counts}


@job_handler("mrv.warnings_nightly")
def run_warnings_nightly(job) -> dict:
    """Every rule over every current submission of each year, one year per chunk."""
    result = {}
    years = job.params["years"]
    for index, year in enumerate(years, start=1):
        result[str(year)] = warnings_run(year=year)
        job_progress(job, done=index, total=len(years), message=f"{year} checked")
    # CEMS against the accounting for the last two ended months (late submissions are caught the next night).
    last = timezone.localdate().replace(day=1) - dt.timedelta(days=1)
    for day in (last, last.replace(day=1) - dt.timedelta(days=1)):
        result[f"cems {day:%Y-%m}"] = compare_month(day.year, day.month)
    return {"new_warnings": result}
