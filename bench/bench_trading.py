"""Trading benchmark on PostgreSQL (issue 7, point 11, second bullet), all figures from one run.

1. Service layer: 4 client processes each place a stream of random limit orders (prices 79.50-80.50,
   1-1,000 t, buy or sell) on one product through ``trading.services.orders_place_batch`` in lists of
   ``--batch`` (the service of ``POST /api/v1/trading/orders/batch/``): rules, cash freeze or unit
   reservation, matching, delivery-versus-payment settlement of every fill (registry + cash journal +
   fees), one audit entry per order, one transaction per list, each order in its own savepoint. For
   comparison, ``--single-orders`` per client then go through ``order_place``, one transaction each.
2. Naive baseline: the same streams, 4 processes, each order stored with the ORM in its own
   transaction: lock the product row, select crossing orders, insert the order and its trades,
   update the makers (no cash, no units, no audit).
3. ``pgbench`` TPC-B with 4 clients on the same machine in the same run (scratch database
   ``pgbench_trading``): the database's ceiling for one transaction per order.

The market clock is fixed inside a session (2024-04-24 10:00 Beijing time) by replacing
``trading.rules.market_now`` in the bench processes. Scratch database (default
postgres://postgres@127.0.0.1:5432/cets_bench_trading), created and migrated on first use, emptied
at each run.

Usage: python bench/bench_trading.py [--orders 300] [--batch 50] [--single-orders 50] [--seconds 10]
       python bench/bench_trading.py --count --orders 50 --batch 50   (SQL statements per order only)
"""

import argparse
import datetime as dt
import multiprocessing as mp
import os
import random
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/cets_bench_trading"
if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
    os.environ["DATABASE_URL"] = DEFAULT_DB
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cets.settings")

CLIENTS = 4
SESSION = dt.datetime(2024, 4, 24, 10, 0)


def ensure_database(url: str) -> None:
    import psycopg2

    name = url.rsplit("/", 1)[1]
    admin = psycopg2.connect(url.rsplit("/", 1)[0] + "/postgres")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if not cur.fetchone():
            cur.execute(f'CREATE DATABASE "{name}"')
    admin.close()


def setup_django() -> None:
    import django

    ensure_database(os.environ["DATABASE_URL"])
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, skip_checks=True)


def freeze_clock() -> None:
    from django.utils import timezone

    from trading import rules

    moment = timezone.make_aware(SESSION)
    rules.market_now = lambda: moment


def reset() -> None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("TRUNCATE trading_alert, trading_auctionbid, trading_auction, trading_bulkproposal, "
                    "trading_cashposting, trading_cashjournal, trading_trade, trading_order, trading_dailybar, "
                    "trading_cashaccount, trading_tradingaccount, trading_participant, "
                    "registry_transactionleg, registry_block, registry_holding, registry_transaction, "
                    "registry_reservation, registry_freeze, registry_trustedaccount, "
                    "registry_accountrepresentative, registry_account, registry_instrument, "
                    "common_auditentry, common_auditchainhead, common_idempotencyrecord RESTART IDENTITY CASCADE")
        cur.execute("DELETE FROM authtoken_token WHERE user_id IN "
                    "(SELECT id FROM entities_user WHERE username LIKE 'bench-%%')")
        cur.execute("DELETE FROM common_job WHERE kind = 'bench'")
        cur.execute("DELETE FROM entities_user WHERE username LIKE 'bench-%%'")
        cur.execute("DELETE FROM entities_keyentity WHERE name LIKE 'BENCH %%'")
        cur.execute("UPDATE trading_product SET book_version = 0, previous_close = 79.42")


def make_participants() -> list[tuple[int, int]]:
    """4 entities, each with 5,000,000 t of CEA23 and 500,000,000 yuan: (user id, trading account id)."""
    from decimal import Decimal

    from entities.credit_code import credit_code_make
    from entities.models import City, KeyEntity, Organisation, Province, User
    from registry import services as registry
    from registry.models import Account
    from trading.models import Product
    from trading.services import cash_deposit, participant_open

    mee = User.objects.create(username="bench-mee", role="national_regulator")
    mee2 = User.objects.create(username="bench-mee2", role="national_regulator")
    exchange, _ = Organisation.objects.get_or_create(credit_code=credit_code_make("12310000000000099"), defaults={
        "name": "bench exchange", "kind": "exchange", "province": Province.objects.get(code="31")})
    staff = User.objects.create(username="bench-staff", role="exchange_staff", organisation=exchange)
    product = Product.objects.get(code="CEA23")
    instrument = registry.instrument_get_or_create_cea(vintage=product.vintage)
    tx = registry.issuance_propose(actor=mee, instrument=instrument, quantity=CLIENTS * 5_000_000)
    registry.transaction_approve(actor=mee2, transaction=tx)
    source = registry.national_account(kind=Account.Kind.NATIONAL_ALLOCATION)
    city = City.objects.get(code="420100")
    out = []
    for i in range(CLIENTS):
        entity = KeyEntity.objects.create(name=f"BENCH {i}", province_id="42", city=city, inclusion_year=2019,
                                          credit_code=credit_code_make(f"91420100{900000000 + i:09d}"))
        user = User.objects.create(username=f"bench-{i}", role="entity", entity=entity)
        account = participant_open(actor=None, entity=entity, registry_account=registry.account_for_entity(
            entity=entity))
        registry.transfer_create(actor=None, from_account=source, to_account=account.registry_account,
                                 instrument=instrument, quantity=5_000_000)
        cash_deposit(actor=staff, account=account, amount=Decimal("500000000.00"), bank_reference=f"BENCH-{i}")
        out.append((user.pk, account.pk))
    return out


