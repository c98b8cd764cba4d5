"""Tests of the matching engine: exact examples, then random streams checked against the naive book."""

from decimal import Decimal

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from trading.engine import (
    CrossedBook,
    Depth,
    DuplicateOrder,
    EngineError,
    Fill,
    InvalidOrder,
    InvalidPrice,
    InvalidQuantity,
    ListingNotTakeable,
    Order,
    OrderBook,
    PriceLevel,
    SelfTrade,
    Side,
    UnknownOrder,
)
from trading.engine.reference import ReferenceBook

BUY, SELL = Side.BUY, Side.SELL


def book_with(*orders: Order) -> OrderBook:
    book = OrderBook()
    for order in orders:
        assert book.submit_limit(order) == []
    return book


# --- resting, depth, best prices ------------------------------------------------------------------


def test_empty_book():
    book = OrderBook()
    assert book.best_bid() is None
    assert book.best_ask() is None
    assert book.depth() == Depth(bids=(), asks=())
    assert book.open_orders() == []
    assert len(book) == 0


def test_orders_rest_and_aggregate_into_levels():
    book = book_with(
        Order(1, BUY, 7_990, 100, "a"),
        Order(2, BUY, 7_995, 50, "b"),
        Order(3, BUY, 7_990, 30, "c"),
        Order(4, SELL, 8_010, 70, "d"),
        Order(5, SELL, 8_005, 20, "e"),
    )
    assert book.best_bid() == 7_995
    assert book.best_ask() == 8_005
    assert book.depth() == Depth(
        bids=(PriceLevel(7_995, 50, 1), PriceLevel(7_990, 130, 2)),
        asks=(PriceLevel(8_005, 20, 1), PriceLevel(8_010, 70, 1)),
    )
    assert book.depth(1) == Depth(bids=(PriceLevel(7_995, 50, 1),), asks=(PriceLevel(8_005, 20, 1),))
    assert [o.id for o in book.open_orders()] == [1, 2, 3, 4, 5]
    assert [o.sequence for o in book.open_orders()] == [1, 2, 3, 4, 5]


def test_depth_refuses_non_positive_levels():
    with pytest.raises(ValueError):
        OrderBook().depth(0)


# --- crossing ---------------------------------------------------------------------------------------


def test_buy_sweeps_levels_at_listed_prices_and_rests_the_remainder():
    book = book_with(
        Order("s1", SELL, 8_000, 30, "m1"),
        Order("s2", SELL, 8_001, 40, "m2"),
        Order("s3", SELL, 8_000, 10, "m3"),
        Order("s4", SELL, 8_003, 99, "m4"),
    )
    taker = Order("b1", BUY, 8_002, 100, "t")
    fills = book.submit_limit(taker)
    assert fills == [
        Fill("s1", "b1", 8_000, 30, "m1", "t", "b1", "s1"),
        Fill("s3", "b1", 8_000, 10, "m3", "t", "b1", "s3"),
        Fill("s2", "b1", 8_001, 40, "m2", "t", "b1", "s2"),
    ]
    assert taker.quantity == 20
    assert taker.sequence == 5
    assert book.best_bid() == 8_002
    assert book.best_ask() == 8_003
    assert book.depth() == Depth(bids=(PriceLevel(8_002, 20, 1),), asks=(PriceLevel(8_003, 99, 1),))


def test_sell_fills_at_bid_prices_and_partial_maker_keeps_priority():
    book = book_with(Order(1, BUY, 8_000, 50, "m1"), Order(2, BUY, 8_000, 50, "m2"))
    assert book.submit_limit(Order(3, SELL, 7_900, 20, "t")) == [Fill(1, 3, 8_000, 20, "m1", "t", 1, 3)]
    assert book.get(1).quantity == 30
    assert book.submit_limit(Order(4, SELL, 8_000, 40, "t")) == [
        Fill(1, 4, 8_000, 30, "m1", "t", 1, 4),
        Fill(2, 4, 8_000, 10, "m2", "t", 2, 4),
    ]
    assert book.depth() == Depth(bids=(PriceLevel(8_000, 40, 1),), asks=())


def test_fully_filled_taker_does_not_rest_but_uses_a_sequence():
    book = book_with(Order(1, SELL, 8_000, 10, "m"))
    taker = Order(2, BUY, 8_000, 10, "t")
    assert len(book.submit_limit(taker)) == 1
    assert taker.quantity == 0
    assert taker.sequence == 2
    assert len(book) == 0
    assert book.last_sequence == 2
    with pytest.raises(UnknownOrder):
        book.get(2)


def test_non_crossing_price_does_not_match():
    book = book_with(Order(1, SELL, 8_001, 10, "m"))
    assert book.submit_limit(Order(2, BUY, 8_000, 10, "t")) == []
    assert book.depth() == Depth(bids=(PriceLevel(8_000, 10, 1),), asks=(PriceLevel(8_001, 10, 1),))


