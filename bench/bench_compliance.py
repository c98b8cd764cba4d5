"""Compliance benchmark (issue 9, point 10): closing a cycle of 2,257 entities x 2 years, on PostgreSQL.

Set-up (not timed), all through the services except the entities and the confirmed verifications
(bulk inserts, as the MRV flow is benchmarked in bench_mrv):
- 2,257 entities with confirmed verified emissions for 2021 and 2022 (120 kt - 12 Mt a year, log-normal);
- obligations from ``compliance.services.obligations_calculate``;
- realistic holdings: CEA21 and CEA22 issued (four-eyes) and allocated to every entity's registry
  account with ``registry.services.allocation_execute`` (about 99-101% of emissions, a few short);
- surrender in one or two steps per obligation through ``compliance.services.surrender`` (registry
  surrender transactions): ~99.6% in full by the deadline, a few late, a few partial, a few nothing.

Timed: ``compliance.services.cycle_close`` running its Job in-process (eager, as the demo does): per
obligation, reconciliation with the registry ledger, outcome, shortfall, certificate; then the rates.
Target: under 30 s. Default database postgres://postgres@127.0.0.1:5432/cets_bench_compliance
(created and migrated on first use; emptied at each run).

Usage: python bench/bench_compliance.py [--entities 2257] [--seed 1]
"""

import argparse
import datetime as dt
import math
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/cets_bench_compliance"
if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
    os.environ["DATABASE_URL"] = DEFAULT_DB
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cets.settings")
os.environ["CELERY_TASK_ALWAYS_EAGER"] = "1"

TARGET_S = 30.0


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


def reset() -> None:
    from django.db import connection

    from compliance.models import ComplianceCycle

    with connection.cursor() as cur:
        cur.execute("TRUNCATE compliance_certificate, compliance_penalty, compliance_reliefdecision, "
                    "compliance_flexiblemechanism, compliance_surrenderstep, compliance_risksnapshot, "
                    "compliance_riskwarning, compliance_obligation, mrv_verification, "
                    "registry_transactionleg, registry_block, registry_holding, registry_transaction, "
                    "registry_reservation, registry_freeze, registry_trustedaccount, "
                    "registry_accountrepresentative, registry_account, registry_instrument, "
                    "common_idempotencyrecord, common_job, common_auditentry, common_auditchainhead "
                    "RESTART IDENTITY CASCADE")
        cur.execute("DELETE FROM entities_user WHERE username LIKE 'bench-%%'")
        cur.execute("DELETE FROM entities_keyentity WHERE name LIKE 'BENCH %%'")
    from django.apps import apps

    from compliance.cycles_seed import load_cycles

    load_cycles(apps)  # TRUNCATE ... CASCADE through common_job emptied the cycles too
    ComplianceCycle.objects.filter(code="2021-2022").update(status="open", closing_job=None, closed_at=None)


def reopen(entities: int) -> bool:
    """Reuse a previous set-up of the same size (building it costs ~10 minutes of registry surrenders):
    the closing's own writes are undone and the cycle is open again. False when there is none."""
    from cets.common.models import Job
    from compliance.models import Certificate, ComplianceCycle, Obligation, RiskSnapshot, RiskWarning

    cycle = ComplianceCycle.objects.filter(code="2021-2022").first()
    bench_rows = Obligation.objects.filter(cycle=cycle, entity__name__startswith="BENCH ").count() if cycle else 0
    if bench_rows != 2 * entities:
        return False
    if Obligation.objects.filter(cycle=cycle).exclude(entity__name__startswith="BENCH ").exists():
        return False
    Certificate.objects.all().delete()
    RiskSnapshot.objects.all().delete()
    RiskWarning.objects.all().delete()
    Obligation.objects.filter(cycle=cycle).update(closed_at=None, status="open", shortfall_tco2=0)
    ComplianceCycle.objects.filter(pk=cycle.pk).update(status="open", closing_job=None, closed_at=None)
    Job.objects.filter(kind="compliance.cycle_close").delete()
    return True


def people():
    from entities.models import User

    def user(name, **fields):
        return User.objects.get_or_create(username=name, defaults=fields)[0]

    first = user("bench-mee", role="national_regulator", is_staff=True)
    second = user("bench-mee2", role="national_regulator", is_staff=True)
    return first, second, user


def make_market(n: int, seed: int) -> tuple[list[int], dict]:
    """Entities and confirmed verified emissions (whole tonnes + a fraction, as MRV stores them)."""
    from decimal import Decimal

    from entities.credit_code import credit_code_make
    from entities.models import City, KeyEntity
    from mrv.models import Verification

    rng = random.Random(seed)
    cities = list(City.objects.all()[:60])
    KeyEntity.objects.bulk_create(
        [KeyEntity(name=f"BENCH {i}", credit_code=credit_code_make(f"91{cities[i % len(cities)].code}{i:09d}"),
                   province_id=cities[i % len(cities)].province_id, city=cities[i % len(cities)], inclusion_year=2019)
         for i in range(n)], batch_size=2000)
    ids = list(KeyEntity.objects.filter(name__startswith="BENCH ").order_by("pk").values_list("pk", flat=True))
    emissions = {}
    rows = []
    for year in (2021, 2022):
        for pk in ids:
            tonnes = min(max(rng.lognormvariate(math.log(1_800_000), 0.8), 120_000), 12_000_000)
            emissions[(pk, year)] = int(tonnes)
            rows.append(Verification(entity_id=pk, year=year, status="confirmed",
                                     verified_emissions_tco2=Decimal(int(tonnes)) + Decimal("0.25")))
    Verification.objects.bulk_create(rows, batch_size=5000)
    return ids, emissions


