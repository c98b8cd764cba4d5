"""Price-time-priority limit order book for one product (listed agreement trading).

Design, chosen for throughput in pure Python (see PERFORMANCE.md):

* Each side keeps a dict ``key -> _Level`` and a heap of the keys. The key is the price for asks and
  the negated price for bids, so "best" is the heap minimum on both sides and one matching loop serves
  both. A level holds a deque of orders in sequence (time) order and its open quantity.
* Deletion is lazy. A cancelled or fully taken order keeps its deque slot with ``quantity == 0`` and is
  dropped when matching reaches it (or when dead slots become most of the level); an emptied level
  keeps its heap entry until it reaches the top.
  A key is in the heap exactly when it is in the level dict, so a price re-used later is never pushed
  twice and the heap stays as small as the number of distinct prices seen.
* The book stores the caller's ``Order`` objects instead of copying them: no per-order allocation
  beyond the object the caller already built.

Determinism: the outcome depends only on the sequence of calls. Sequences come from one counter,
prices and keys are ints, and dict iteration follows insertion order.
"""

from collections import deque
from collections.abc import Hashable, Iterable
from heapq import heappop, heappush, nsmallest

from trading.engine.errors import (
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
    copy_order,
)
from trading.engine.rebuild import check_rebuild

BUY = Side.BUY
SELL = Side.SELL

TAKE_LEVELS = 5
"""A taker picks among the best five price levels of the side they take from (DOMAIN.md section 7)."""


class _Level:
    """Orders resting at one price, oldest first.

    ``quantity`` is the open quantity; ``dead`` counts slots of orders already cancelled or taken in
    full, which matching drops when it reaches them.
    """

    __slots__ = ("price", "orders", "quantity", "dead")

    def __init__(self, price: int) -> None:
        self.price = price
        self.orders: deque[Order] = deque()
        self.quantity = 0
        self.dead = 0

    def retire(self, order: Order, quantity: int) -> None:
        """Take ``quantity`` off ``order`` outside matching, leaving a dead slot if it is now empty.

        Dead slots are compacted once they are the majority, so a level that keeps one order resting
        under a stream of cancels or amends stays small (amortised O(1) per cancel).
        """
        order.quantity -= quantity
        self.quantity -= quantity
        if order.quantity:
            return
        self.dead += 1
        queue = self.orders
        if not self.quantity:
            queue.clear()
            self.dead = 0
        elif 2 * self.dead > len(queue):
            live = [resting for resting in queue if resting.quantity]
            queue.clear()
            queue.extend(live)
            self.dead = 0


class _Side:
    """One side of the book: levels by key plus a min-heap of those keys (see module docstring)."""

    __slots__ = ("sign", "levels", "heap")

    def __init__(self, sign: int) -> None:
        self.sign = sign
        self.levels: dict[int, _Level] = {}
        self.heap: list[int] = []

    def best_key(self) -> int | None:
        """Key of the best non-empty level, discarding emptied levels that reached the top."""
        heap = self.heap
        levels = self.levels
        while heap:
            key = heap[0]
            if levels[key].quantity:
                return key
            heappop(heap)
            del levels[key]
        return None

    def add(self, order: Order) -> None:
        """Rest an order behind everything already at its price."""
        key = self.sign * order.price_fen
        level = self.levels.get(key)
        if level is None:
            level = self.levels[key] = _Level(order.price_fen)
            heappush(self.heap, key)
        level.orders.append(order)
        level.quantity += order.quantity

    def top(self, count: int) -> tuple[PriceLevel, ...]:
        """The best ``count`` non-empty levels, aggregated; only dead slots are skipped in counts."""
        keys = nsmallest(count, (key for key, level in self.levels.items() if level.quantity))
        out = []
        for key in keys:
            level = self.levels[key]
            live = sum(1 for order in level.orders if order.quantity)
            out.append(PriceLevel(level.price, level.quantity, live))
        return tuple(out)


