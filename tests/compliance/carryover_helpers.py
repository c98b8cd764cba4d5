"""Shared set-up of the carry-over tests: the seeded 2025 scheme made current, exchange trades, holdings."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from compliance import carryover_services as services
from compliance.models import CarryOverScheme
from registry import selectors as registry_selectors
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


def held(entity, vintage) -> int:
    account = registry.account_for_entity(entity=entity)
    return registry_selectors.balance(account, registry.instrument_get_or_create_cea(vintage=vintage)).available


@pytest.fixture
def scheme(db):
    return current_scheme()


@pytest.fixture
def market(scheme, entity, other_entity, give):
    """Hubei holds 100,000 t CEA19-20 and 300,000 t CEA21 and sold 190,000 t net in the window; Guangdong holds
    5,000 t CEA22 and bought."""
    give(entity, 2019, 100_000)
    give(entity, 2021, 300_000)
    give(other_entity, 2022, 5_000)
    hubei, guangdong = trading_account(entity), trading_account(other_entity)
    trade(seller=hubei, buyer=guangdong, code="CEA21", quantity=200_000, day=dt.date(2024, 3, 5), method="bulk")
    trade(seller=hubei, buyer=guangdong, code="CEA23", quantity=10_000, day=dt.date(2025, 12, 31), method="auction")
    trade(seller=guangdong, buyer=hubei, code="CEA22", quantity=20_000, day=dt.date(2025, 6, 2))
    trade(seller=hubei, buyer=guangdong, code="CEA22", quantity=50_000, day=dt.date(2023, 12, 29))  # before
    trade(seller=hubei, buyer=guangdong, code="CEA24", quantity=70_000, day=dt.date(2026, 1, 5))  # after
    return scheme


@pytest.fixture
def notified(market, national):
    return services.notices_issue(actor=national, scheme=market)


@pytest.fixture
def open_now(notified, scheme):
    """The scheme with its second batch still receiving today (the API applies at the real moment)."""
    today = timezone.localdate()
    scheme.apply_until = today + dt.timedelta(days=30)
    scheme.save(update_fields=["apply_until"])
    scheme.batches.filter(number=2).update(receive_until=scheme.apply_until, decide_by=scheme.apply_until)
    return scheme
