"""Carry-over benchmark (issue 16, point 7): every holder's quota computed in under 5 s, on PostgreSQL.

Set-up (not timed): 3,378 key entities (the 2025 lists: 2,087 power, 232 steel, 962 cement, 97 aluminium)
with registry holding accounts and trading accounts; CEA19-20 and CEA21-CEA24 issued (four-eyes) and
allocated to every account with ``registry.services.allocation_execute``; ``--trades`` exchange trades
(listed, bulk and auction rows between random holders, 2023-11 to 2026-02, so some fall outside the
2024-01-01..2025-12-31 window) bulk-inserted as the exchange records them: net sales read only the trade
rows, so they are written directly rather than matched (the matching path has its own benchmark).

Timed: ``compliance.carryover_selectors.quotas`` (holdings at the cut-off from the ledger's legs, net
sales from the trades: two grouped queries) and ``carryover_services.notices_issue`` (the same plus one
upsert of every notice). The cut-off is moved to just after the set-up, as the set-up's legs are dated now.
Default database postgres://postgres@127.0.0.1:5432/cets_bench_carryover (created on first use, emptied
at each run).

Usage: python bench/bench_carryover.py [--entities 3378] [--trades 60000] [--seed 1]
"""

import argparse
import datetime as dt
import os
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/cets_bench_carryover"
if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
    os.environ["DATABASE_URL"] = DEFAULT_DB
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cets.settings")
os.environ["CELERY_TASK_ALWAYS_EAGER"] = "1"

from bench_compliance import people, setup_django  # noqa: E402  (after DATABASE_URL is set)

TARGET_S = 5.0
SECTORS = [("power", 2_087), ("steel", 232), ("cement", 962), ("aluminium", 97)]
VINTAGES = (2019, 2021, 2022, 2023, 2024)


def reset() -> None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("TRUNCATE compliance_carryoverapplication, compliance_carryovernotice, trading_trade, "
                    "trading_cashaccount, trading_tradingaccount, trading_participant, "
                    "registry_transactionleg, registry_block, registry_holding, registry_transaction, "
                    "registry_reservation, registry_freeze, registry_account, registry_instrument, "
                    "common_job, common_auditentry, common_auditchainhead RESTART IDENTITY CASCADE")
        cur.execute("DELETE FROM entities_keyentity WHERE name LIKE 'BENCH %%'")


def make_holders(n: int, first, second, rng) -> list:
    """Entities by sector (scaled to ``n``), their registry and trading accounts, and 2019-2024 holdings."""
    from entities.credit_code import credit_code_make
    from entities.models import City, KeyEntity
    from registry import services as registry
    from trading.services.participants import participant_open

    cities = list(City.objects.all()[:60])
    scale = n / sum(count for _sector, count in SECTORS)
    sectors = [s for s, count in SECTORS for _ in range(round(count * scale))][:n]
    KeyEntity.objects.bulk_create(
        [KeyEntity(name=f"BENCH {i}", credit_code=credit_code_make(f"91{cities[i % len(cities)].code}{i:09d}"),
                   sector_id=sector, province_id=cities[i % len(cities)].province_id, city=cities[i % len(cities)],
                   inclusion_year=2019) for i, sector in enumerate(sectors)], batch_size=2000)
    entities = list(KeyEntity.objects.filter(name__startswith="BENCH ").order_by("pk"))
    trading = [participant_open(actor=None, entity=e, registry_account=registry.account_for_entity(entity=e))
               for e in entities]
    for vintage in VINTAGES:
        instrument = registry.instrument_get_or_create_cea(vintage=vintage)
        plan = {t.registry_account_id: rng.randint(20_000, 3_000_000) for t in trading}
        tx = registry.issuance_propose(actor=first, instrument=instrument, quantity=sum(plan.values()))
        registry.transaction_approve(actor=second, transaction=tx)
        registry.allocation_execute(actor=first, instrument=instrument, allocations=plan,
                                    reference=f"bench-carryover-{vintage}")
    return trading


def make_trades(trading: list, count: int, rng) -> None:
    from trading.models import Product, Trade

    products = list(Product.objects.filter(vintage__lte=2024))
    start, days = dt.date(2023, 11, 1), (dt.date(2026, 2, 28) - dt.date(2023, 11, 1)).days
    rows = []
    for _ in range(count):
        seller, buyer = rng.sample(trading, 2)
        day = start + dt.timedelta(days=rng.randrange(days))
        method = rng.choices(["listed", "bulk", "auction"], [70, 28, 2])[0]
        quantity = rng.randint(100, 99_999) if method == "listed" else rng.randint(100_000, 600_000)
        price = Decimal(rng.randint(5500, 10500)) / 100
        rows.append(Trade(product=rng.choice(products), method=method, buyer=buyer, seller=seller, price=price,
                          quantity=quantity, value=price * quantity, buyer_fee=Decimal("0"), seller_fee=Decimal("0"),
                          trade_date=day, executed_at=dt.datetime.combine(day, dt.time(10, 30), tzinfo=dt.UTC)))
    Trade.objects.bulk_create(rows, batch_size=5000)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entities", type=int, default=3_378)
    parser.add_argument("--trades", type=int, default=60_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    setup_django()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from compliance import carryover_selectors, carryover_services
    from compliance.models import CarryOverNotice, CarryOverScheme

    rng = random.Random(args.seed)
    reset()
    first, second, _user = people()
    started = time.perf_counter()
    trading = make_holders(args.entities, first, second, rng)
    make_trades(trading, args.trades, rng)
    scheme = CarryOverScheme.objects.get(code="2025")
    scheme.cutoff = timezone.now()
    scheme.save(update_fields=["cutoff"])
    print(f"set-up: {len(trading):,} holders, {args.trades:,} trades in {time.perf_counter() - started:.1f} s")

    with CaptureQueriesContext(connection) as queries:
        t0 = time.perf_counter()
        rows = carryover_selectors.quotas(scheme)
        computed = time.perf_counter() - t0
    t0 = time.perf_counter()
    result = carryover_services.notices_issue(actor=first, scheme=scheme)
    issued = time.perf_counter() - t0
    capped = sum(1 for q in rows if q.quota_tco2 == q.holdings_tco2)
    sellers = sum(1 for q in rows if q.net_sales_tco2 > 0)
    print(f"quotas of {len(rows):,} holders computed in {computed:.2f} s ({len(queries.captured_queries)} queries); "
          f"target < {TARGET_S:.0f} s: {'met' if computed < TARGET_S else 'NOT MET'}")
    print(f"notices issued (compute + upsert) in {issued:.2f} s: {CarryOverNotice.objects.count():,} notices, "
          f"total quota {result['quota_tco2']:,} t, net sellers {sellers:,}, capped at holdings {capped:,}")
    return 0 if computed < TARGET_S and len(rows) == args.entities else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
