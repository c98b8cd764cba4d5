"""Listed agreement trading through the services: freezing, matching, DvP settlement, T+1, rebuild."""

from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import F

from trading import books
from trading.models import Order, Product, Trade
from trading.selectors import cash_check, depth
from trading.services import order_amend, order_cancel, order_place, order_take
from trading.services import orders as orders_service

from .conftest import at, cash, units

pytestmark = pytest.mark.django_db


def test_sell_listing_reserves_units_and_buy_limit_crosses_at_listed_price(
        seller, seller_account, buyer, buyer_account, product):
    sell, trades = order_place(user=seller, account=seller_account, product=product, side="SELL",
                               price="80.00", quantity=1_000)
    assert trades == [] and sell.status == "open" and sell.open_quantity == 1_000
    assert units(seller_account, product) == (200_000, 199_000)

    buy, trades = order_place(user=buyer, account=buyer_account, product=product, side="BUY",
                              price="81.00", quantity=600)
    (trade,) = trades
    assert (trade.price, trade.quantity, trade.value) == (Decimal("80.00"), 600, Decimal("48000.00"))
    assert trade.buyer_fee == trade.seller_fee == Decimal("24.00")
    assert buy.status == "filled" and buy.frozen_amount == 0
    sell.refresh_from_db()
    assert (sell.status, sell.open_quantity, sell.filled_quantity) == ("partial", 400, 600)
    # Units delivered, cash paid: buyer paid value + fee, nothing left frozen (price improvement released).
    assert units(buyer_account, product) == (600, 600)
    assert units(seller_account, product) == (199_400, 199_000)
    assert cash(buyer_account) == (Decimal("20000000.00") - Decimal("48024.00"), Decimal("0.00"))
    assert cash(seller_account) == (Decimal("1000000.00") + Decimal("47976.00"), Decimal("0.00"))
    assert cash_check() == []


def test_limit_order_takes_best_prices_first_then_rests(seller, seller_account, buyer, buyer_account, product):
    for price, qty in (("80.50", 100), ("80.00", 100), ("80.00", 50)):
        order_place(user=seller, account=seller_account, product=product, side="SELL", price=price, quantity=qty)
    buy, trades = order_place(user=buyer, account=buyer_account, product=product, side="BUY",
                              price="80.20", quantity=300)
    assert [(t.price, t.quantity) for t in trades] == [(Decimal("80.00"), 100), (Decimal("80.00"), 50)]
    assert (buy.status, buy.open_quantity) == ("partial", 150)
    # What stays frozen covers exactly the open 150 t at the limit plus the fee rounded up.
    assert buy.frozen_amount == Decimal("12036.02")
    assert cash(buyer_account)[1] == Decimal("12036.02")
    d = depth(product)
    assert d["bids"] == [{"price": Decimal("80.20"), "quantity": 150, "orders": 1}]
    assert d["asks"] == [{"price": Decimal("80.50"), "quantity": 100, "orders": 1}]


def test_take_chosen_listing_partly_at_its_price(seller, seller_account, buyer, buyer_account, product):
    listing, _ = order_place(user=seller, account=seller_account, product=product, side="SELL", price="82.00",
                             quantity=500)
    order, trade = order_take(user=buyer, account=buyer_account, listing=listing, quantity=200)
    assert (trade.price, trade.quantity) == (Decimal("82.00"), 200)
    listing.refresh_from_db()
    assert listing.open_quantity == 300
    assert order.status == "filled" and order.side == "BUY"


def test_taking_own_listing_is_refused_and_changes_nothing(seller, seller_account, product):
    listing, _ = order_place(user=seller, account=seller_account, product=product, side="SELL", price="82.00",
                             quantity=500)
    before = (Order.objects.count(), cash(seller_account), units(seller_account, product))
    with pytest.raises(Exception) as exc:
        order_take(user=seller, account=seller_account, listing=listing, quantity=10)
    assert exc.value.code == "self_trade"
    assert (Order.objects.count(), cash(seller_account), units(seller_account, product)) == before


def test_cancel_releases_frozen_cash_and_reserved_units(seller, seller_account, buyer, buyer_account, product):
    sell, _ = order_place(user=seller, account=seller_account, product=product, side="SELL", price="85.00",
                          quantity=1_000)
    buy, _ = order_place(user=buyer, account=buyer_account, product=product, side="BUY", price="75.00",
                         quantity=1_000)
    assert cash(buyer_account)[1] == Decimal("75037.50")
    order_cancel(user=seller, order=sell)
    order_cancel(user=buyer, order=buy)
    assert units(seller_account, product) == (200_000, 200_000)
    assert cash(buyer_account) == (Decimal("20000000.00"), Decimal("0.00"))
    assert depth(product) == {"bids": [], "asks": []}


def test_cancelling_someone_elses_order_is_refused(seller, seller_account, buyer, buyer_account, product):
    sell, _ = order_place(user=seller, account=seller_account, product=product, side="SELL", price="85.00",
                          quantity=1_000)
    with pytest.raises(Exception) as exc:
        order_cancel(user=buyer, order=sell)
    assert exc.value.status_code == 403
    sell.refresh_from_db()
    assert sell.status == "open"


