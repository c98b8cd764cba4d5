"""Registry benchmarks on PostgreSQL (issue 3, point 11), through the service layer.

1. Allocate one year (5.1 billion CEA21) from the national allocation account to 2,257 entity
   accounts with ``allocation_execute`` (one job, chunked): target under 10 s. Then one four-eyes
   bulk withdrawal over the same 2,257 accounts (``withdrawal_bulk_propose`` / ``withdrawal_bulk_approve``).
2. Concurrent transfers between random holders, 4 client processes calling ``transfer_create``,
   against ``pgbench`` TPC-B with 4 clients on the same machine in the same run (scratch database
   ``pgbench_registry``): target at least half pgbench's transactions per second.
3. ``check_ledger`` over 10 million blocks: target under 60 s (the blocks are loaded with one
   INSERT ... SELECT without the exclusion constraint, which is restored on the emptied table afterwards).

It works in its own scratch database (default postgres://postgres@127.0.0.1:5432/cets_bench_registry,
created and migrated on first use; the registry tables are emptied at each run).

Usage: python bench/bench_registry.py [--seconds 15] [--blocks 10000000] [--skip-10m] [--only-bulk]
"""

import argparse
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
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/cets_bench_registry"
if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
    os.environ["DATABASE_URL"] = DEFAULT_DB
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cets.settings")
os.environ.setdefault("LOCK_TIMEOUT_MS", "5000")

ACCOUNTS = 2_257
YEAR_TOTAL = 5_100_000_000
CLIENTS = 4


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


def setup_django():
    import django

    ensure_database(os.environ["DATABASE_URL"])
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, skip_checks=True)