# --- self-trade prevention --------------------------------------------------------------------------


def test_own_resting_orders_are_skipped_and_kept():
    book = book_with(
        Order(1, SELL, 8_000, 10, "me"),
        Order(2, SELL, 8_000, 10, "other"),
        Order(3, SELL, 8_001, 10, "me"),
        Order(4, SELL, 8_002, 10, "other2"),
    )
    fills = book.submit_limit(Order(5, BUY, 8_002, 25, "me"))
    assert fills == [
        Fill(2, 5, 8_000, 10, "other", "me", 5, 2),
        Fill(4, 5, 8_002, 10, "other2", "me", 5, 4),
    ]
    assert book.get(1).quantity == 10
    assert book.get(3).quantity == 10
    assert book.get(5).quantity == 5
    # The owner's own bid overlaps their asks; another owner still trades with both in priority order.
    assert book.best_bid() == 8_002
    assert book.best_ask() == 8_000
    assert book.submit_limit(Order(6, SELL, 8_002, 5, "x")) == [Fill(5, 6, 8_002, 5, "me", "x", 5, 6)]
    assert book.submit_limit(Order(7, BUY, 8_001, 15, "y")) == [
        Fill(1, 7, 8_000, 10, "me", "y", 7, 1),
        Fill(3, 7, 8_001, 5, "me", "y", 7, 3),
    ]


def test_levels_of_only_own_orders_are_restored_after_matching_past_them():
    book = book_with(
        Order(1, SELL, 8_000, 10, "me"),
        Order(2, SELL, 8_001, 10, "me"),
        Order(3, SELL, 8_002, 10, "other"),
    )
    assert book.submit_limit(Order(4, BUY, 8_002, 5, "me")) == [Fill(3, 4, 8_002, 5, "other", "me", 4, 3)]
    assert book.best_ask() == 8_000
    assert book.depth().asks == (PriceLevel(8_000, 10, 1), PriceLevel(8_001, 10, 1), PriceLevel(8_002, 5, 1))
    assert book.submit_limit(Order(5, BUY, 8_001, 20, "x")) == [
        Fill(1, 5, 8_000, 10, "me", "x", 5, 1),
        Fill(2, 5, 8_001, 10, "me", "x", 5, 2),
    ]


# --- take -------------------------------------------------------------------------------------------


def test_take_part_then_rest_of_a_listing_at_its_price():
    book = book_with(Order(1, SELL, 8_000, 10, "m"), Order(2, SELL, 8_005, 30, "m"))
    assert book.take(2, 12, "t", "T1") == Fill(2, "T1", 8_005, 12, "m", "t", "T1", 2)
    assert book.get(2).quantity == 18
    assert book.depth().asks == (PriceLevel(8_000, 10, 1), PriceLevel(8_005, 18, 1))
    assert book.take(2, 18, "t", "T2") == Fill(2, "T2", 8_005, 18, "m", "t", "T2", 2)
    assert book.depth().asks == (PriceLevel(8_000, 10, 1),)
    with pytest.raises(UnknownOrder):
        book.take(2, 1, "t", "T3")


def test_take_a_bid_sells_to_it():
    book = book_with(Order(1, BUY, 7_990, 10, "m"))
    assert book.take(1, 10, "t", "T") == Fill(1, "T", 7_990, 10, "m", "t", 1, "T")
    assert book.best_bid() is None


def test_take_refusals_change_nothing():
    book = book_with(Order(1, SELL, 8_000, 10, "m"))
    with pytest.raises(SelfTrade):
        book.take(1, 5, "m", "T")
    with pytest.raises(InvalidQuantity):
        book.take(1, 11, "t", "T")
    with pytest.raises(InvalidQuantity):
        book.take(1, 0, "t", "T")
    with pytest.raises(UnknownOrder):
        book.take(99, 1, "t", "T")
    assert book.open_orders() == [Order(1, SELL, 8_000, 10, "m", 1)]


def test_take_is_limited_to_the_best_five_levels():
    book = book_with(*(Order(i, SELL, 8_000 + i, 10, "m") for i in range(1, 7)))
    with pytest.raises(ListingNotTakeable):
        book.take(6, 1, "t", "T")
    assert book.take(5, 1, "t", "T").price_fen == 8_005
    assert book.take(6, 1, "t", "T", within_levels=6).price_fen == 8_006
    book.cancel(1)
    assert book.take(6, 1, "t", "T").price_fen == 8_006


# --- cancel and amend -------------------------------------------------------------------------------


