"""MRV benchmarks on PostgreSQL, through the service layer (issue 4 point 9, issue 5 point 8).

1. Upload: one national month of 5,000 units as one CSV file, validated and stored by
   ``mrv.uploads``: the preview (pandas read, Decimal validation, accounting, comparison with the current
   versions) then its confirmation (locks, validation again, COPY): target under 10 s for both.
2. Nightly rules (``--nightly``): ``warnings_run`` over 24 months of 5,000 units (120,000 current
   submissions, loaded first month by month with the bulk service): target under 60 s.

It works in its own scratch database (default postgres://postgres@127.0.0.1:5432/cets_bench_mrv, created
and migrated on first use; the bench's entities are created once and its MRV rows emptied at each run).

Usage: python bench/bench_mrv.py [--units 5000] [--nightly]
"""

import argparse
import datetime as dt
import io
import os
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cets.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/cets_bench_mrv")

UPLOAD_TARGET_S = 10
NIGHTLY_TARGET_S = 60
UNITS_PER_ENTITY = 5


def ensure_database(url: str) -> None:
    if not url.startswith("postgres"):
        return
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


def ensure_units(count: int):
    """``count`` coal and gas units of bench entities spread over the cities (created once)."""
    from entities.credit_code import credit_code_make
    from entities.models import City, KeyEntity, Unit

    existing = list(Unit.objects.filter(code__startswith="BENCH-").order_by("code"))
    if len(existing) >= count:
        return existing[:count]
    cities = list(City.objects.all())
    entities = [KeyEntity(name=f"基准测试电厂{i}", credit_code=credit_code_make(f"91{cities[i % len(cities)].code}"
                                                                        f"{800000000 + i:09d}"),
                          province_id=cities[i % len(cities)].province_id, city=cities[i % len(cities)],
                          inclusion_year=2019)
                for i in range(count // UNITS_PER_ENTITY + 1)]
    KeyEntity.objects.bulk_create(entities, ignore_conflicts=True)
    entities = list(KeyEntity.objects.filter(name__startswith="基准测试电厂").order_by("pk"))
    units = [Unit(entity=entities[i // UNITS_PER_ENTITY], code=f"BENCH-{i:06d}", name=f"#{i}",
                  rated_power_mw=[300, 350, 600, 660, 1000][i % 5], main_fuel="natural_gas" if i % 10 == 9 else "coal",
                  coal_type="" if i % 10 == 9 else "bituminous", is_chp=i % 3 == 0,
                  commissioning_date=dt.date(2010, 1, 1))
             for i in range(count)]
    Unit.objects.bulk_create(units, ignore_conflicts=True)
    return list(Unit.objects.filter(code__startswith="BENCH-").order_by("code"))[:count]


def month_csv(units, year: int, month: int, rng: random.Random) -> bytes:
    from mrv.spreadsheet import COLUMNS

    out = io.StringIO()
    out.write(",".join(COLUMNS) + "\n")
    for unit in units:
        load = rng.uniform(0.6, 0.9)
        generated = float(unit.rated_power_mw) * 730 * load
        heat = generated * 1.5 if unit.is_chp else 0
        if unit.main_fuel == "natural_gas":
            fuel = f"natural_gas,{generated * 0.022:.4f},,,,"
        else:
            # One unit-month in 200 reports about twice its coal: the jump, peer and balance rules must see it.
            factor = 1.9 if rng.random() < 0.005 else rng.uniform(0.97, 1.03)
            fuel = f"bituminous,{generated * 0.40 * factor:.4f},{rng.uniform(20.5, 21.3):.3f},,,"
        out.write(f"{unit.code},{year},{month},{generated:.3f},{generated * 0.94:.3f},{heat:.3f},700,{load:.4f},0,"
                  f"{fuel},\n")
    return out.getvalue().encode()


def reset():
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("TRUNCATE mrv_earlywarning, mrv_warningevent, mrv_fuelrecord, mrv_supportingfile, "
                    "mrv_submissionreview, mrv_monthlysubmission CASCADE" if connection.vendor == "postgresql"
                    else "DELETE FROM mrv_fuelrecord")
        if connection.vendor != "postgresql":
            for table in ("mrv_warningevent", "mrv_earlywarning", "mrv_monthlysubmission"):
                cur.execute(f"DELETE FROM {table}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=5000)
    parser.add_argument("--nightly", action="store_true", help="also time the nightly rules over 24 months")
    args = parser.parse_args()
    setup_django()
    from django.db import connection

    from entities.models import User
    from mrv import early_warnings, uploads

    actor, _ = User.objects.get_or_create(username="bench-mee", defaults={"role": User.Role.NATIONAL_REGULATOR})
    units = ensure_units(args.units)
    reset()
    rng = random.Random(7)
    content = month_csv(units, 2024, 3, rng)
    print(f"database: {connection.vendor}; file: {len(content) / 1e6:.1f} MB, {len(units)} rows")
    # The rules job a batch enqueues after commit runs in a worker, not in the upload request: time the
    # upload (read, validate, compute, COPY, commit) alone, then the batch's rules run separately.
    early_warnings.warnings_enqueue_for_submissions = lambda ids: None
    started = time.perf_counter()
    staged = uploads.upload_preview(actor=actor, content=content, filename="national-2024-03.csv",
                                    today=dt.date(2024, 4, 20))
    preview_s = time.perf_counter() - started
    result = uploads.upload_confirm(actor=actor, upload=staged, today=dt.date(2024, 4, 20)).result
    result["emissions_tco2"] = Decimal(result["emissions_tco2"])
    upload_s = time.perf_counter() - started
    print(f"upload: {result['created']} submissions, {result['emissions_tco2']:,.3f} tCO2 in {upload_s:.2f} s "
          f"(preview {preview_s:.2f} s, confirm {upload_s - preview_s:.2f} s) "
          f"(target < {UPLOAD_TARGET_S} s) {'OK' if upload_s < UPLOAD_TARGET_S else 'SLOW'}")
    started = time.perf_counter()
    counts = early_warnings.warnings_run(submission_ids=result["ids"], today=dt.date(2024, 4, 20))
    print(f"rules on the uploaded batch (the Celery job): {sum(counts.values())} warnings in "
          f"{time.perf_counter() - started:.2f} s")
    if not args.nightly:
        return
    reset()
    load_started = time.perf_counter()
    for year, month in [(y, m) for y in (2023, 2024) for m in range(1, 13)]:
        frame = month_csv(units, year, month, rng)
        day = dt.date(year + (month == 12), month % 12 + 1, 20)
        uploads.upload_confirm(actor=actor, upload=uploads.upload_preview(actor=actor, content=frame,
                                                                          filename="m.csv", today=day), today=day)
    print(f"loaded 24 months in {time.perf_counter() - load_started:.1f} s")
    from mrv.models import EarlyWarning

    EarlyWarning.objects.all().delete()
    started = time.perf_counter()
    counts = {year: early_warnings.warnings_run(year=year, today=dt.date(2025, 1, 20)) for year in (2023, 2024)}
    nightly_s = time.perf_counter() - started
    found = sum(sum(c.values()) for c in counts.values())
    print(f"nightly rules over {2 * 12 * len(units)} unit-months: {found} warnings in {nightly_s:.2f} s "
          f"(target < {NIGHTLY_TARGET_S} s) {'OK' if nightly_s < NIGHTLY_TARGET_S else 'SLOW'}")


if __name__ == "__main__":
    main()
