"""Value types exchanged with the engine: sides, orders, fills and depth snapshots.

Prices are integer fen (CNY 0.01, the market's tick) and quantities integer tonnes, so the engine
never rounds; the Django layer converts Decimal yuan to fen at its boundary.
"""

from collections.abc import Hashable
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

from trading.engine.errors import InvalidOrder, InvalidPrice, InvalidQuantity


class Side(StrEnum):
    """Order side; string values so they map directly onto a database column."""

    BUY = "BUY"
    SELL = "SELL"


@dataclass(slots=True)
class Order:
    """A limit order (a listing, in listed agreement trading).

    The book takes ownership of a submitted ``Order``: it writes ``sequence`` (its time priority) and
    keeps ``quantity`` equal to the open quantity, which reaches 0 once the order is filled or
    cancelled. After ``submit_limit`` the caller can therefore persist ``sequence`` and ``quantity``
    straight from the object it passed in. Read methods of the book return copies, never the
    objects it holds.
    """

    id: Hashable
    side: Side
    price_fen: int
    quantity: int
    owner: Hashable
    sequence: int = 0


@dataclass(slots=True)
class Fill:
    """One execution between a resting (maker) order and an incoming (taker) order or take."""

    maker_order_id: Hashable
    taker_order_id: Hashable
    price_fen: int
    quantity: int
    maker_owner: Hashable
    taker_owner: Hashable
    buy_order_id: Hashable
    sell_order_id: Hashable


class PriceLevel(NamedTuple):
    """Aggregated open interest at one price: total quantity and number of orders."""

    price_fen: int
    quantity: int
    orders: int


@dataclass(frozen=True, slots=True)
class Depth:
    """The best price levels of each side, best first (highest bid, lowest ask)."""

    bids: tuple[PriceLevel, ...]
    asks: tuple[PriceLevel, ...]


def check_price(price: object) -> None:
    """Refuse anything but a positive int (bool and Decimal included: the engine works in fen)."""
    if type(price) is not int or price <= 0:
        raise InvalidPrice(f"price must be a positive integer number of fen, got {price!r}")


def check_quantity(quantity: object) -> None:
    """Refuse anything but a positive int number of tonnes."""
    if type(quantity) is not int or quantity <= 0:
        raise InvalidQuantity(f"quantity must be a positive integer number of tonnes, got {quantity!r}")


def check_side(side: object) -> None:
    """Refuse anything but a ``Side`` member: the book compares sides by identity on its hot path."""
    if side is not Side.BUY and side is not Side.SELL:
        raise InvalidOrder(f"side must be Side.BUY or Side.SELL, got {side!r}")


def copy_order(order: Order) -> Order:
    """A detached snapshot, so callers can never mutate an order the book still holds."""
    return Order(order.id, order.side, order.price_fen, order.quantity, order.owner, order.sequence)