def fund(ids, emissions, first, second, rng) -> dict:
    """Issue CEA21 and CEA22 (four-eyes) and allocate each entity about its emissions."""
    from entities.models import KeyEntity
    from registry import services as registry

    accounts = {e.pk: registry.account_for_entity(entity=e) for e in KeyEntity.objects.filter(pk__in=ids)}
    held = {}
    for year in (2021, 2022):
        instrument = registry.instrument_get_or_create_cea(vintage=year)
        plan = {}
        for pk in ids:
            share = rng.uniform(0.6, 0.9) if rng.random() < 0.01 else rng.uniform(1.0, 1.04)
            plan[accounts[pk].pk] = held[(pk, year)] = max(int(emissions[(pk, year)] * share), 1)
        tx = registry.issuance_propose(actor=first, instrument=instrument, quantity=sum(plan.values()))
        registry.transaction_approve(actor=second, transaction=tx)
        registry.allocation_execute(actor=first, instrument=instrument, allocations=plan,
                                    reference=f"bench-allocation-{year}")
    return held


def surrender_all(cycle, ids, held, user, rng) -> dict:
    from compliance import services
    from compliance.models import Obligation

    behaviour = {"full": 0, "late": 0, "partial": 0, "none": 0}
    users = {pk: user(f"bench-entity-{pk}", role="entity", entity_id=pk) for pk in ids}
    on_time, late = dt.date(2023, 11, 10), dt.date(2024, 1, 8)
    for ob in Obligation.objects.filter(cycle=cycle).select_related("entity", "cycle").order_by("pk"):
        roll = rng.random()
        available = held[(ob.entity_id, ob.year)]
        quantity = min(ob.quantity_tco2, available)
        if roll < 0.002:
            behaviour["none"] += 1
            continue
        if roll < 0.004 or quantity < ob.quantity_tco2:
            behaviour["partial"] += 1
            quantity = max(quantity // 2, 1)
        kind = "late" if roll > 0.997 else "full"
        two_steps = kind == "late" or roll > 0.95  # most surrender in one step, some in two
        first_step = max(quantity * 95 // 100, 1) if two_steps else quantity
        steps = [(first_step, on_time)] + ([(quantity - first_step, late if kind == "late" else on_time)]
                                           if quantity > first_step else [])
        for qty, day in steps:
            services.surrender(actor=users[ob.entity_id], obligation=ob, on_date=day,
                               items=[{"kind": "cea", "vintage": ob.year, "quantity": qty}])
            ob.refresh_from_db()
        if quantity == ob.quantity_tco2:
            behaviour[kind] += 1
    return behaviour


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entities", type=int, default=2_257)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rebuild", action="store_true", help="rebuild the set-up even if a previous run left one")
    args = parser.parse_args(argv)
    setup_django()
    from django.db import connection

    from compliance import selectors, services
    from compliance.models import Certificate, ComplianceCycle, Obligation

    rng = random.Random(args.seed)
    started = time.perf_counter()
    if not args.rebuild and reopen(args.entities):
        cycle = ComplianceCycle.objects.get(code="2021-2022")
        first = people()[0]
        print(f"set-up: reused the previous run's {args.entities} entities, holdings and surrenders; cycle reopened "
              f"({time.perf_counter() - started:.1f} s, not timed; --rebuild to start afresh)")
    else:
        reset()
        cycle = ComplianceCycle.objects.get(code="2021-2022")
        first, second, user = people()
        ids, emissions = make_market(args.entities, args.seed)
        for year in (2021, 2022):
            services.obligations_calculate(actor=first, cycle=cycle, year=year)
        held = fund(ids, emissions, first, second, rng)
        behaviour = surrender_all(cycle, ids, held, user, rng)
        print(f"set-up: {len(ids)} entities x 2 years = {Obligation.objects.filter(cycle=cycle).count()} "
              f"obligations, holdings allocated, surrenders {behaviour} ({time.perf_counter() - started:.1f} s, "
              f"not timed)")

    started = time.perf_counter()
    scan = services.risk_scan(cycle=cycle, on_date=dt.date(2023, 11, 1))
    print(f"daily risk scan (informative, no target): {scan['scanned']} entities, {scan['at_risk']} at risk, "
          f"{scan['warnings']} warnings, {time.perf_counter() - started:.2f} s")

    started = time.perf_counter()
    queries = []

    def count(execute, sql, params, many, context):
        queries.append(1)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        job = services.cycle_close(actor=first, cycle=cycle)
    took = time.perf_counter() - started
    job.refresh_from_db()
    cycle.refresh_from_db()
    assert job.status == "succeeded", (job.status, job.message)
    rates = selectors.compliance_rates(cycle)
    counts = selectors.status_counts(cycle)
    print(f"close: job {job.status}, {job.done}/{job.total} obligations, {len(queries)} queries, "
          f"{Certificate.objects.count()} certificates")
    print(f"compliance rates: {', '.join(f'{y}: {r}%' for y, r in rates.items())}; statuses {counts}")
    print(f"closing 2 years x {args.entities} entities: {took:.2f} s (target < {TARGET_S:.0f} s) "
          f"{'OK' if took < TARGET_S else 'MISSED'}")
    started = time.perf_counter()
    report = selectors.cycle_report(cycle)
    print(f"cycle report (national + {len(report['provinces'])} provinces): {time.perf_counter() - started:.2f} s")
    return 0 if took < TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
