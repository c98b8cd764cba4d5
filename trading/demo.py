"""Demo trading data: participant accounts and cash for the demo entities, exchange staff, a few resting
orders on CEA21, 60 days of illustrative closing prices, and the session-close schedule.

Runs after the registry demo (which allocates CEA21 to the entities). Idempotent: accounts, cash
notices (by bank reference) and orders are found before they are created. The price history is
illustrative (a seeded random walk around 79 yuan), not market data.
"""

import datetime as dt
import random
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from cets.common.calendar import is_trading_day
from entities.credit_code import credit_code_make
from entities.models import Organisation, Province, User
from registry import services as registry

from .models import CashJournal, DailyBar, Order, Participant, Product
from .services import cash_deposit, order_place, participant_open

DEMO_PASSWORD = "cets-demo-2024"


def _staff() -> User:
    exchange, _ = Organisation.objects.get_or_create(credit_code=credit_code_make("12310000000000007"), defaults={
        "name": "上海环境能源交易所", "name_en": "Shanghai Environment and Energy Exchange",
        "kind": Organisation.Kind.EXCHANGE, "province": Province.objects.get(code="31")})
    user, created = User.objects.get_or_create(username="exchange", defaults={
        "role": User.Role.EXCHANGE_STAFF, "organisation": exchange})
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save()
    return user


def _last_session_moment() -> dt.datetime:
    """10:00 Beijing time on the latest trading day up to today (orders need an open session)."""
    day = timezone.localdate()
    while not is_trading_day(day):
        day -= dt.timedelta(days=1)
    return timezone.make_aware(dt.datetime.combine(day, dt.time(10, 0)))


def _history(product: Product, until: dt.date) -> int:
    if DailyBar.objects.filter(product=product).exists():
        return 0
    rng = random.Random(2021)
    close = Decimal("72.00")
    day, bars = until - dt.timedelta(days=1), []
    while len(bars) < 60:
        if is_trading_day(day):
            step = Decimal(rng.randint(-150, 170)) / 100
            previous = close
            close = max(Decimal("50.00"), close + step)
            volume = rng.randint(50, 400) * 1000
            bars.append(DailyBar(product=product, date=day, open=previous, high=max(previous, close),
                                 low=min(previous, close), close=close, previous_close=previous,
                                 listed_volume=volume, listed_value=close * volume))
        day -= dt.timedelta(days=1)
    bars.reverse()
    for newer, older in zip(bars[1:], bars[:-1], strict=True):
        newer.previous_close = older.close
    DailyBar.objects.bulk_create(bars)
    Product.objects.filter(pk=product.pk).update(previous_close=bars[-1].close)
    return len(bars)


def _schedule() -> None:
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    close, _ = CrontabSchedule.objects.get_or_create(minute="5", hour="15", day_of_week="1-5",
                                                     timezone="Asia/Shanghai")
    PeriodicTask.objects.get_or_create(name="trading: session close", defaults={
        "task": "trading.tasks.session_close_task", "crontab": close})
    every_minute, _ = CrontabSchedule.objects.get_or_create(minute="*", hour="9-15", day_of_week="1-5",
                                                            timezone="Asia/Shanghai")
    PeriodicTask.objects.get_or_create(name="trading: close auctions and expire proposals", defaults={
        "task": "trading.tasks.auctions_close_task", "crontab": every_minute})


def seed(out, base) -> None:
    staff = _staff()
    users = base["users"]
    accounts = {}
    with transaction.atomic():
        for entity in base["entities"]:
            existing = Participant.objects.filter(entity=entity).select_related("account").first()
            accounts[entity.pk] = existing.account if existing else participant_open(
                actor=None, entity=entity, registry_account=registry.account_for_entity(entity=entity))
            reference = f"DEMO-DEPOSIT-{entity.pk}"
            if not CashJournal.objects.filter(bank_reference=reference).exists():
                cash_deposit(actor=staff, account=accounts[entity.pk], amount=Decimal("50000000.00"),
                             bank_reference=reference)
    product = Product.objects.get(code="CEA21")
    now = _last_session_moment()
    bars = _history(product, now.date())
    product.refresh_from_db()
    huaneng, zhujiang = base["entities"][0], base["entities"][3]
    if not Order.objects.filter(product=product).exists():
        close = product.previous_close
        for offset, qty in ((Decimal("0.50"), 5_000), (Decimal("0.80"), 8_000), (Decimal("1.20"), 12_000)):
            order_place(user=users["huaneng"], account=accounts[huaneng.pk], product=product, side="SELL",
                        price=close + offset, quantity=qty, now=now)
        for offset, qty in ((Decimal("0.30"), 6_000), (Decimal("0.90"), 10_000)):
            order_place(user=users["zhujiang"], account=accounts[zhujiang.pk], product=product, side="BUY",
                        price=close - offset, quantity=qty, now=now)
    _schedule()
    out.write(f"trading: {len(accounts)} participant accounts with 50,000,000 yuan each, {bars} days of "
              f"illustrative CEA21 prices, resting orders on CEA21; staff user 'exchange'")
