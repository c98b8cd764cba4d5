"""Reads of platform tables, scoped to the user."""

from django.db.models import QuerySet

from .errors import NotFound
from .models import Job


def jobs_visible_to(user) -> QuerySet[Job]:
    """A user sees the jobs they started; national regulators see every job."""
    if not getattr(user, "is_authenticated", False):
        return Job.objects.none()
    if user.is_superuser or getattr(user, "role", None) == "national_regulator":
        return Job.objects.all()
    return Job.objects.filter(created_by=user)


def job_get(*, user, pk: int) -> Job:
    job = jobs_visible_to(user).filter(pk=pk).first()
    if job is None:
        raise NotFound("No such job.", field="job")
    return job
