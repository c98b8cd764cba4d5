"""A naive order book with the same interface as ``OrderBook``, used only as a test oracle.

Everything is a linear scan or a fresh sort of one flat list of open orders, so each rule can be
checked by reading a few lines. Property-based tests run random operation streams against both books
and require identical fills, errors and book states. Validation helpers are shared with the real book;
matching, priority, levels and self-trade handling are written out independently here.
"""

from collections.abc import Hashable, Iterable
from itertools import groupby

from trading.engine.book import TAKE_LEVELS
from trading.engine.errors import (
    CrossedBook,
    DuplicateOrder,
    InvalidOrder,
    InvalidQuantity,
    ListingNotTakeable,
    SelfTrade,
    UnknownOrder,
)
from trading.engine.orders import (
    Depth,
    Fill,
    Order,
    PriceLevel,
    Side,
    check_price,
    check_quantity,
    check_side,
    copy_order,
)


def _priority(order: Order) -> tuple[int, int]:
    """Sort key, best first: highest bid or lowest ask, then earliest sequence."""
    price = -order.price_fen if order.side is Side.BUY else order.price_fen
    return price, order.sequence


class ReferenceBook:
    """Obviously-correct, slow twin of ``OrderBook``; see that class for the semantics."""

    def __init__(self) -> None:
        self._open: list[Order] = []
        self._sequence = 0

    @classmethod
    def from_open_orders(cls, orders: Iterable[Order], last_sequence: int = 0) -> "ReferenceBook":
        """Rebuild from stored open orders; refuses the same inputs ``OrderBook`` refuses."""
        orders = [copy_order(order) for order in orders]
        if type(last_sequence) is not int or last_sequence < 0:
            raise InvalidOrder("bad last_sequence")
        for order in orders:
            check_side(order.side)
            check_price(order.price_fen)
            check_quantity(order.quantity)
            if type(order.sequence) is not int or order.sequence <= 0:
                raise InvalidOrder("missing sequence")
        if len({order.sequence for order in orders}) != len(orders):
            raise DuplicateOrder("sequence used twice")
        if len({order.id for order in orders}) != len(orders):
            raise DuplicateOrder("id used twice")
        for bid in orders:
            for ask in orders:
                crossing = bid.side is Side.BUY and ask.side is Side.SELL and bid.price_fen >= ask.price_fen
                if crossing and bid.owner != ask.owner:
                    raise CrossedBook("crossed")
        book = cls()
        book._open = orders
        book._sequence = max([last_sequence, *(order.sequence for order in orders)])
        return book

    @property
    def last_sequence(self) -> int:
        return self._sequence

    def _find(self, order_id: Hashable) -> Order:
        for order in self._open:
            if order.id == order_id:
                return order
        raise UnknownOrder(order_id)

    def submit_limit(self, order: Order) -> list[Fill]:
        check_price(order.price_fen)
        check_quantity(order.quantity)
        if order.side is not Side.BUY and order.side is not Side.SELL:
            raise InvalidOrder("bad side")
        if any(o.id == order.id for o in self._open):
            raise DuplicateOrder(order.id)
        self._sequence += 1
        order.sequence = self._sequence
        buying = order.side is Side.BUY
        makers = [
            o
            for o in self._open
            if o.side is not order.side
            and o.owner != order.owner
            and (o.price_fen <= order.price_fen if buying else o.price_fen >= order.price_fen)
        ]
        fills = []
        for maker in sorted(makers, key=_priority):
            if order.quantity == 0:
                break
            traded = min(maker.quantity, order.quantity)
            maker.quantity -= traded
            order.quantity -= traded
            buy_id, sell_id = (order.id, maker.id) if buying else (maker.id, order.id)
            fills.append(Fill(maker.id, order.id, maker.price_fen, traded, maker.owner, order.owner, buy_id, sell_id))
        self._open = [o for o in self._open if o.quantity > 0]
        if order.quantity:
            self._open.append(order)
        return fills

    def take(
        self,
        listing_id: Hashable,
        quantity: int,
        taker_owner: Hashable,
        taker_order_id: Hashable,
        *,
        within_levels: int = TAKE_LEVELS,
    ) -> Fill:
        listing = self._find(listing_id)
        check_quantity(quantity)
        if quantity > listing.quantity:
            raise InvalidQuantity("more than open")
        if listing.owner == taker_owner:
            raise SelfTrade(listing_id)
        same_side_prices = {o.price_fen for o in self._open if o.side is listing.side}
        if listing.side is Side.BUY:
            better = [p for p in same_side_prices if p > listing.price_fen]
        else:
            better = [p for p in same_side_prices if p < listing.price_fen]
        if len(better) >= within_levels:
            raise ListingNotTakeable(listing_id)
        listing.quantity -= quantity
        self._open = [o for o in self._open if o.quantity > 0]
        buy_id, sell_id = (listing_id, taker_order_id) if listing.side is Side.BUY else (taker_order_id, listing_id)
        return Fill(
            listing_id, taker_order_id, listing.price_fen, quantity, listing.owner, taker_owner, buy_id, sell_id
        )

    def cancel(self, order_id: Hashable) -> Order:
        order = self._find(order_id)
        self._open.remove(order)
        return copy_order(order)

    def amend(self, order_id: Hashable, new_price: int, new_quantity: int) -> list[Fill]:
        old = self._find(order_id)
        check_price(new_price)
        check_quantity(new_quantity)
        self._open.remove(old)
        return self.submit_limit(Order(order_id, old.side, new_price, new_quantity, old.owner))

    def get(self, order_id: Hashable) -> Order:
        return copy_order(self._find(order_id))

    def best_bid(self) -> int | None:
        return max((o.price_fen for o in self._open if o.side is Side.BUY), default=None)

    def best_ask(self) -> int | None:
        return min((o.price_fen for o in self._open if o.side is Side.SELL), default=None)

    def depth(self, levels: int = TAKE_LEVELS) -> Depth:
        if type(levels) is not int or levels <= 0:
            raise ValueError(levels)
        return Depth(bids=self._levels(Side.BUY, levels), asks=self._levels(Side.SELL, levels))

    def _levels(self, side: Side, count: int) -> tuple[PriceLevel, ...]:
        orders = sorted((o for o in self._open if o.side is side), key=_priority)
        grouped = [list(group) for _, group in groupby(orders, key=lambda o: o.price_fen)]
        return tuple(
            PriceLevel(group[0].price_fen, sum(o.quantity for o in group), len(group)) for group in grouped[:count]
        )

    def open_orders(self) -> list[Order]:
        return [copy_order(o) for o in sorted(self._open, key=lambda o: o.sequence)]

    def __len__(self) -> int:
        return len(self._open)
