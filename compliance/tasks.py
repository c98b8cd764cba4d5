"""Celery tasks of the compliance app: thin, idempotent, calling services."""

from celery import shared_task

from . import services
from .models import ComplianceCycle


@shared_task(acks_late=True)
def risk_scan_daily() -> dict:
    """Daily compliance risk scan of every open cycle (django-celery-beat schedule, editable in the admin).

    Idempotent: one snapshot per entity and day (a rerun replaces it) and one warning per horizon.
    """
    return {cycle.code: services.risk_scan(cycle=cycle)
            for cycle in ComplianceCycle.objects.filter(status=ComplianceCycle.Status.OPEN)}