def test_cancel_returns_open_quantity_and_is_skipped_by_matching():
    book = book_with(Order(1, SELL, 8_000, 10, "a"), Order(2, SELL, 8_000, 10, "b"))
    book.take(1, 4, "t", "T")
    assert book.cancel(1) == Order(1, SELL, 8_000, 6, "a", 1)
    assert book.depth().asks == (PriceLevel(8_000, 10, 1),)
    assert book.submit_limit(Order(3, BUY, 8_000, 10, "c")) == [Fill(2, 3, 8_000, 10, "b", "c", 3, 2)]
    with pytest.raises(UnknownOrder):
        book.cancel(1)
    assert book.best_ask() is None


def test_cancelling_the_whole_best_level_exposes_the_next():
    book = book_with(Order(1, BUY, 8_000, 10, "a"), Order(2, BUY, 7_999, 10, "a"))
    book.cancel(1)
    assert book.best_bid() == 7_999
    assert book.submit_limit(Order(3, SELL, 7_999, 3, "b")) == [Fill(2, 3, 7_999, 3, "a", "b", 2, 3)]


def test_cancelled_slots_do_not_pile_up_behind_a_resting_order():
    book = book_with(Order("keep", SELL, 8_000, 10, "a"), Order("churn", SELL, 8_000, 10, "b"))
    for _ in range(1_000):
        book.amend("churn", 8_000, 10)
    assert len(book._asks.levels[8_000].orders) <= 4
    assert book.depth().asks == (PriceLevel(8_000, 20, 2),)
    assert [f.maker_order_id for f in book.submit_limit(Order(1, BUY, 8_000, 20, "c"))] == ["keep", "churn"]


def test_amend_loses_priority():
    book = book_with(Order(1, SELL, 8_000, 10, "a"), Order(2, SELL, 8_000, 10, "b"))
    assert book.amend(1, 8_000, 10) == []
    assert book.get(1).sequence == 3
    assert book.submit_limit(Order(3, BUY, 8_000, 10, "c")) == [Fill(2, 3, 8_000, 10, "b", "c", 3, 2)]


def test_amend_to_a_crossing_price_trades():
    book = book_with(Order(1, BUY, 7_990, 10, "a"), Order(2, SELL, 8_000, 4, "b"))
    assert book.amend(1, 8_001, 6) == [Fill(2, 1, 8_000, 4, "b", "a", 1, 2)]
    assert book.get(1) == Order(1, BUY, 8_001, 2, "a", 3)


def test_invalid_amend_leaves_the_order_in_place():
    book = book_with(Order(1, BUY, 7_990, 10, "a"))
    with pytest.raises(InvalidPrice):
        book.amend(1, 0, 5)
    with pytest.raises(InvalidQuantity):
        book.amend(1, 7_990, -1)
    with pytest.raises(UnknownOrder):
        book.amend(2, 7_990, 1)
    assert book.open_orders() == [Order(1, BUY, 7_990, 10, "a", 1)]


# --- validation -------------------------------------------------------------------------------------


@pytest.mark.parametrize("price", [0, -1, 80.0, Decimal("80.00"), True, "8000", None])
def test_bad_prices_are_refused(price):
    with pytest.raises(InvalidPrice):
        OrderBook().submit_limit(Order(1, BUY, price, 1, "a"))


@pytest.mark.parametrize("quantity", [0, -5, 1.0, True, None])
def test_bad_quantities_are_refused(quantity):
    with pytest.raises(InvalidQuantity):
        OrderBook().submit_limit(Order(1, BUY, 8_000, quantity, "a"))


def test_bad_side_and_duplicate_id_are_refused():
    book = book_with(Order(1, BUY, 8_000, 1, "a"))
    with pytest.raises(InvalidOrder):
        book.submit_limit(Order(2, "BUY", 8_000, 1, "a"))
    with pytest.raises(DuplicateOrder):
        book.submit_limit(Order(1, SELL, 9_000, 1, "b"))
    assert book.last_sequence == 1
    assert issubclass(InvalidPrice, EngineError) and issubclass(SelfTrade, EngineError)


# --- rebuild after restart --------------------------------------------------------------------------


def test_rebuild_restores_priority_and_continues_sequences():
    book = book_with(
        Order(1, SELL, 8_000, 10, "a"),
        Order(2, SELL, 8_000, 10, "b"),
        Order(3, BUY, 7_990, 10, "c"),
    )
    book.amend(1, 8_000, 10)
    stored = list(reversed(book.open_orders()))
    rebuilt = OrderBook.from_open_orders(stored, last_sequence=9)
    assert rebuilt.open_orders() == book.open_orders()
    assert rebuilt.depth() == book.depth()
    assert rebuilt.last_sequence == 9
    assert rebuilt.submit_limit(Order(5, BUY, 8_000, 15, "d")) == [
        Fill(2, 5, 8_000, 10, "b", "d", 5, 2),
        Fill(1, 5, 8_000, 5, "a", "d", 5, 1),
    ]
    assert rebuilt.get(1).sequence == 4
    assert rebuilt.last_sequence == 10


