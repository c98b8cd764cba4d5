"""Validation of the open orders a book is rebuilt from after a restart.

A rebuild trusts the database, but a corrupt or hand-edited row must fail loudly at start-up rather
than produce a book that matches differently from the one that was lost.
"""

from bisect import bisect_right
from collections.abc import Iterable, Sequence

from trading.engine.errors import CrossedBook, DuplicateOrder, InvalidOrder
from trading.engine.orders import Order, Side, check_price, check_quantity, check_side


def check_rebuild(orders: Iterable[Order], last_sequence: int) -> list[Order]:
    """Refuse malformed orders, repeated ids or sequences, and a book that would cross.

    Returns the orders sorted by sequence, the order in which they must be rested.
    """
    if type(last_sequence) is not int or last_sequence < 0:
        raise InvalidOrder(f"last_sequence must be a non-negative integer, got {last_sequence!r}")
    orders = list(orders)
    for order in orders:
        check_side(order.side)
        check_price(order.price_fen)
        check_quantity(order.quantity)
        if type(order.sequence) is not int or order.sequence <= 0:
            raise InvalidOrder(f"order {order.id!r} has no sequence: {order.sequence!r}")
    if len({order.sequence for order in orders}) != len(orders):
        raise DuplicateOrder("a sequence appears on more than one order")
    if len({order.id for order in orders}) != len(orders):
        raise DuplicateOrder("an order id appears more than once")
    check_uncrossed(orders)
    return sorted(orders, key=lambda order: order.sequence)


def check_uncrossed(orders: Sequence[Order]) -> None:
    """Refuse a bid and an ask of different owners that cross: they would already have traded.

    One owner's own bid and ask may cross (self-trade prevention skips them). The asks crossing a
    bid are a prefix of the asks sorted by price; every such prefix must hold a single owner, the
    bid's own.
    """
    asks = sorted((order for order in orders if order.side is Side.SELL), key=lambda order: order.price_fen)
    if not asks:
        return
    ask_prices = [order.price_fen for order in asks]
    first_owner = asks[0].owner
    single_owner = next((i for i, order in enumerate(asks) if order.owner != first_owner), len(asks))
    for bid in orders:
        if bid.side is not Side.BUY:
            continue
        crossing = bisect_right(ask_prices, bid.price_fen)
        if crossing and (crossing > single_owner or bid.owner != first_owner):
            raise CrossedBook(f"bid {bid.id!r} at {bid.price_fen} crosses an ask of another owner")
