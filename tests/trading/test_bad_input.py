"""Issue point 10: every bad request gets a clear error naming the field and the rule; nothing changes."""

import pytest

from cets.common.errors import DomainError
from trading.models import CashJournal, Order, Trade
from trading.services import bulk_propose, order_place

from .conftest import at, cash, units

pytestmark = pytest.mark.django_db


def _counts(*accounts, product):
    return (Order.objects.count(), Trade.objects.count(), CashJournal.objects.count(),
            [cash(a) for a in accounts], [units(a, product) for a in accounts])


@pytest.mark.parametrize("price, quantity, code, field", [
    ("80.001", 100, "off_tick", "price"),
    ("87.37", 100, "outside_band", "price"),     # band 71.48-87.36 around 79.42
    ("71.47", 100, "outside_band", "price"),
    ("0", 100, "invalid_price", "price"),
    ("abc", 100, "invalid_price", "price"),
    ("80.00", 0, "invalid_quantity", "quantity"),
    ("80.00", "1.5", "invalid_quantity", "quantity"),
    ("80.00", -5, "invalid_quantity", "quantity"),
    ("80.00", 100_000, "over_listed_limit", "quantity"),
])
def test_listed_order_rules(seller, seller_account, product, price, quantity, code, field):
    before = _counts(seller_account, product=product)
    with pytest.raises(DomainError) as exc:
        order_place(user=seller, account=seller_account, product=product, side="SELL", price=price,
                    quantity=quantity)
    assert (exc.value.code, exc.value.field) == (code, field)
    assert _counts(seller_account, product=product) == before


def test_band_limits_themselves_are_allowed(seller, seller_account, product):
    for price in ("87.36", "71.48"):
        order, _ = order_place(user=seller, account=seller_account, product=product, side="SELL", price=price,
                               quantity=10)
        assert order.status == "open"


@pytest.mark.parametrize("moment, code", [
    (at(9, 29), "outside_session"),
    (at(12, 0), "outside_session"),
    (at(15, 0), "outside_session"),
    (at(10, day=at(10).date().replace(day=27)), "not_trading_day"),   # Saturday 2024-04-27 (a make-up workday)
    (at(10, day=at(10).date().replace(month=5, day=1)), "not_trading_day"),  # Labour Day
])
def test_orders_outside_session_or_on_holidays_are_refused(seller, seller_account, product, clock, moment, code):
    clock.set(moment)
    before = _counts(seller_account, product=product)
    with pytest.raises(DomainError) as exc:
        order_place(user=seller, account=seller_account, product=product, side="SELL", price="80.00", quantity=10)
    assert (exc.value.code, exc.value.field) == (code, "time")
    assert _counts(seller_account, product=product) == before


def test_buying_without_funds_is_refused(buyer, buyer_account, product):
    before = _counts(buyer_account, product=product)
    with pytest.raises(DomainError) as exc:  # 99,999 t x 87 yuan = 8.7 m; the buyer has 20 m: try 3 orders
        for _ in range(3):
            order_place(user=buyer, account=buyer_account, product=product, side="BUY", price="87.00",
                        quantity=99_999)
    assert exc.value.code == "insufficient_funds"
    assert Order.objects.count() == before[0] + 2
    assert cash(buyer_account)[0] >= 0


def test_selling_more_than_held_or_reserved_is_refused(seller, seller_account, product):
    order_place(user=seller, account=seller_account, product=product, side="SELL", price="80.00", quantity=99_999)
    order_place(user=seller, account=seller_account, product=product, side="SELL", price="80.00", quantity=99_999)
    before = _counts(seller_account, product=product)
    with pytest.raises(DomainError) as exc:  # 2 t left unreserved of 200,000
        order_place(user=seller, account=seller_account, product=product, side="SELL", price="80.00", quantity=3)
    assert (exc.value.code, exc.value.field) == ("insufficient_units", "quantity")
    assert _counts(seller_account, product=product) == before


def test_bulk_proposal_under_100000_is_refused(seller, seller_account, buyer_account, product, clock):
    clock.set(at(13, 30))
    with pytest.raises(DomainError) as exc:
        bulk_propose(user=seller, account=seller_account, counterparty=buyer_account, product=product, side="SELL",
                     price="80.00", quantity=99_999)
    assert (exc.value.code, exc.value.field) == ("under_bulk_minimum", "quantity")


def test_bulk_in_the_morning_is_refused(seller, seller_account, buyer_account, product):
    with pytest.raises(DomainError) as exc:
        bulk_propose(user=seller, account=seller_account, counterparty=buyer_account, product=product, side="SELL",
                     price="80.00", quantity=100_000)
    assert exc.value.code == "outside_session"


def test_trading_on_someone_elses_account_is_refused(buyer, seller_account, product):
    with pytest.raises(DomainError) as exc:
        order_place(user=buyer, account=seller_account, product=product, side="SELL", price="80.00", quantity=10)
    assert exc.value.status_code == 403
    assert Order.objects.count() == 0
