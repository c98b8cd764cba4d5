"""Batched order entry (``orders_place_batch``): the same trades and balances as one by one, refusals isolated."""

from decimal import Decimal

import pytest

from cets.common.errors import DomainError, Forbidden
from registry.ledger import ledger_check
from trading import books
from trading.models import CashJournal, Order, Trade
from trading.selectors import cash_check
from trading.services import orders as orders_service
from trading.services.orders import OrderRequest, orders_place_batch

from .conftest import at, cash, units

pytestmark = pytest.mark.django_db


def _book_matches_database(product) -> bool:
    """The process's cached book equals a book rebuilt from the open orders (what a restart would see)."""
    version = books.product_lock(product)
    cached = sorted((o.id, o.quantity, o.sequence) for o in books.book_for_update(product, version).open_orders())
    rebuilt = sorted((o.id, o.quantity, o.sequence) for o in books.book_rebuild(product).open_orders())
    return cached == rebuilt


def test_batch_matches_and_settles_each_order_in_arrival_order(seller, seller_account, buyer, buyer_account,
                                                               product):
    results = orders_place_batch(product=product, requests=[
        OrderRequest(user=seller, account=seller_account, side="SELL", price="80.00", quantity=1_000),
        OrderRequest(user=buyer, account=buyer_account, side="BUY", price="81.00", quantity=600),
        OrderRequest(user=buyer, account=buyer_account, side="BUY", price="80.00", quantity=600),
    ])
    assert [r.error for r in results] == [None, None, None]
    sell, first, second = (r.order for r in results)
    assert [(t.price, t.quantity) for t in results[1].trades] == [(Decimal("80.00"), 600)]
    assert [(t.price, t.quantity) for t in results[2].trades] == [(Decimal("80.00"), 400)]
    sell.refresh_from_db()
    second.refresh_from_db()
    assert (sell.status, sell.open_quantity) == ("filled", 0)
    assert (first.status, second.status, second.open_quantity) == ("filled", "partial", 200)
    # 1,000 t at 80.00: value 80,000 and 40.00 fee per side; 200 t still frozen for at 80.00 + fee 8.00.
    assert units(buyer_account, product) == (1_000, 1_000)
    assert units(seller_account, product) == (199_000, 199_000)
    assert cash(buyer_account) == (Decimal("20000000.00") - Decimal("80040.00") - Decimal("16008.00"),
                                   Decimal("16008.00"))
    assert cash(seller_account) == (Decimal("1000000.00") + Decimal("79960.00"), Decimal("0.00"))
    # Every movement is still its own balanced journal entry: freeze x2, settlement x2, one price improvement.
    assert CashJournal.objects.filter(kind=CashJournal.Kind.SETTLEMENT).count() == 2
    assert CashJournal.objects.filter(kind=CashJournal.Kind.FREEZE).count() == 2
    assert cash_check() == [] and ledger_check() == []
    assert _book_matches_database(product)


def test_refused_orders_are_rolled_back_alone_and_the_rest_goes_on(seller, seller_account, buyer, buyer_account,
                                                                   product):
    results = orders_place_batch(product=product, requests=[
        OrderRequest(user=seller, account=seller_account, side="SELL", price="80.00", quantity=1_000),
        OrderRequest(user=buyer, account=buyer_account, side="BUY", price="80.001", quantity=100),
        # Two bids of 99,999 t at 79.00 freeze 7,903,870.97 yuan each; the third finds only 4,192,258.06 left.
        OrderRequest(user=buyer, account=buyer_account, side="BUY", price="79.00", quantity=99_999),
        OrderRequest(user=buyer, account=buyer_account, side="BUY", price="79.00", quantity=99_999),
        OrderRequest(user=buyer, account=buyer_account, side="BUY", price="79.00", quantity=99_999),
        OrderRequest(user=seller, account=buyer_account, side="BUY", price="80.00", quantity=100),
        OrderRequest(user=buyer, account=buyer_account, side="SELL", price="80.00", quantity=100),
        OrderRequest(user=buyer, account=buyer_account, side="BUY", price="80.00", quantity=300),
    ])
    errors = [(r.error.code, r.error.field) if r.error else None for r in results]
    assert [errors[i] for i in (0, 2, 3, 7)] == [None] * 4
    assert errors[1] == ("off_tick", "price")
    assert errors[4] == ("insufficient_funds", "price")
    assert isinstance(results[5].error, Forbidden)
    assert errors[6] == ("insufficient_units", "quantity")
    # Stored: the listing, the two bids and the last buy, which took 300 t of the listing.
    assert Order.objects.count() == 4
    assert [(t.quantity, t.price) for t in results[7].trades] == [(300, Decimal("80.00"))]
    assert cash(buyer_account) == (Decimal("20000000.00") - 2 * Decimal("7903870.97") - Decimal("24012.00"),
                                   2 * Decimal("7903870.97"))
    assert cash_check() == [] and ledger_check() == []
    assert _book_matches_database(product)


