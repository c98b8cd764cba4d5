"""Shared set-up of the carry-over tests: the seeded 2025 scheme made current, exchange trades, holdings."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.utils import timezone

from compliance.models import CarryOverScheme
from registry import services as registry
from trading.models import Product, Trade
from trading.services.participants import participant_open

BEIJING = ZoneInfo("Asia/Shanghai")
#: a day in batch 1 (applications received until 2026-03-13)
IN_BATCH_1 = dt.datetime(2026, 3, 1, 10, tzinfo=BEIJING)
IN_BATCH_2 = dt.datetime(2026, 5, 1, 10, tzinfo=BEIJING)
AFTER_DEADLINE = dt.datetime(2026, 6, 11, 9, tzinfo=BEIJING)


def current_scheme() -> CarryOverScheme:
    """The seeded 2025 scheme with its holdings cut-off moved just after now, so units given in a test count."""
    scheme = CarryOverScheme.objects.get(code="2025")
    scheme.cutoff = timezone.now() + dt.timedelta(hours=1)
    scheme.save(update_fields=["cutoff"])
    return scheme


def trading_account(entity):
    return participant_open(actor=None, entity=entity, registry_account=registry.account_for_entity(entity=entity))


def trade(*, seller, buyer, code: str, quantity: int, day: dt.date, method: str = "listed") -> Trade:
    """A settled trade's row as the exchange records it (only the quantity and dates matter to net sales)."""
    price = Decimal("60.00")
    return Trade.objects.create(product=Product.objects.get(code=code), method=method, buyer=buyer, seller=seller,
                                price=price, quantity=quantity, value=price * quantity, buyer_fee=Decimal("0"),
                                seller_fee=Decimal("0"), trade_date=day,
                                executed_at=dt.datetime.combine(day, dt.time(10), tzinfo=BEIJING))
