"""PostgreSQL concurrency: many clients racing for one listing and for the same cash.

Real threads, each with its own database connection, against the real row and advisory locks.
Afterwards: the listing was filled at most once, no cash account is overdrawn, the cash journal and
the registry ledger check clean, and a rebuilt book equals the open orders in the database.
"""

import importlib
import threading
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import connection

from cets.common import calendar
from cets.common.errors import DomainError
from registry import services as registry
from registry.ledger import ledger_check
from tests import factories as f
from trading import books
from trading.models import Order, Product, Trade
from trading.selectors import cash_check
from trading.services import cash_withdraw, order_place, order_take, participant_open
from trading.services.orders import OrderRequest, orders_place_batch

from .conftest import cash, give_cash, give_units

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
CLIENTS = 8


@pytest.fixture
def product(db):
    """Transactional tests flush the seeded rows: seed them again (and forget the cached calendar years)."""
    calendar._year_known.cache_clear()
    importlib.import_module("trading.migrations.0002_seed_products").seed(apps, None)
    return Product.objects.get(code="CEA23")


def _race(work) -> list:
    """Run ``work(i)`` in CLIENTS threads released at once; return each result or the exception raised."""
    barrier = threading.Barrier(CLIENTS)
    results: list = [None] * CLIENTS

    def run(i):
        barrier.wait()
        try:
            results[i] = work(i)
        except Exception as exc:  # kept and asserted on: a server error must fail the test, not vanish
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def _buyers(staff, n, amount):
    out = []
    for i in range(n):
        entity = f.EntityFactory()
        user = f.UserFactory(role="entity", entity=entity)
        account = participant_open(actor=None, entity=entity,
                                   registry_account=registry.account_for_entity(entity=entity))
        give_cash(staff, account, amount, f"RACE-{i}")
        out.append((user, account))
    return out


def test_racing_takers_fill_a_listing_at_most_once(seller, seller_account, product, staff):
    listing, _ = order_place(user=seller, account=seller_account, product=product, side="SELL", price="80.00",
                             quantity=100)
    takers = _buyers(staff, CLIENTS, "100000.00")
    results = _race(lambda i: order_take(user=takers[i][0], account=takers[i][1], listing=listing, quantity=100))
    wins = [r for r in results if isinstance(r, tuple)]
    assert len(wins) == 1 and all(isinstance(r, (tuple, DomainError)) for r in results), results
    assert Trade.objects.count() == 1
    assert Order.objects.get(pk=listing.pk).status == "filled"
    assert sum(cash(a)[0] for _u, a in takers) == Decimal("800000.00") - Decimal("8004.00")
    assert cash_check() == [] and ledger_check() == []


def test_racing_orders_never_overdraw_the_same_cash(seller, seller_account, buyer, buyer_account, product, staff):
    """One buyer, cash for exactly three 10,000 t orders at 80.00, eight racing orders on five products."""
    buyer_cash_needed = Decimal("800400.00") * 3
    cash_withdraw(actor=staff, account=buyer_account, amount=cash(buyer_account)[0] - buyer_cash_needed,
                  bank_reference="W-RACE")
    products = list(Product.objects.order_by("code"))
    results = _race(lambda i: order_place(user=buyer, account=buyer_account, product=products[i % len(products)],
                                          side="BUY", price="80.00", quantity=10_000))
    placed = [r for r in results if isinstance(r, tuple)]
    refused = [r for r in results if not isinstance(r, tuple)]
    assert len(placed) == 3, results
    assert all(isinstance(r, DomainError) and r.code in ("insufficient_funds", "busy") for r in refused), results
    assert cash(buyer_account) == (Decimal("0.00"), buyer_cash_needed)
    assert cash_check() == []


def test_racing_crossing_orders_keep_books_and_ledgers_consistent(seller, seller_account, buyer, buyer_account,
                                                                  product, staff):
    """Buyers and sellers race on one product; afterwards every invariant holds and a rebuilt book
    (a restarted process) equals the open orders in the database."""
    give_units(buyer_account, product, 50_000)
    people = [(seller, seller_account), (buyer, buyer_account)]

    def work(i):
        user, account = people[i % 2]
        made = []
        for k in range(5):
            side = "SELL" if (i + k) % 2 else "BUY"
            price = f"{79 + (i * 7 + k * 3) % 5}.{(i + k) % 10}0"
            made.append(order_place(user=user, account=account, product=product, side=side, price=price,
                                    quantity=100 + 10 * i + k))
        return made

    results = _race(work)
    assert all(isinstance(r, list) or (isinstance(r, DomainError) and r.code == "busy") for r in results), results
    books.books_forget()
    rebuilt = books.book_rebuild(product)
    open_orders = Order.objects.filter(product=product, status__in=Order.OPEN_STATUSES)
    assert sorted((o.id, o.quantity) for o in rebuilt.open_orders()) == sorted(
        (o.pk, o.open_quantity) for o in open_orders)
    assert cash_check() == [] and ledger_check() == []


def test_racing_batches_keep_books_cash_and_ledgers_consistent(seller, seller_account, buyer, buyer_account, product,
                                                               staff):
    """Batches of crossing orders race on one product (``orders_place_batch``): every invariant holds
    afterwards and a rebuilt book equals the open orders in the database."""
    give_units(buyer_account, product, 50_000)
    people = [(seller, seller_account), (buyer, buyer_account)]

    def work(i):
        user, account = people[i % 2]
        return orders_place_batch(product=product, requests=[
            OrderRequest(user=user, account=account, side="SELL" if (i + k) % 2 else "BUY",
                         price=f"{79 + (i * 7 + k * 3) % 5}.{(i + k) % 10}0", quantity=100 + 10 * i + k)
            for k in range(5)])

    results = _race(work)
    assert all(isinstance(r, list) or (isinstance(r, DomainError) and r.code == "busy") for r in results), results
    placed = [x for r in results if isinstance(r, list) for x in r]
    assert all(x.error is None for x in placed), [x.error for x in placed]
    assert Order.objects.filter(product=product).count() == len(placed)
    books.books_forget()
    rebuilt = books.book_rebuild(product)
    open_orders = Order.objects.filter(product=product, status__in=Order.OPEN_STATUSES)
    assert sorted((o.id, o.quantity) for o in rebuilt.open_orders()) == sorted(
        (o.pk, o.open_quantity) for o in open_orders)
    assert cash_check() == [] and ledger_check() == []


def test_cross_product_settlements_never_fail_with_a_server_error(seller, seller_account, buyer, buyer_account,
                                                                  product, staff):
    """A buys on one product from B while B buys on another from A: their cash rows are updated in
    opposite orders. A deadlock, if PostgreSQL finds one, must come back as Busy (retry), never as
    a server error, and every invariant must hold."""
    other = Product.objects.get(code="CEA22")
    give_units(buyer_account, other, 10_000)
    give_cash(staff, seller_account, "10000000.00", "RACE-X")
    for _ in range(CLIENTS):
        order_place(user=buyer, account=buyer_account, product=other, side="SELL", price="80.00", quantity=10)
        order_place(user=seller, account=seller_account, product=product, side="SELL", price="80.00", quantity=10)

    def work(i):
        if i % 2:
            return order_place(user=seller, account=seller_account, product=other, side="BUY", price="80.00",
                               quantity=10)
        return order_place(user=buyer, account=buyer_account, product=product, side="BUY", price="80.00",
                           quantity=10)

    results = _race(work)
    assert all(isinstance(r, tuple) or (isinstance(r, DomainError) and r.code == "busy") for r in results), results
    assert cash_check() == [] and ledger_check() == []
