import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from compliance import services
from registry import services as registry
from trading.models import DailyBar, Method, Product, Trade
from trading.services import participant_open

pytestmark = pytest.mark.django_db


def _trade(buyer, seller, product, method, day: dt.date, quantity: int, price: str) -> Trade:
    value = Decimal(price) * quantity
    return Trade.objects.create(product=product, method=method, buyer=buyer, seller=seller, price=Decimal(price),
                                quantity=quantity, value=value, buyer_fee=Decimal("0"), seller_fee=Decimal("0"),
                                trade_date=day, executed_at=timezone.make_aware(dt.datetime.combine(day, dt.time(10))))


def test_penalty_price_is_value_over_volume_of_every_cea_trade_of_the_month(entity, other_entity):
    """Art. 24: listed, bulk and auction trades of every CEA product in the month count; closing prices do not."""
    seller = participant_open(actor=None, entity=entity, registry_account=registry.account_for_entity(entity=entity))
    buyer = participant_open(actor=None, entity=other_entity,
                             registry_account=registry.account_for_entity(entity=other_entity))
    cea21, cea22 = Product.objects.get(code="CEA21"), Product.objects.get(code="CEA22")
    _trade(buyer, seller, cea21, Method.LISTED, dt.date(2023, 11, 1), 1_000, "60.00")
    _trade(buyer, seller, cea22, Method.BULK, dt.date(2023, 11, 30), 3_000, "80.00")
    _trade(buyer, seller, cea21, Method.AUCTION, dt.date(2023, 11, 15), 1_000, "70.00")
    _trade(buyer, seller, cea21, Method.LISTED, dt.date(2023, 10, 31), 50_000, "10.00")  # the month before
    _trade(buyer, seller, cea21, Method.BULK, dt.date(2023, 12, 1), 50_000, "99.00")  # the deadline's month
    DailyBar.objects.create(product=cea21, date=dt.date(2023, 11, 2), close=Decimal("99"), previous_close=Decimal("99"))
    # (60,000 + 240,000 + 70,000) yuan / 5,000 t = 74.00 (a mean of prices would be 70.00)
    assert services.market_average_price(dt.date(2023, 11, 1)) == Decimal("74.00")
    assert services.price_month(dt.date(2023, 12, 31)) == dt.date(2023, 11, 1)
    assert services.market_average_price(dt.date(2023, 9, 1)) is None