def stream(client: int, n: int) -> list[tuple[str, str, int]]:
    rng = random.Random(7000 + client)
    return [(rng.choice(("BUY", "SELL")), f"{rng.randint(7950, 8050) / 100:.2f}", rng.randint(1, 1000))
            for _ in range(n)]


def service_worker(client: int, user_id: int, account_id: int, n: int, barrier, results, batch: int) -> None:
    from django.db import connection

    from cets.common.errors import Busy, DomainError
    from entities.models import User
    from trading.models import Product, TradingAccount
    from trading.services import order_place
    from trading.services.orders import OrderRequest, orders_place_batch

    freeze_clock()
    user = User.objects.get(pk=user_id)
    account = TradingAccount.objects.select_related("participant", "registry_account").get(pk=account_id)
    product = Product.objects.get(code="CEA23")
    orders = stream(client, n)
    refused = trades = busy = 0
    barrier.wait()
    if batch == 1:
        for side, price, qty in orders:
            try:
                _order, made = order_place(user=user, account=account, product=product, side=side, price=price,
                                           quantity=qty)
                trades += len(made)
            except DomainError:
                refused += 1
    else:
        for start in range(0, n, batch):
            requests = [OrderRequest(user=user, account=account, side=side, price=price, quantity=qty)
                        for side, price, qty in orders[start:start + batch]]
            while True:
                try:
                    results_ = orders_place_batch(product=product, requests=requests)
                    break
                except Busy:  # the product's lock was not free within the lock timeout: nothing changed, retry
                    busy += 1
            refused += sum(1 for r in results_ if r.error is not None)
            trades += sum(len(r.trades) for r in results_)
    if busy:
        print(f"client {client}: {busy} batches retried (product busy)")
    results.put((client, n, refused, trades))
    connection.close()


def naive_worker(client: int, user_id: int, account_id: int, n: int, barrier, results, _batch: int = 1) -> None:
    """Each order in its own transaction with the ORM: lock product, match against rows, insert, update."""
    from decimal import Decimal

    from django.db import connection, transaction
    from django.utils import timezone

    from trading.models import Order, Product, Trade

    product_id = Product.objects.get(code="CEA24").pk
    orders = stream(client, n)
    trades = 0
    now = timezone.make_aware(SESSION)
    barrier.wait()
    for side, price, qty in orders:
        price = Decimal(price)
        with transaction.atomic():
            Product.objects.select_for_update().get(pk=product_id)
            opposite = Order.objects.filter(product_id=product_id, status__in=("open", "partial"),
                                            open_quantity__gt=0).exclude(account_id=account_id)
            if side == "BUY":
                crossing = opposite.filter(side="SELL", price__lte=price).order_by("price", "id")
            else:
                crossing = opposite.filter(side="BUY", price__gte=price).order_by("-price", "id")
            order = Order.objects.create(product_id=product_id, account_id=account_id, side=side, price=price,
                                         quantity=qty, open_quantity=qty, created_at=now)
            left = qty
            for maker in crossing:
                if not left:
                    break
                q = min(left, maker.open_quantity)
                buyer, seller = (account_id, maker.account_id) if side == "BUY" else (maker.account_id, account_id)
                Trade.objects.create(product_id=product_id, method="listed", buyer_id=buyer, seller_id=seller,
                                     buy_order=order if side == "BUY" else maker,
                                     sell_order=maker if side == "BUY" else order, price=maker.price, quantity=q,
                                     value=maker.price * q, buyer_fee=0, seller_fee=0, trade_date=now.date(),
                                     executed_at=now)
                maker.open_quantity -= q
                maker.filled_quantity += q
                maker.status = "filled" if not maker.open_quantity else "partial"
                maker.save(update_fields=["open_quantity", "filled_quantity", "status"])
                left -= q
                trades += 1
            order.open_quantity, order.filled_quantity = left, qty - left
            order.status = "open" if left == qty else ("filled" if not left else "partial")
            order.save(update_fields=["open_quantity", "filled_quantity", "status"])
    results.put((client, n, 0, trades))
    connection.close()


