"""Celery tasks of the exchange: thin and idempotent, they call services (schedules in django-celery-beat)."""

import datetime as dt

from celery import shared_task
from django.utils import timezone

from cets.common.calendar import is_trading_day

from . import services
from .models import Auction


@shared_task(acks_late=True)
def session_close_task(day: str | None = None) -> dict:
    """At 15:00 Beijing time: closing prices, bars, withdrawn day orders, expired proposals, surveillance."""
    date = dt.date.fromisoformat(day) if day else timezone.localdate()
    if not is_trading_day(date):
        return {"day": str(date), "skipped": "not a trading day"}
    return services.session_close(day=date)


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