def test_an_order_refused_after_matching_is_undone_and_the_book_rebuilt(seller, seller_account, buyer,
                                                                        buyer_account, product, monkeypatch):
    settle = orders_service.trade_settle
    calls = []

    def failing_once(**kwargs):
        calls.append(kwargs["quantity"])
        if len(calls) == 1:
            raise DomainError("settlement refused", "refused", None)
        return settle(**kwargs)

    monkeypatch.setattr(orders_service, "trade_settle", failing_once)
    results = orders_place_batch(product=product, requests=[
        OrderRequest(user=seller, account=seller_account, side="SELL", price="80.00", quantity=500),
        OrderRequest(user=buyer, account=buyer_account, side="BUY", price="80.00", quantity=200),
        OrderRequest(user=buyer, account=buyer_account, side="BUY", price="80.00", quantity=300),
    ])
    assert (results[1].order, results[1].error.code) == (None, "refused")
    assert Order.objects.count() == 2
    # The engine had filled 200 t of the listing for the refused order: the rebuilt book gives them back.
    assert [t.quantity for t in results[2].trades] == [300]
    listing = Order.objects.get(pk=results[0].order.pk)
    assert (listing.open_quantity, listing.status) == (200, "partial")
    assert cash(buyer_account) == (Decimal("20000000.00") - Decimal("24012.00"), Decimal("0.00"))
    assert cash_check() == [] and ledger_check() == []
    assert _book_matches_database(product)


def test_cash_from_a_sale_in_the_batch_buys_later_in_the_same_batch(seller, seller_account, buyer, buyer_account,
                                                                    product):
    results = orders_place_batch(product=product, requests=[
        OrderRequest(user=seller, account=seller_account, side="SELL", price="80.00", quantity=12_000),
        OrderRequest(user=buyer, account=buyer_account, side="BUY", price="80.00", quantity=12_000),
        # 1,580,790.00 yuan to freeze: more than the seller's 1,000,000 before the sale.
        OrderRequest(user=seller, account=seller_account, side="BUY", price="79.00", quantity=20_000),
    ])
    assert [r.error for r in results] == [None, None, None]
    assert results[2].order.frozen_amount == Decimal("1580790.00")
    assert cash(seller_account) == (Decimal("1000000.00") + Decimal("959520.00") - Decimal("1580790.00"),
                                    Decimal("1580790.00"))
    assert cash_check() == []


def test_closed_market_refuses_every_request_and_changes_nothing(seller, seller_account, product, clock):
    clock.set(at(12, 0))
    results = orders_place_batch(product=product, requests=[
        OrderRequest(user=seller, account=seller_account, side="SELL", price="80.00", quantity=100)])
    assert [(r.order, r.error.code) for r in results] == [(None, "outside_session")]
    assert Order.objects.count() == 0


