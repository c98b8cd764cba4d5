"""Celery tasks of the mrv app: thin, idempotent, calling services (schedules live in django-celery-beat)."""

from celery import shared_task
from django.utils import timezone

from cets.common.jobs import job_create

from .deadlines import reminders_send
from .determinations import conservative_cases_open
from .early_warnings import warnings_escalate
from .reviews import reviews_escalate


@shared_task(name="mrv.warnings_nightly")
def warnings_nightly() -> int:
    """Enqueue the nightly run of every rule over this year and last year."""
    year = timezone.localdate().year
    return job_create(kind="mrv.warnings_nightly", params={"years": [year - 1, year]}, total=2).pk


@shared_task(name="mrv.warnings_escalate")
def warnings_escalate_task() -> int:
    """Move overdue warnings, and monthly reviews past their deadline, one tier up."""
    return warnings_escalate() + reviews_escalate()


@shared_task(name="mrv.reminders")
def reminders_task() -> int:
    """Record today's reminders (7 days and 1 day before every due date)."""
    return reminders_send()


@shared_task(name="mrv.conservative_cases")
def conservative_cases_task() -> int:
    """Open a conservative-determination case for each annual report missing at its deadline (daily)."""
    return len(conservative_cases_open())