class OrderBook:
    """The matching book of one product. Not thread-safe: the caller serialises access per product.

    Self-trade prevention: while an incoming order crosses the book, resting orders of the same owner
    are skipped. They stay in the book with their priority and the incoming order goes on to match
    other owners' orders behind them, at the same or worse prices. The exchange refuses self-trades;
    skipping (rather than cancelling either order) keeps every order the owner placed valid and never
    produces a trade between one owner's orders. The one visible consequence: an owner's own bid and
    ask may overlap in ``depth()``, but no bid and ask of different owners ever cross.
    """

    __slots__ = ("_bids", "_asks", "_orders", "_sequence")

    def __init__(self) -> None:
        self._bids = _Side(-1)
        self._asks = _Side(1)
        self._orders: dict[Hashable, Order] = {}
        self._sequence = 0

    @classmethod
    def from_open_orders(cls, orders: Iterable[Order], last_sequence: int = 0) -> "OrderBook":
        """Rebuild the book after a restart from the open orders stored in the database.

        Each order must carry the ``sequence`` the book gave it and its open ``quantity``; time
        priority is restored from the sequences, so the rebuilt book matches exactly as the old one
        would have. Pass the highest sequence ever issued (filled orders included) as
        ``last_sequence`` so new orders never reuse a sequence already stored. The book takes
        ownership of the given objects. Raises ``InvalidOrder``, ``DuplicateOrder`` or ``CrossedBook``
        if the orders could not have been open together.
        """
        ordered = check_rebuild(orders, last_sequence)
        book = cls()
        for order in ordered:
            (book._bids if order.side is BUY else book._asks).add(order)
            book._orders[order.id] = order
        book._sequence = max([last_sequence, *(order.sequence for order in ordered)])
        return book

    @property
    def last_sequence(self) -> int:
        """The highest sequence issued so far (0 for a new empty book)."""
        return self._sequence

    def submit_limit(self, order: Order) -> list[Fill]:
        """Match ``order`` against the book, then rest whatever remains.

        Crossing follows price-time priority: best opposite price first, then lowest sequence.
        Each fill is at the resting order's price (a taker executes at the listed price). Same-owner
        resting orders are skipped (see the class docstring). On return ``order.sequence`` is set and
        ``order.quantity`` is the quantity left resting (0 if it was filled in full).
        """
        price = order.price_fen
        quantity = order.quantity
        if type(price) is not int or price <= 0:
            check_price(price)
        if type(quantity) is not int or quantity <= 0:
            check_quantity(quantity)
        side = order.side
        if side is BUY:
            own, other, limit = self._bids, self._asks, price
        elif side is SELL:
            own, other, limit = self._asks, self._bids, -price
        else:
            raise InvalidOrder(f"side must be Side.BUY or Side.SELL, got {side!r}")
        orders = self._orders
        if order.id in orders:
            raise DuplicateOrder(f"order {order.id!r} is already open")
        self._sequence = order.sequence = self._sequence + 1
        fills: list[Fill] = []
        heap = other.heap
        if heap and heap[0] <= limit:
            quantity = self._match(order, quantity, other, limit, fills)
        order.quantity = quantity
        if quantity:
            key = -limit
            levels = own.levels
            level = levels.get(key)
            if level is None:
                level = levels[key] = _Level(price)
                heappush(own.heap, key)
            level.orders.append(order)
            level.quantity += quantity
            orders[order.id] = order
        return fills

    def _match(self, taker: Order, remaining: int, other: _Side, limit: int, fills: list[Fill]) -> int:
        """Fill ``taker`` against levels of ``other`` whose key is <= ``limit``; return what remains.

        A level left holding only the taker's own orders is popped off the heap while matching goes
        on to worse levels, and pushed back at the end: the heap has no cheap "next best" otherwise.
        """
        heap = other.heap
        levels = other.levels
        orders = self._orders
        owner = taker.owner
        taker_id = taker.id
        taker_buys = taker.side is BUY
        skipped: list[int] = []
        while remaining and heap:
            key = heap[0]
            if key > limit:
                break
            level = levels[key]
            queue = level.orders
            price = level.price
            i = 0
            while remaining and i < len(queue):
                maker = queue[i]
                available = maker.quantity
                if not available:
                    del queue[i]
                    level.dead -= 1
                    continue
                if maker.owner == owner:
                    i += 1
                    continue
                if available <= remaining:
                    traded = available
                    maker.quantity = 0
                    del orders[maker.id]
                    if i:
                        del queue[i]
                    else:
                        queue.popleft()
                else:
                    traded = remaining
                    maker.quantity = available - remaining
                remaining -= traded
                level.quantity -= traded
                if taker_buys:
                    fills.append(Fill(maker.id, taker_id, price, traded, maker.owner, owner, taker_id, maker.id))
                else:
                    fills.append(Fill(maker.id, taker_id, price, traded, maker.owner, owner, maker.id, taker_id))
            if not level.quantity:
                heappop(heap)
                del levels[key]
            elif remaining:
                skipped.append(heappop(heap))
        for key in skipped:
            heappush(heap, key)
        return remaining

    def take(
        self,
        listing_id: Hashable,
        quantity: int,
        taker_owner: Hashable,
        taker_order_id: Hashable,
        *,
        within_levels: int = TAKE_LEVELS,
    ) -> Fill:
        """Execute ``quantity`` of a chosen listing at its listed price (listed agreement trading).

        The listing keeps its priority for whatever remains. Refused with ``UnknownOrder`` (not
        open), ``InvalidQuantity`` (not positive, or more than the listing's open quantity),
        ``SelfTrade`` (the taker owns the listing) or ``ListingNotTakeable`` (the listing's price is
        not among the best ``within_levels`` levels of its side).
        """
        listing = self._orders.get(listing_id)
        if listing is None:
            raise UnknownOrder(f"no open order {listing_id!r}")
        check_quantity(quantity)
        if quantity > listing.quantity:
            raise InvalidQuantity(f"listing {listing_id!r} has {listing.quantity} t open, asked for {quantity}")
        if listing.owner == taker_owner:
            raise SelfTrade(f"owner {taker_owner!r} cannot take their own listing {listing_id!r}")
        side = self._bids if listing.side is BUY else self._asks
        key = side.sign * listing.price_fen
        better = sum(1 for k, level in side.levels.items() if k < key and level.quantity)
        if better >= within_levels:
            raise ListingNotTakeable(f"listing {listing_id!r} is not within the best {within_levels} levels")
        side.levels[key].retire(listing, quantity)
        if not listing.quantity:
            del self._orders[listing_id]
        if listing.side is BUY:
            buy_id, sell_id = listing_id, taker_order_id
        else:
            buy_id, sell_id = taker_order_id, listing_id
        return Fill(
            listing_id,
            taker_order_id,
            listing.price_fen,
            quantity,
            listing.owner,
            taker_owner,
            buy_id,
            sell_id,
        )

    def cancel(self, order_id: Hashable) -> Order:
        """Remove an open order; return a copy of it as it stood (its open quantity) before the cancel."""
        order = self._orders.pop(order_id, None)
        if order is None:
            raise UnknownOrder(f"no open order {order_id!r}")
        snapshot = copy_order(order)
        side = self._bids if order.side is BUY else self._asks
        side.levels[side.sign * order.price_fen].retire(order, order.quantity)
        return snapshot

    def amend(self, order_id: Hashable, new_price: int, new_quantity: int) -> list[Fill]:
        """Replace an open order's price and open quantity; it loses its time priority.

        Amending is cancel-and-resubmit under the same id: the order gets a new sequence and, if the
        new price crosses the book, it matches like any incoming order. Returns those fills.
        """
        old = self._orders.get(order_id)
        if old is None:
            raise UnknownOrder(f"no open order {order_id!r}")
        check_price(new_price)
        check_quantity(new_quantity)
        self.cancel(order_id)
        return self.submit_limit(Order(order_id, old.side, new_price, new_quantity, old.owner))

    def get(self, order_id: Hashable) -> Order:
        """A copy of an open order (its current open quantity and sequence)."""
        order = self._orders.get(order_id)
        if order is None:
            raise UnknownOrder(f"no open order {order_id!r}")
        return copy_order(order)

    def best_bid(self) -> int | None:
        """Highest open bid price in fen, or None if there are no bids."""
        key = self._bids.best_key()
        return None if key is None else -key

    def best_ask(self) -> int | None:
        """Lowest open ask price in fen, or None if there are no asks."""
        return self._asks.best_key()

    def depth(self, levels: int = TAKE_LEVELS) -> Depth:
        """The best ``levels`` price levels per side with open quantity and order count."""
        if type(levels) is not int or levels <= 0:
            raise ValueError(f"levels must be a positive integer, got {levels!r}")
        return Depth(bids=self._bids.top(levels), asks=self._asks.top(levels))

    def open_orders(self) -> list[Order]:
        """Copies of all open orders in sequence order: the form ``from_open_orders`` takes back."""
        return [copy_order(order) for order in sorted(self._orders.values(), key=lambda o: o.sequence)]

    def __len__(self) -> int:
        """Number of open orders."""
        return len(self._orders)