def test_a_failure_that_is_not_a_refusal_rolls_the_whole_batch_back(seller, seller_account, buyer, buyer_account,
                                                                    product, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("database gone")

    monkeypatch.setattr(orders_service, "trade_settle", broken)
    before = (cash(seller_account), cash(buyer_account), units(seller_account, product))
    with pytest.raises(RuntimeError):
        orders_place_batch(product=product, requests=[
            OrderRequest(user=seller, account=seller_account, side="SELL", price="80.00", quantity=500),
            OrderRequest(user=buyer, account=buyer_account, side="BUY", price="80.00", quantity=200),
        ])
    assert Order.objects.count() == 0 and Trade.objects.count() == 0
    assert (cash(seller_account), cash(buyer_account), units(seller_account, product)) == before
    assert _book_matches_database(product)


def test_a_refusal_after_matching_keeps_what_earlier_orders_of_the_batch_did(seller, seller_account, buyer,
                                                                              buyer_account, product, monkeypatch):
    """The refused order is undone in memory: the book is rebuilt and the batch's accepted orders replayed."""
    listing = orders_place_batch(product=product, requests=[
        OrderRequest(user=seller, account=seller_account, side="SELL", price="80.00", quantity=500)])[0].order
    settle = orders_service.trade_settle
    calls = []

    def failing_second(**kwargs):
        calls.append(kwargs["quantity"])
        if len(calls) == 2:
            raise DomainError("settlement refused", "refused", None)
        return settle(**kwargs)

    monkeypatch.setattr(orders_service, "trade_settle", failing_second)
    results = orders_place_batch(product=product, requests=[
        OrderRequest(user=buyer, account=buyer_account, side="BUY", price="80.00", quantity=100),
        OrderRequest(user=buyer, account=buyer_account, side="BUY", price="80.00", quantity=150),
        OrderRequest(user=buyer, account=buyer_account, side="BUY", price="80.00", quantity=200),
    ])
    assert [r.error.code if r.error else None for r in results] == [None, "refused", None]
    assert calls == [100, 150, 200]
    listing.refresh_from_db()
    assert (listing.open_quantity, listing.filled_quantity, listing.status) == (200, 300, "partial")
    assert sorted(Trade.objects.values_list("quantity", flat=True)) == [100, 200]
    assert units(buyer_account, product) == (300, 300)
    assert cash(buyer_account)[1] == Decimal("0.00")
    assert cash_check() == [] and ledger_check() == []
    assert _book_matches_database(product)


def test_position_limit_counts_what_the_batch_bought_and_left_open(seller, seller_account, buyer, buyer_account,
                                                                   product):
    """Nothing of a batch is stored until it ends: its own purchases and open bids still count."""
    product.participant_rules.filter(participant_kind="entity").update(position_limit=1_000)
    results = orders_place_batch(product=product, requests=[
        OrderRequest(user=seller, account=seller_account, side="SELL", price="80.00", quantity=300),
        OrderRequest(user=buyer, account=buyer_account, side="BUY", price="80.00", quantity=500),  # 300 bought
        OrderRequest(user=buyer, account=buyer_account, side="BUY", price="79.00", quantity=501),  # 1,001 > 1,000
        OrderRequest(user=buyer, account=buyer_account, side="BUY", price="79.00", quantity=500),  # exactly 1,000
        OrderRequest(user=buyer, account=buyer_account, side="BUY", price="79.00", quantity=1),
    ])
    assert [r.error.code if r.error else None for r in results] == [None, None, "position_limit", None,
                                                                     "position_limit"]
    assert "holding 300 t plus open purchases 200 t plus 501 t" in str(results[2].error.message)
    assert "holding 300 t plus open purchases 700 t plus 1 t" in str(results[4].error.message)
    assert units(buyer_account, product) == (300, 300)
    assert cash_check() == [] and ledger_check() == []


def test_the_registry_dates_purchases_by_the_market_clock_for_t_plus_1(seller, seller_account, buyer,
                                                                       buyer_account, product, clock):
    """Deliveries carry the trade's time, so the registry's own T+1 check agrees with the exchange's."""
    from cets.common.errors import DomainError as RefusedError
    from registry import services as registry
    from trading import delivery
    from trading.rules import local

    orders_place_batch(product=product, requests=[
        OrderRequest(user=seller, account=seller_account, side="SELL", price="80.00", quantity=300),
        OrderRequest(user=buyer, account=buyer_account, side="BUY", price="80.00", quantity=300)])
    trade = Trade.objects.get()
    assert trade.registry_transaction.executed_at == clock.now
    day = local(clock.now).date()
    with pytest.raises(RefusedError) as refused:
        registry.units_reserve(actor=None, account=buyer_account.registry_account,
                               instrument=delivery.instrument_for(product), quantity=1, sellable_on=day)
    assert refused.value.code == "insufficient_units"