def run_clients(target, participants, n: int, batch: int = 1) -> tuple[float, int, int, int]:
    from django.db import connections

    connections.close_all()
    ctx = mp.get_context("fork")
    barrier, results = ctx.Barrier(CLIENTS + 1), ctx.Queue()
    procs = [ctx.Process(target=target, args=(i, *participants[i], n, barrier, results, batch)) for i in range(CLIENTS)]
    for p in procs:
        p.start()
    barrier.wait()
    started = time.perf_counter()
    rows = [results.get() for _ in procs]
    elapsed = time.perf_counter() - started
    for p in procs:
        p.join()
    placed = sum(r[1] for r in rows)
    return elapsed, placed, sum(r[2] for r in rows), sum(r[3] for r in rows)


def pgbench(seconds: int) -> float:
    url = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/pgbench_trading"
    ensure_database(url)
    subprocess.run(["pgbench", "-i", "-q", "-s", "10", url], check=True, capture_output=True)
    out = subprocess.run(["pgbench", "-c", str(CLIENTS), "-j", str(CLIENTS), "-T", str(seconds), "-n", url],
                         check=True, capture_output=True, text=True).stdout
    return float(re.search(r"tps = ([\d.]+)", out).group(1))


def count_statements(participants, n: int, batch: int) -> None:
    """Single client: SQL statements per order through order_place and orders_place_batch (same streams)."""
    import collections

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from entities.models import User
    from trading.models import Product, Trade, TradingAccount
    from trading.services import order_place
    from trading.services.orders import OrderRequest, orders_place_batch

    freeze_clock()
    connection.queries_log = collections.deque(maxlen=10**7)
    product = Product.objects.get(code="CEA23")
    people = [(User.objects.get(pk=u), TradingAccount.objects.select_related("participant", "registry_account")
               .get(pk=a)) for u, a in participants]
    streams = [stream(100 + i, n) for i in range(CLIENTS)]
    requests = [OrderRequest(user=people[i][0], account=people[i][1], side=streams[i][k][0], price=streams[i][k][1],
                             quantity=streams[i][k][2]) for k in range(n) for i in range(CLIENTS)]
    half = len(requests) // 2
    trades = [Trade.objects.count()]
    with CaptureQueriesContext(connection) as single:
        for r in requests[:half]:
            order_place(user=r.user, account=r.account, product=product, side=r.side, price=r.price,
                        quantity=r.quantity)
    trades.append(Trade.objects.count())
    with CaptureQueriesContext(connection) as batched:
        for start in range(half, len(requests), batch):
            orders_place_batch(product=product, requests=requests[start:start + batch])
    trades.append(Trade.objects.count())
    print(f"SQL statements per order, one client: order_place {len(single.captured_queries) / half:.1f} "
          f"({(trades[1] - trades[0]) / half:.2f} trades per order), orders_place_batch of {batch} "
          f"{len(batched.captured_queries) / (len(requests) - half):.1f} "
          f"({(trades[2] - trades[1]) / (len(requests) - half):.2f} trades per order)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=300, help="orders per client")
    parser.add_argument("--batch", type=int, default=50, help="orders per orders_place_batch call (transaction)")
    parser.add_argument("--single-orders", type=int, default=50,
                        help="orders per client for the one-order-per-transaction service figure (0: skip)")
    parser.add_argument("--seconds", type=int, default=10, help="pgbench duration")
    parser.add_argument("--count", action="store_true", help="only count SQL statements per order (one client)")
    args = parser.parse_args()
    setup_django()
    reset()
    participants = make_participants()
    if args.count:
        count_statements(participants, args.orders, args.batch)
        return

    from registry.ledger import ledger_check
    from trading.selectors import cash_check

    elapsed, placed, refused, trades = run_clients(service_worker, participants, args.orders, args.batch)
    service_rate = placed / elapsed
    print(f"service layer, orders_place_batch of {args.batch} (match + DvP settlement + audit), {CLIENTS} clients: "
          f"{placed} orders in {elapsed:.2f} s = {service_rate:,.0f} orders/s ({trades} trades settled, "
          f"{refused} refused)")
    problems = cash_check() + ledger_check()
    print(f"invariants after the run: {'clean' if not problems else problems}")
    if args.single_orders:
        elapsed, placed, refused, trades = run_clients(service_worker, participants, args.single_orders, 1)
        print(f"service layer, order_place one order per transaction, {CLIENTS} clients: {placed} orders in "
              f"{elapsed:.2f} s = {placed / elapsed:,.0f} orders/s ({trades} trades settled, {refused} refused)")
        problems = cash_check() + ledger_check()
        print(f"invariants after the run: {'clean' if not problems else problems}")

    elapsed, placed, _refused, trades = run_clients(naive_worker, participants, args.orders)
    naive_rate = placed / elapsed
    print(f"naive ORM loop (orders + trades only, no settlement), {CLIENTS} clients: {placed} orders in "
          f"{elapsed:.2f} s = {naive_rate:,.0f} orders/s ({trades} trades)")
    tps = pgbench(args.seconds)
    print(f"pgbench TPC-B, {CLIENTS} clients: {tps:,.0f} transactions/s (scale 10, {args.seconds} s)")
    print(f"service (batched) / naive = {service_rate / naive_rate:.2f}x (target >= 2x); "
          f"service / pgbench = {service_rate / tps:.2f}")


if __name__ == "__main__":
    main()
