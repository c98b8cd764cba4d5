"""CEMS benchmark (issue 18 point 7): one year of hourly data for 152 points (1.33 M rows) ingested in < 30 s.

Through the service layer: each entity's year arrives as one CSV file (5 points x 8,760 hours), read by
``cems.hours_from_csv`` and stored by ``cems.hours_ingest`` (pandas validation of every row, point locks,
month partitions created on demand, COPY into a staging table, one INSERT ... ON CONFLICT into the
partitioned table, audit). The partitions are dropped first so their creation is timed too. Then a resend
of one entity's file (idempotent: nothing inserted), bytes per stored hour (all partitions, indexes
included) and the monthly CEMS figures of every facility for the year.

Scratch database: postgres://postgres@127.0.0.1:5432/cets_bench_cems (created and migrated on first use).

Usage: python bench/bench_cems.py [--points 152] [--year 2025]
"""

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/cets_bench_cems")

from bench_mrv import UNITS_PER_ENTITY, ensure_units, setup_django  # noqa: E402

TARGET_S = 30


def ensure_points(units):
    """One approved point per unit and one sending user per entity (created once)."""
    from entities.models import User
    from mrv.cems_models import MonitoringPoint

    MonitoringPoint.objects.bulk_create(
        [MonitoringPoint(entity_id=u.entity_id, unit=u, code=f"CEMS-{u.code}", device="bench analyser",
                         certified_on=dt.date(2020, 1, 1), commissioned_on=dt.date(2020, 2, 1),
                         status=MonitoringPoint.Status.APPROVED) for u in units], ignore_conflicts=True)
    users = {}
    for entity_id in sorted({u.entity_id for u in units}):
        users[entity_id], _ = User.objects.get_or_create(username=f"bench-cems-{entity_id}", defaults={
            "role": User.Role.ENTITY, "entity_id": entity_id})
    return users


def entity_csv(units, year: int, rng: np.random.Generator) -> bytes:
    hours = pd.date_range(f"{year}-01-01", f"{year + 1}-01-01", freq="h", inclusive="left", tz="Asia/Shanghai")
    parts = []
    for unit in units:
        n = len(hours)
        status = rng.choice(["valid", "maintenance", "calibration", "missing"], size=n, p=[0.97, 0.01, 0.01, 0.01])
        co2 = np.where(status == "valid", rng.normal(12.5, 0.6, n).round(3), np.nan)
        parts.append(pd.DataFrame({
            "point": f"CEMS-{unit.code}", "hour": hours.strftime("%Y-%m-%dT%H:%M:%S+08:00"), "co2_pct": co2,
            "flow_nm3h": np.where(status == "missing", np.nan, rng.normal(1.8e6, 1e5, n).round(1)),
            "temp_c": rng.normal(125, 5, n).round(1), "pressure_kpa": rng.normal(101.0, 0.5, n).round(2),
            "moisture_pct": rng.normal(8.0, 0.5, n).round(2), "o2_pct": rng.normal(6.0, 0.4, n).round(2),
            "status": status}))
    return pd.concat(parts).to_csv(index=False).encode()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=152)
    parser.add_argument("--year", type=int, default=2025)
    args = parser.parse_args()
    setup_django()
    from django.db import connection

    from mrv import cems

    units = ensure_units(args.points)
    users = ensure_points(units)
    with connection.cursor() as cur:
        cur.execute("SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = 'mrv_cemshour'::regclass")
        for (name,) in cur.fetchall():
            cur.execute(f"DROP TABLE {name}")
    rng = np.random.default_rng(18)
    by_entity = {}
    for unit in units:
        by_entity.setdefault(unit.entity_id, []).append(unit)
    started = time.perf_counter()
    files = {entity_id: entity_csv(us, args.year, rng) for entity_id, us in by_entity.items()}
    print(f"generated {len(files)} files, {sum(map(len, files.values())) / 1e6:.1f} MB "
          f"in {time.perf_counter() - started:.1f} s (not timed)")
    stored = 0
    started = time.perf_counter()
    for entity_id, content in files.items():
        stored += cems.hours_ingest(actor=users[entity_id], rows=cems.hours_from_csv(content))["inserted"]
    elapsed = time.perf_counter() - started
    print(f"ingested {stored:,} hours of {len(units)} points in {elapsed:.1f} s "
          f"({stored / elapsed:,.0f} rows/s; target < {TARGET_S} s: {'met' if elapsed < TARGET_S else 'NOT met'})")
    first = next(iter(files))
    started = time.perf_counter()
    again = cems.hours_ingest(actor=users[first], rows=cems.hours_from_csv(files[first]))
    print(f"resend of one entity's year ({again['received']:,} rows): {again} in {time.perf_counter() - started:.1f} s")
    with connection.cursor() as cur:
        cur.execute("SELECT sum(pg_total_relation_size(relid)), count(*) FROM pg_partition_tree('mrv_cemshour')")
        size, parts = cur.fetchone()
        size = int(size)
        cur.execute("SELECT count(*) FROM mrv_cemshour")
        rows = cur.fetchone()[0]
    print(f"storage: {size / 1e6:.1f} MB in {parts - 1} partitions for {rows:,} hours = {size / rows:.0f} bytes/hour")
    started = time.perf_counter()
    for month in range(1, 13):
        for unit in units:
            cems.facility_month(unit, args.year, month)
    print(f"monthly CEMS figures of {len(units)} facilities x 12 months in {time.perf_counter() - started:.1f} s")
    print(f"points per entity: {UNITS_PER_ENTITY}")


if __name__ == "__main__":
    main()
