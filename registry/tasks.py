from celery import shared_task

from . import services


@shared_task
def execute_due_transfers() -> int:
    """Run delayed transfers whose delay has passed (schedule every few minutes in django-celery-beat)."""
    return services.transfers_execute_due()
