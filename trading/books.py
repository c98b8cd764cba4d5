"""The in-memory order book of each product, kept equal to the open orders in the database.

A process keeps one ``OrderBook`` per product. Access is serialised per product by a transaction-
scoped advisory lock (``product_lock``); under it the caller reads ``Product.book_version`` and
gets the cached book only if

* it was built or last changed at that version (no other process changed the book since), and
* the transaction that last changed it committed (an ``on_commit`` hook marks it clean; a rollback
  leaves it dirty).

Otherwise the book is rebuilt from the open orders in the database: after a crash, a rollback or a
change by another process, the book is exactly what the database says. Nothing lives only in memory.
"""

import threading
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F, Max

from cets.common.locks import advisory_lock

from .engine import Order as EngineOrder
from .engine import OrderBook, Side
from .models import Order, Product
from .rules import to_fen

LOCK_NAMESPACE = 7_000_000_000  # advisory lock keys of trading products: namespace + product id


@dataclass
class _Entry:
    book: OrderBook
    version: int
    clean: bool
    generation: int = 0


_books: dict[int, _Entry] = {}
_guard = threading.Lock()


def product_lock(product: Product) -> int:
    """Take the product's lock for this transaction and return its current book version."""
    advisory_lock(LOCK_NAMESPACE + product.pk)
    return Product.objects.filter(pk=product.pk).values_list("book_version", flat=True).get()


def book_rebuild(product: Product) -> OrderBook:
    """A book built from the product's open orders, in their stored time priority.

    Orders without a sequence are the caller's own, not yet submitted to the engine (committed orders
    always carry the sequence the engine gave them).
    """
    rows = (Order.objects.filter(product=product, status__in=Order.OPEN_STATUSES, open_quantity__gt=0,
                                 sequence__gt=0)
            .order_by("sequence").values_list("pk", "side", "price", "open_quantity", "account_id", "sequence"))
    orders = [EngineOrder(pk, Side(side), to_fen(price), qty, owner, seq) for pk, side, price, qty, owner, seq in rows]
    last = Order.objects.filter(product=product).aggregate(m=Max("sequence"))["m"] or 0
    return OrderBook.from_open_orders(orders, last)


def book_for_update(product: Product, version: int) -> OrderBook:
    """The product's book, ready to change (caller holds ``product_lock`` and read ``version`` under it).

    The entry is marked dirty and the product's version bumped in this transaction; the commit hook
    marks it clean again at the new version.
    """
    with _guard:
        entry = _books.get(product.pk)
    if entry is None or not entry.clean or entry.version != version:
        entry = _Entry(book_rebuild(product), version, True)
        with _guard:
            _books[product.pk] = entry
    new_version = version + 1
    entry.clean = False
    entry.generation += 1
    generation = entry.generation
    Product.objects.filter(pk=product.pk).update(book_version=F("book_version") + 1)

    def committed():
        if entry.generation == generation:
            entry.version = new_version
            entry.clean = True

    transaction.on_commit(committed)
    return entry.book


def book_reload(product: Product) -> OrderBook:
    """Rebuild the product's book in place from the caller's transaction (caller holds ``book_for_update``).

    A batch calls it after a savepoint rolled back an order the engine had already seen: the database
    then no longer has what the book shows. The entry stays dirty until the transaction commits.
    """
    with _guard:
        entry = _books[product.pk]
    entry.book = book_rebuild(product)
    return entry.book


def books_forget() -> None:
    """Drop every cached book (what a process restart does); the next use rebuilds from the database."""
    with _guard:
        _books.clear()
