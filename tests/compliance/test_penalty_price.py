import datetime as dt
from decimal import Decimal

import pytest

from compliance import services
from trading.models import DailyBar, Product

pytestmark = pytest.mark.django_db


def test_penalty_price_is_the_months_average_closing_price():
    cea21, cea22 = Product.objects.get(code="CEA21"), Product.objects.get(code="CEA22")
    for product, day, close in [(cea21, 1, "60.00"), (cea21, 2, "70.00"), (cea22, 2, "80.50"),
                                (cea21, 30, "75.00")]:
        DailyBar.objects.create(product=product, date=dt.date(2023, 11, day), close=Decimal(close),
                                previous_close=Decimal(close))
    DailyBar.objects.create(product=cea21, date=dt.date(2023, 12, 1), close=Decimal("99"), previous_close=Decimal("99"))
    # (60 + 70 + 80.50 + 75) / 4 = 71.375 -> 71.38 (half up)
    assert services.market_average_price(dt.date(2023, 11, 1)) == Decimal("71.38")
    assert services.market_average_price(dt.date(2023, 10, 1)) is None