def test_rebuild_allows_an_owner_crossing_only_themselves():
    orders = [Order(1, SELL, 8_000, 10, "a", 1), Order(2, BUY, 8_001, 10, "a", 2)]
    assert OrderBook.from_open_orders(orders).best_bid() == 8_001


@pytest.mark.parametrize(
    ("orders", "error"),
    [
        ([Order(1, SELL, 8_000, 10, "a", 1), Order(2, BUY, 8_000, 10, "b", 2)], CrossedBook),
        (
            [Order(1, SELL, 8_000, 10, "a", 1), Order(2, SELL, 8_001, 10, "b", 2), Order(3, BUY, 8_001, 1, "a", 3)],
            CrossedBook,
        ),
        ([Order(1, SELL, 8_000, 10, "a", 1), Order(1, SELL, 8_001, 10, "a", 2)], DuplicateOrder),
        ([Order(1, SELL, 8_000, 10, "a", 1), Order(2, SELL, 8_001, 10, "a", 1)], DuplicateOrder),
        ([Order(1, SELL, 8_000, 10, "a")], InvalidOrder),
        ([Order(1, SELL, 8_000, 0, "a", 1)], InvalidQuantity),
    ],
)
def test_rebuild_refuses_impossible_books(orders, error):
    with pytest.raises(error):
        OrderBook.from_open_orders(orders)
    with pytest.raises(error):
        ReferenceBook.from_open_orders(orders)


# --- property-based: the engine against the naive reference ----------------------------------------

PRICES = st.integers(7_995, 8_005)
QUANTITIES = st.integers(1, 30)
OWNERS = st.sampled_from(["a", "b", "c"])
SIDES = st.sampled_from([BUY, SELL])


def same_outcome(engine_call, reference_call):
    """Run one operation on both books: equal results, or the same exception class from both."""
    try:
        expected = reference_call()
    except EngineError as error:
        with pytest.raises(type(error)):
            engine_call()
        return
    assert engine_call() == expected


class EngineMatchesReference(RuleBasedStateMachine):
    """Random submit/cancel/amend/take/restart streams leave both books identical at every step."""

    def __init__(self) -> None:
        super().__init__()
        self.engine = OrderBook()
        self.reference = ReferenceBook()
        self.next_id = 1

    def pick(self, index: int) -> int:
        """An id issued so far (open, filled or cancelled) or, for index 0 mod next_id, a never-used one."""
        return index % self.next_id or self.next_id + 100

    @rule(side=SIDES, price=PRICES, quantity=QUANTITIES, owner=OWNERS)
    def submit(self, side, price, quantity, owner):
        order_id = self.next_id
        self.next_id += 1
        engine_order = Order(order_id, side, price, quantity, owner)
        reference_order = Order(order_id, side, price, quantity, owner)
        same_outcome(
            lambda: self.engine.submit_limit(engine_order), lambda: self.reference.submit_limit(reference_order)
        )
        assert engine_order == reference_order

    @rule(index=st.integers(0, 10_000))
    def cancel(self, index):
        order_id = self.pick(index)
        same_outcome(lambda: self.engine.cancel(order_id), lambda: self.reference.cancel(order_id))

    @rule(index=st.integers(0, 10_000), price=PRICES | st.just(0), quantity=QUANTITIES | st.just(0))
    def amend(self, index, price, quantity):
        order_id = self.pick(index)
        same_outcome(
            lambda: self.engine.amend(order_id, price, quantity),
            lambda: self.reference.amend(order_id, price, quantity),
        )

    @rule(index=st.integers(0, 10_000), quantity=st.integers(0, 40), owner=OWNERS, levels=st.integers(1, 6))
    def take(self, index, quantity, owner, levels):
        listing_id = self.pick(index)
        taker_id = f"T{self.next_id}"
        same_outcome(
            lambda: self.engine.take(listing_id, quantity, owner, taker_id, within_levels=levels),
            lambda: self.reference.take(listing_id, quantity, owner, taker_id, within_levels=levels),
        )

    @precondition(lambda self: self.next_id > 1)
    @rule()
    def restart(self):
        self.engine = OrderBook.from_open_orders(self.engine.open_orders(), self.engine.last_sequence)

    @invariant()
    def books_are_identical(self):
        assert self.engine.open_orders() == self.reference.open_orders()
        assert self.engine.depth(20) == self.reference.depth(20)
        assert self.engine.best_bid() == self.reference.best_bid()
        assert self.engine.best_ask() == self.reference.best_ask()
        assert self.engine.last_sequence == self.reference.last_sequence
        assert len(self.engine) == len(self.reference)


EngineMatchesReference.TestCase.settings = settings(
    max_examples=300, stateful_step_count=60, deadline=None, database=None
)
TestEngineMatchesReference = EngineMatchesReference.TestCase
