"""Celery tasks of the exchange: thin and idempotent, they call services (schedules in django-celery-beat)."""

import datetime as dt

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from cets.common.calendar import is_trading_day
from cets.common.jobs import job_create

from . import services
from .models import Auction


@shared_task(acks_late=True)
def session_close_task(day: str | None = None) -> dict:
    """After 15:00 Beijing time: a session-close Job (closing prices, bars, withdrawn day orders, expired
    proposals, surveillance) that people can watch; returns the job's id and status."""
    date = dt.date.fromisoformat(day) if day else timezone.localdate()
    if not is_trading_day(date):
        return {"day": str(date), "skipped": "not a trading day"}
    with transaction.atomic():
        job = job_create(kind="trading.session_close", params={"day": str(date)})
    job.refresh_from_db()
    return {"day": str(date), "job": job.pk, "status": job.status}


@shared_task(acks_late=True)
def auctions_close_task() -> list[int]:
    """Close every auction whose window has ended (each in its own transaction)."""
    now = timezone.now()
    closed = []
    for auction in Auction.objects.filter(status=Auction.Status.OPEN, closes_at__lte=now):
        services.auction_close(auction=auction, now=now)
        closed.append(auction.pk)
    return closed


@shared_task(acks_late=True)
def bulk_expire_task() -> int:
    """Expire bulk proposals whose session has ended."""
    return services.bulk_expire()