def reset() -> None:
    """Empty the registry (and the audit chain, so its hashes stay consistent) and the bench's entities."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("TRUNCATE registry_transactionleg, registry_block, registry_holding, registry_transaction, "
                    "registry_reservation, registry_freeze, registry_trustedaccount, "
                    "registry_accountrepresentative, registry_account, registry_instrument, "
                    "common_auditentry, common_auditchainhead RESTART IDENTITY CASCADE")
        cur.execute("DELETE FROM entities_keyentity WHERE credit_code LIKE 'BENCH%%'")
        cur.execute("SELECT 1 FROM pg_constraint WHERE conname = 'registry_block_no_overlap'")
        if not cur.fetchone():  # an earlier run stopped during the 10M-block load: restore it on the empty table
            cur.execute("ALTER TABLE registry_block ADD CONSTRAINT registry_block_no_overlap EXCLUDE USING gist "
                        "(instrument_id WITH =, int8range(serial_start, serial_end, '[]') WITH &&)")


def make_accounts() -> list[int]:
    """2,257 entities with open holding accounts (bulk: this is set-up, not the timed part)."""
    from django.utils import timezone

    from entities.models import City, KeyEntity
    from registry.models import Account

    city = City.objects.select_related("province").get(code="420100")
    KeyEntity.objects.bulk_create([
        KeyEntity(name=f"Bench power {i}", credit_code=f"BENCH{i:013d}", province=city.province, city=city,
                  inclusion_year=2019) for i in range(ACCOUNTS)], batch_size=2_000)
    entities = KeyEntity.objects.filter(credit_code__startswith="BENCH").order_by("pk")
    now = timezone.now()
    Account.objects.bulk_create([
        Account(number=f"CN-300-{9_000_000 + i:07d}", kind="entity_holding", name=e.name, status="open",
                entity=e, province_id=e.province_id, opened_at=now) for i, e in enumerate(entities)],
        batch_size=2_000)
    return list(Account.objects.filter(kind="entity_holding", entity__in=entities).values_list("pk", flat=True))


def regulators():
    from entities.models import User

    users = []
    for name in ("bench-mee", "bench-mee2"):
        user, _ = User.objects.get_or_create(username=name, defaults={"role": "national_regulator",
                                                                       "is_staff": True})
        users.append(user)
    return users


def bench_allocation(account_ids: list[int]) -> None:
    from registry import services
    from registry.ledger import ledger_check

    mee, mee2 = regulators()
    cea = services.instrument_get_or_create_cea(vintage=2021)
    rng = random.Random(2021)
    weights = [rng.uniform(0.2, 1.8) for _ in account_ids]
    scale = YEAR_TOTAL / sum(weights)
    plan = {pk: max(1, int(w * scale)) for pk, w in zip(account_ids, weights, strict=True)}
    plan[account_ids[0]] += YEAR_TOTAL - sum(plan.values())
    proposal = services.issuance_propose(actor=mee, instrument=cea, quantity=YEAR_TOTAL)
    services.transaction_approve(actor=mee2, transaction=proposal)
    started = time.perf_counter()
    tx = services.allocation_execute(actor=mee, instrument=cea, allocations=plan, reference="bench-2021")
    took = time.perf_counter() - started
    print(f"allocation: {tx.quantity:,} CEA21 to {len(plan):,} accounts in {took:.2f} s "
          f"(target < 10 s: {'met' if took < 10 else 'NOT met'}; {services.ALLOCATION_CHUNK} accounts per "
          f"database transaction)")
    started = time.perf_counter()
    problems = ledger_check()
    print(f"check_ledger after allocation: {'sound' if not problems else problems[:3]} "
          f"in {time.perf_counter() - started:.2f} s")


def bench_bulk_withdrawal(account_ids: list[int]) -> None:
    """One four-eyes bulk withdrawal over every account: half of each holding, and from every tenth
    account more than it holds (capped at its available units, the rest reported uncovered)."""
    from registry import selectors, services
    from registry.ledger import ledger_check
    from registry.models import Holding

    mee, mee2 = regulators()
    cea = services.instrument_get_or_create_cea(vintage=2021)
    held = dict(Holding.objects.filter(instrument=cea, account_id__in=account_ids).values_list("account_id", "total"))
    plan = {pk: (held[pk] + 5 if i % 10 == 0 else max(1, held[pk] // 2)) for i, pk in enumerate(account_ids)}
    started = time.perf_counter()
    proposal = services.withdrawal_bulk_propose(actor=mee, instrument=cea, withdrawals=plan, reason="bench",
                                                reference="bench-bulk-2021")
    proposed = time.perf_counter() - started
    uncovered = services.withdrawal_bulk_approve(actor=mee2, transaction=proposal)
    took = time.perf_counter() - started
    proposal.refresh_from_db()
    allocation = services.national_account(kind="national_allocation")
    print(f"bulk withdrawal: {proposal.quantity:,} CEA21 from {len(plan):,} accounts in {took:.2f} s "
          f"(propose {proposed:.2f} s, approve + execute {took - proposed:.2f} s; "
          f"{services.BULK_WITHDRAWAL_CHUNK} accounts per database transaction); {len(uncovered)} accounts "
          f"short by {sum(uncovered.values()):,} t in all; allocation account now holds "
          f"{selectors.balance(allocation, cea).total:,}")
    started = time.perf_counter()
    problems = ledger_check()
    print(f"check_ledger after the bulk withdrawal: {'sound' if not problems else problems[:3]} "
          f"in {time.perf_counter() - started:.2f} s")


def _transfer_client(args) -> tuple[int, int, int]:
    """One client process: random transfers through the service layer until the deadline."""
    seed, account_ids, holders, deadline = args
    from django.db import connection

    from cets.common.errors import Busy, DomainError
    from registry import services
    from registry.models import Account, Instrument

    rng = random.Random(seed)
    cea = Instrument.objects.get(code="CEA21")
    accounts = {a.pk: a for a in Account.objects.filter(pk__in=account_ids)}
    ids = list(accounts)
    done = busy = refused = 0
    while time.time() < deadline:
        a = rng.choice(holders)
        b = rng.choice(ids)
        while b == a:
            b = rng.choice(ids)
        try:
            services.transfer_create(actor=None, from_account=accounts[a], to_account=accounts[b], instrument=cea,
                                     quantity=rng.randint(1, 1_000), reference="bench")
            done += 1
        except Busy:
            busy += 1
        except DomainError:
            refused += 1
    connection.close()
    return done, busy, refused


def bench_transfers(account_ids: list[int], seconds: int) -> float:
    """Random transfers of 1-1,000 t from a random holder (an account holding CEA21: the bulk withdrawal
    emptied every tenth account) to a random other account."""
    from django.db import connections

    from registry.models import Holding

    holders = list(Holding.objects.filter(account_id__in=account_ids, instrument__code="CEA21", total__gt=0)
                   .values_list("account_id", flat=True))
    connections.close_all()
    ctx = mp.get_context("fork")
    with ctx.Pool(CLIENTS) as pool:
        pool.map(time.sleep, [0.1] * CLIENTS)  # workers forked and ready before the clock starts
        started = time.time()
        deadline = started + seconds
        results = pool.map(_transfer_client, [(i, account_ids, holders, deadline) for i in range(CLIENTS)])
    elapsed = time.time() - started
    done = sum(r[0] for r in results)
    tps = done / elapsed
    print(f"transfers from {len(holders):,} holders: {CLIENTS} clients, {done:,} in {elapsed:.1f} s = {tps:,.0f} /s "
          f"(busy {sum(r[1] for r in results)}, refused {sum(r[2] for r in results)})")
    return tps


def pgbench(seconds: int) -> float:
    url = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/pgbench_registry"
    ensure_database(url)
    subprocess.run(["pgbench", "-i", "-q", "-s", "10", url], check=True, capture_output=True)
    out = subprocess.run(["pgbench", "-c", str(CLIENTS), "-j", str(CLIENTS), "-T", str(seconds), "-n", url],
                         check=True, capture_output=True, text=True).stdout
    tps = float(re.search(r"tps = ([\d.]+)", out).group(1))
    print(f"pgbench TPC-B: {CLIENTS} clients, {tps:,.0f} transactions/s (scale 10, {seconds} s)")
    return tps


def bench_check_ledger(blocks: int, account_ids: list[int]) -> None:
    """Load ``blocks`` blocks of 100 units (one instrument, spread over the accounts), then time check_ledger."""
    from django.db import connection
    from django.utils import timezone

    from registry import services
    from registry.ledger import ledger_check
    from registry.models import Instrument, Transaction

    cea = services.instrument_get_or_create_cea(vintage=2022)
    size, per_account = 100, -(-blocks // len(account_ids))
    issued = blocks * size
    started = time.perf_counter()
    mee, _ = regulators()
    tx = Transaction.objects.create(kind="issuance", status="completed", instrument=cea, quantity=issued,
                                    proposed_by=mee, executed_at=timezone.now())
    with connection.cursor() as cur:
        cur.execute("CREATE TEMP TABLE bench_acct AS SELECT row_number() OVER (ORDER BY id) - 1 AS i, id "
                    "FROM registry_account WHERE id = ANY(%s)", [account_ids])
        cur.execute("ALTER TABLE registry_block DROP CONSTRAINT IF EXISTS registry_block_no_overlap")
        # a bulk load, as a migration of legacy registry data would do it: no per-row foreign-key triggers
        cur.execute("SET session_replication_role = replica")
        cur.execute("""INSERT INTO registry_block (instrument_id, account_id, serial_start, serial_end)
                       SELECT %s, a.id, g * %s + 1, g * %s + %s FROM generate_series(0, %s - 1) g
                       JOIN bench_acct a ON a.i = g / %s""", [cea.pk, size, size, size, blocks, per_account])
        cur.execute("""INSERT INTO registry_transactionleg (transaction_id, instrument_id, from_account_id,
                       to_account_id, serial_start, serial_end, quantity, executed_at)
                       SELECT %s, %s, NULL, a.id, a.i * %s * %s + 1, LEAST((a.i + 1) * %s * %s, %s),
                              LEAST((a.i + 1) * %s * %s, %s) - a.i * %s * %s, now()
                       FROM bench_acct a WHERE a.i * %s < %s""",
                    [tx.pk, cea.pk, per_account, size, per_account, size, issued, per_account, size, issued,
                     per_account, size, per_account, blocks])
        cur.execute("""INSERT INTO registry_holding (account_id, instrument_id, total, reserved, frozen)
                       SELECT account_id, instrument_id, SUM(serial_end - serial_start + 1), 0, 0
                       FROM registry_block WHERE instrument_id = %s GROUP BY account_id, instrument_id""", [cea.pk])
        cur.execute("SET session_replication_role = DEFAULT")
        Instrument.objects.filter(pk=cea.pk).update(next_serial=issued + 1)
        load = time.perf_counter() - started
        cur.execute("ANALYZE registry_block")
        cur.execute("SELECT count(*) FROM registry_block")
        count = cur.fetchone()[0]
    print(f"loaded {count:,} blocks in {load:.1f} s (INSERT ... SELECT; the exclusion constraint is left out for "
          f"the load: building its GiST index over 10M ranges takes minutes on this machine)")
    started = time.perf_counter()
    problems = ledger_check()
    took = time.perf_counter() - started
    print(f"check_ledger over {count:,} blocks: {took:.1f} s (target < 60 s: {'met' if took < 60 else 'NOT met'}); "
          f"{'sound' if not problems else problems[:3]}")
    reset()  # empty again, and the exclusion constraint back


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--blocks", type=int, default=10_000_000)
    parser.add_argument("--skip-10m", action="store_true")
    parser.add_argument("--only-bulk", action="store_true",
                        help="allocation and bulk withdrawal only (no transfers, pgbench, 10M blocks)")
    args = parser.parse_args()
    setup_django()
    from django.db import connection

    print(f"database: {connection.settings_dict['NAME']} on PostgreSQL {connection.pg_version // 10000}; "
          f"{os.cpu_count()} cores")
    reset()
    account_ids = make_accounts()
    bench_allocation(account_ids)
    bench_bulk_withdrawal(account_ids)
    if args.only_bulk:
        return 0
    ours = bench_transfers(account_ids, args.seconds)
    theirs = pgbench(args.seconds)
    met = "met" if ours / theirs >= 0.5 else "NOT met"
    print(f"ratio transfers / pgbench = {ours / theirs:.2f} (target >= 0.50: {met})")
    from registry.ledger import ledger_check

    problems = ledger_check()
    print(f"check_ledger after the concurrent transfers: {'sound' if not problems else problems[:3]}")
    if not args.skip_10m:
        bench_check_ledger(args.blocks, account_ids)
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
