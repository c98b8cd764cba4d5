"""Pure-Python matching core of the exchange: one price-time-priority book per product.

No Django here: the web layer converts Decimal yuan to integer fen, persists orders and fills, and
serialises access to each product's book.
"""

from trading.engine.book import TAKE_LEVELS, OrderBook
from trading.engine.errors import (
    CrossedBook,
    DuplicateOrder,
    EngineError,
    InvalidOrder,
    InvalidPrice,
    InvalidQuantity,
    ListingNotTakeable,
    SelfTrade,
    UnknownOrder,
)
from trading.engine.orders import Depth, Fill, Order, PriceLevel, Side

__all__ = [
    "TAKE_LEVELS",
    "CrossedBook",
    "Depth",
    "DuplicateOrder",
    "EngineError",
    "Fill",
    "InvalidOrder",
    "InvalidPrice",
    "InvalidQuantity",
    "ListingNotTakeable",
    "Order",
    "OrderBook",
    "PriceLevel",
    "SelfTrade",
    "Side",
    "UnknownOrder",
]