def test_amend_loses_priority(seller, seller_account, buyer, buyer_account, product, other_entity):
    first, _ = order_place(user=seller, account=seller_account, product=product, side="SELL", price="80.00",
                           quantity=100)
    order_amend(user=seller, order=first, price="80.00", quantity=150)
    first.refresh_from_db()
    assert (first.quantity, first.open_quantity, first.price) == (150, 150, Decimal("80.00"))
    assert units(seller_account, product) == (200_000, 199_850)
    _, trades = order_place(user=buyer, account=buyer_account, product=product, side="BUY", price="80.00",
                            quantity=10)
    assert trades[0].sell_order_id == first.pk


def test_units_bought_today_cannot_be_sold_until_next_trading_day(
        seller, seller_account, buyer, buyer_account, product, clock):
    order_place(user=seller, account=seller_account, product=product, side="SELL", price="80.00", quantity=500)
    order_place(user=buyer, account=buyer_account, product=product, side="BUY", price="80.00", quantity=500)
    count = Order.objects.count()
    with pytest.raises(Exception) as exc:
        order_place(user=buyer, account=buyer_account, product=product, side="SELL", price="80.00", quantity=100)
    assert exc.value.code == "insufficient_units"
    assert Order.objects.count() == count
    clock.set(at(10, day=at(10).date().replace(day=25)))  # Thursday 2024-04-25
    sell, _ = order_place(user=buyer, account=buyer_account, product=product, side="SELL", price="80.00",
                          quantity=100)
    assert sell.status == "open"


def test_sale_cash_is_usable_at_once(seller, seller_account, buyer, buyer_account, product, staff):
    order_place(user=buyer, account=buyer_account, product=product, side="BUY", price="80.00", quantity=12_000)
    _, trades = order_place(user=seller, account=seller_account, product=product, side="SELL", price="80.00",
                            quantity=12_000)
    assert cash(seller_account)[0] == Decimal("1000000.00") + Decimal("960000.00") - Decimal("480.00")
    # The seller spends the proceeds at once: more than its cash before the sale.
    order, _ = order_place(user=seller, account=seller_account, product=product, side="BUY", price="79.00",
                           quantity=20_000)
    assert order.frozen_amount == Decimal("1580790.00")


def test_book_is_rebuilt_from_open_orders_after_a_restart(seller, seller_account, buyer, buyer_account, product):
    order_place(user=seller, account=seller_account, product=product, side="SELL", price="80.00", quantity=100)
    order_place(user=seller, account=seller_account, product=product, side="SELL", price="80.00", quantity=200)
    bid, _ = order_place(user=buyer, account=buyer_account, product=product, side="BUY", price="79.00",
                         quantity=300)
    before = books.book_rebuild(product).open_orders()
    books.books_forget()  # the process dies: the in-memory books are gone
    rebuilt = books.book_rebuild(product)
    assert rebuilt.open_orders() == before
    assert [(o.quantity, o.sequence) for o in rebuilt.open_orders()] == [(100, 1), (200, 2), (300, 3)]
    # And matching after the restart keeps time priority: the first 100 t go first.
    _, trades = order_place(user=buyer, account=buyer_account, product=product, side="BUY", price="80.00",
                            quantity=150)
    assert [t.quantity for t in trades] == [100, 50]
    assert Trade.objects.count() == 2


def test_cached_book_is_not_used_after_another_process_changed_the_product(
        seller, seller_account, buyer, buyer_account, product, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        listing, _ = order_place(user=seller, account=seller_account, product=product, side="SELL", price="80.00",
                                 quantity=100)
    # Another process withdraws the listing: its transaction bumps the book version.
    Order.objects.filter(pk=listing.pk).update(status="cancelled", open_quantity=0)
    Product.objects.filter(pk=product.pk).update(book_version=F("book_version") + 1)
    with django_capture_on_commit_callbacks(execute=True):
        _, trades = order_place(user=buyer, account=buyer_account, product=product, side="BUY", price="80.00",
                                quantity=100)
    assert trades == []


def test_a_failed_settlement_rolls_back_and_the_book_is_rebuilt(
        seller, seller_account, buyer, buyer_account, product, django_capture_on_commit_callbacks, monkeypatch):
    with django_capture_on_commit_callbacks(execute=True):
        listing, _ = order_place(user=seller, account=seller_account, product=product, side="SELL", price="80.00",
                                 quantity=100)

    def broken(**kwargs):
        raise RuntimeError("settlement crashed")

    with monkeypatch.context() as m, pytest.raises(RuntimeError), transaction.atomic():
        m.setattr(orders_service, "trade_settle", broken)
        order_place(user=buyer, account=buyer_account, product=product, side="BUY", price="80.00", quantity=100)
    assert Trade.objects.count() == 0 and Order.objects.count() == 1
    # The in-memory book had matched the listing away; it must not be trusted after the rollback.
    with django_capture_on_commit_callbacks(execute=True):
        _, trades = order_place(user=buyer, account=buyer_account, product=product, side="BUY", price="80.00",
                                quantity=100)
    assert [(t.sell_order_id, t.quantity) for t in trades] == [(listing.pk, 100)]
