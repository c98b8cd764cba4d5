"""Four-sector benchmarks (issue 15, point 10) on PostgreSQL, through the service layer.

The 2025 national market: 3,378 entities (2,087 power with 5 generating units each, 232 steel works, 962
cement entities with 1-3 clinker lines, 97 aluminium smelters with 1-2 electrolysis processes), about
12,700 allocation units.

(a) One national month (2025-03) validated and stored from files: one file per sector (power's CSV and the
    sector templates as CSV), each previewed and confirmed by the national regulator through
    ``mrv.uploads`` (read, Decimal validation, sector accounting, comparison, COPY): target under 10 s.
(b) The balance values and allocations of the three industrial sectors for 2025: the three balance values
    solved and published (``balance_value_publish``), then every industrial facility's allocation computed
    from the confirmed verified data (``industry.true_up``): target under 5 s.
(c) The national allocation of 2025 for all four sectors with registry issuance: pre-allocation and
    true-up, each calculated (Jobs, eager), approved by a second regulator and issued through the registry
    (four-eyes issuance, allocation to 3,378 accounts, withdrawals of over-allocations): target under 30 s.

Set-up (not timed): entities, facilities, holding accounts and confirmed verified 2024 and 2025 values written
with bulk inserts into a scratch database (default postgres://postgres@127.0.0.1:5432/cets_bench_sectors,
created and migrated on first use; emptied at each run).

Usage: python bench/bench_sectors.py [--seed 1]
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

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/cets_bench_sectors"
if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
    os.environ["DATABASE_URL"] = DEFAULT_DB
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_allowances import regulators, setup_django  # noqa: E402  (sets the bench's environment)
from bench_mrv import month_csv  # noqa: E402

MARKET = {"power": 2_087, "steel": 232, "cement": 962, "aluminium": 97}
PREFIX = "SB-"
TARGET_UPLOAD_S, TARGET_INDUSTRY_S, TARGET_RUN_S = 10.0, 5.0, 30.0
TODAY = dt.date(2025, 4, 20)


def reset() -> None:
    """Empty what the bench writes and its entities (the rest of the scratch database is left alone)."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("TRUNCATE allowances_unitallocation, allowances_obligation, allowances_borrowingapplication, "
                    "allowances_entityallocation, allowances_allocationrun, allowances_scenario, "
                    "allowances_balancevalue, allowances_highriskdesignation, allowances_vintagetotalentry, "
                    "allowances_vintagetotal, mrv_verifiedunitvalue, mrv_verifiedfacilityvalue, mrv_verification, "
                    "mrv_earlywarning, mrv_warningevent, mrv_fuelrecord, mrv_supportingfile, "
                    "mrv_submissionreview, mrv_submissionupload, mrv_monthlysubmission, "
                    "registry_transactionleg, registry_block, registry_holding, registry_transaction, "
                    "registry_reservation, registry_freeze, registry_trustedaccount, "
                    "registry_accountrepresentative, registry_account, registry_instrument, "
                    "common_job, common_auditentry, common_auditchainhead RESTART IDENTITY CASCADE")
        cur.execute("DELETE FROM entities_unit WHERE code LIKE %s", [PREFIX + "%"])
        cur.execute("DELETE FROM entities_user WHERE username LIKE 'bench-%%'")
        cur.execute("DELETE FROM entities_keyentity WHERE name LIKE 'SECTOR BENCH %%'")


def analyze() -> None:
    """Planner statistics of the freshly loaded tables, as autovacuum keeps them on a live database (without
    them PostgreSQL plans the joins for the empty tables it last saw)."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("ANALYZE")


def _facility(rng: random.Random, sector: str, entity_id: int, n: int):
    from entities.models import Unit

    common = {"entity_id": entity_id, "sector_id": sector, "code": f"{PREFIX}{sector[:3].upper()}-{n:05d}",
              "name": f"#{n}", "commissioning_date": dt.date(2010, 1, 1)}
    if sector == "power":
        gas = rng.random() < 0.1
        return Unit(**common, rated_power_mw=rng.choice([300, 350, 600, 660, 1000]),
                    main_fuel="natural_gas" if gas else "coal", coal_type="" if gas else "bituminous",
                    is_chp=rng.random() < 0.3, cooling=rng.choice(["water", "water", "air"]))
    attributes = {"steel": {"processes": ["sintering", "ironmaking", "bof"]},
                  "cement": {"clinker_type": "white_portland" if rng.random() < 0.02 else "portland"},
                  "aluminium": {"capacity_t": 300000}}[sector]
    return Unit(**common, rated_power_mw=None, main_fuel="", coal_type="", cooling="", attributes=attributes)


def make_market(seed: int) -> dict[str, list]:
    """Entities with their facilities and holding accounts; returns the facilities by sector."""
    from django.utils import timezone

    from entities.credit_code import credit_code_make
    from entities.models import City, KeyEntity, Unit
    from registry.models import Account

    rng = random.Random(seed)
    cities = list(City.objects.all()[:60])
    rows = []
    for sector, count in MARKET.items():
        for i in range(count):
            city = cities[len(rows) % len(cities)]
            rows.append(KeyEntity(name=f"SECTOR BENCH {sector} {i}", sector_id=sector, city=city,
                                  province_id=city.province_id, inclusion_year=2019 if sector == "power" else 2024,
                                  credit_code=credit_code_make(f"91{city.code}{700_000_000 + len(rows):09d}")))
    KeyEntity.objects.bulk_create(rows, batch_size=2000)
    entities = list(KeyEntity.objects.filter(name__startswith="SECTOR BENCH ").order_by("pk"))
    now = timezone.now()
    Account.objects.bulk_create([
        Account(number=f"CN-300-{7_000_000 + i:07d}", kind="entity_holding", name=e.name, status="open",
                entity_id=e.pk, province_id=e.province_id, opened_at=now) for i, e in enumerate(entities)],
        batch_size=2000)
    per_entity = {"power": lambda: 5, "steel": lambda: 1, "cement": lambda: rng.choice([1, 2, 2, 3]),
                  "aluminium": lambda: rng.choice([1, 2])}
    units = [_facility(rng, e.sector_id, e.pk, n) for n, e in enumerate(
        e for e in entities for _ in range(per_entity[e.sector_id]()))]
    Unit.objects.bulk_create(units, batch_size=2000)
    out: dict[str, list] = {sector: [] for sector in MARKET}
    for unit in Unit.objects.filter(code__startswith=PREFIX).order_by("code"):
        out[unit.sector_id].append(unit)
    return out


def _industrial_year(rng: random.Random, unit) -> dict:
    """A facility's verified year: emissions, output and the intensity figures of its sector."""
    if unit.sector_id == "steel":
        output = Decimal(rng.randint(1_000_000, 8_000_000))
        emissions = output * Decimal(str(round(rng.uniform(1.6, 2.1), 4)))
        ironmaking = output * Decimal("0.9")
        return {"emissions_tco2": emissions, "output_t": output, "intensity_output_t": ironmaking,
                "intensity_emissions_tco2": ironmaking * Decimal(str(round(rng.uniform(0.5, 0.6), 4)))}
    if unit.sector_id == "cement":
        output = Decimal(rng.randint(600_000, 1_600_000))
        emissions = output * Decimal(str(round(rng.uniform(0.80, 0.88), 4)))
        rate = Decimal(str(round(rng.uniform(0.0, 0.4), 4))) if rng.random() < 0.05 else Decimal(0)
        return {"emissions_tco2": emissions, "output_t": output, "intensity_output_t": output,
                "intensity_emissions_tco2": emissions, "carbide_slag_rate": rate}
    output = Decimal(rng.randint(100_000, 400_000))
    emissions = output * Decimal(str(round(rng.uniform(1.55, 1.85), 4)))
    return {"emissions_tco2": emissions, "output_t": output, "intensity_output_t": output,
            "intensity_emissions_tco2": emissions, "gases": {"CO2": str(emissions * Decimal("0.97"))}}


def _power_year(rng: random.Random, unit) -> dict:
    load = rng.uniform(0.5, 0.9)
    generated = Decimal(round(float(unit.rated_power_mw) * 8760 * load, 3))
    gas = unit.main_fuel == "natural_gas"
    heat_ratio = Decimal(str(round(rng.uniform(0.05, 0.3), 4))) if unit.is_chp else Decimal(0)
    return {"electricity_generated_mwh": generated,
            "electricity_supplied_mwh": (generated * Decimal("0.94")).quantize(Decimal("0.001")),
            "heat_supplied_gj": (generated * heat_ratio * 4).quantize(Decimal("0.001")),
            "load_factor": Decimal(str(round(load, 4))), "heat_supply_ratio": heat_ratio,
            "emissions_tco2": Decimal(round(float(generated) * rng.uniform(*((0.33, 0.40) if gas else (0.78, 0.95))),
                                            3))}


def make_verified(units: dict[str, list], seed: int) -> None:
    """Confirmed verifications of 2024 and 2025 with every facility's verified values."""
    from mrv.models import Verification, VerifiedFacilityValue, VerifiedUnitValue

    rng = random.Random(seed + 1)
    by_entity: dict[int, list] = {}
    for unit in (u for sector in units.values() for u in sector):
        by_entity.setdefault(unit.entity_id, []).append(unit)
    for year in (2024, 2025):
        Verification.objects.bulk_create([Verification(entity_id=pk, year=year, status="confirmed",
                                                       verified_emissions_tco2=0) for pk in by_entity],
                                         batch_size=2000)
        ver_ids = dict(Verification.objects.filter(year=year).values_list("entity_id", "pk"))
        power, facilities, totals = [], [], {}
        for entity_id, own in by_entity.items():
            for unit in own:
                if unit.sector_id == "power":
                    power.append(VerifiedUnitValue(verification_id=ver_ids[entity_id], unit=unit,
                                                   **_power_year(rng, unit)))
                    emissions = power[-1].emissions_tco2
                else:
                    values = {k: v.quantize(Decimal("0.001")) if isinstance(v, Decimal) and k != "carbide_slag_rate"
                              else v for k, v in _industrial_year(rng, unit).items()}
                    facilities.append(VerifiedFacilityValue(verification_id=ver_ids[entity_id], unit=unit, **values))
                    emissions = values["emissions_tco2"]
                totals[entity_id] = totals.get(entity_id, Decimal(0)) + emissions
        VerifiedUnitValue.objects.bulk_create(power, batch_size=5000)
        VerifiedFacilityValue.objects.bulk_create(facilities, batch_size=5000)
        Verification.objects.bulk_update([Verification(pk=pk, verified_emissions_tco2=totals[e])
                                          for e, pk in ver_ids.items()], ["verified_emissions_tco2"], batch_size=2000)


# ---- (a) the national month from files -----------------------------------------------------------------

ITEMS = ["item_list", "item_code", "amount", "ncv", "carbon_content", "oxidation_rate"]
SECTOR_COLUMNS = {"steel": ["ironmaking_output_t", "sinter_t"], "cement": ["clinker_t"],
                  "aluminium": ["aluminium_t", "net_anode_consumption", "anode_effect_minutes"]}


def _sector_rows(rng: random.Random, unit) -> list[tuple[dict, list[str]]]:
    """(scalars, item rows) of one facility-month: the first row carries the scalars."""
    f = rng.uniform(0.9, 1.1)
    if unit.sector_id == "steel":
        return ({"ironmaking_output_t": f"{370_000 * f:.1f}", "sinter_t": f"{500_000 * f:.1f}"},
                [f"fuels,washed_coking_coal,{220_000 * f:.1f},,,", f"fuels,anthracite,{70_000 * f:.1f},,,",
                 f"materials,limestone,{30_000 * f:.1f},,,", f"products,crude_steel,{400_000 * f:.1f},,,",
                 f"products,tar,{5_000 * f:.1f},,,", f"sintering.inputs,coke,{20_000 * f:.1f},,,",
                 f"ironmaking.inputs,coke,{150_000 * f:.1f},,,", f"ironmaking.outputs,bf_gas,{20_000 * f:.1f},,,"])
    if unit.sector_id == "cement":
        return ({"clinker_t": f"{100_000 * f:.1f}"},
                [f"fuels,bituminous,{12_500 * f:.1f},{rng.uniform(21, 23):.3f},,",
                 f"substitutes,carbide_slag,{5_000 * f:.1f},,,"])
    return ({"aluminium_t": f"{25_000 * f:.1f}", "net_anode_consumption": f"{rng.uniform(0.39, 0.42):.4f}",
             "anode_effect_minutes": f"{rng.uniform(0.01, 0.05):.4f}"}, [",,,,,"])


def sector_csv(sector: str, units, year: int, month: int, rng: random.Random) -> bytes:
    """One sector's month in its template's layout (``mrv.sector_spreadsheet``), as CSV."""
    scalars = SECTOR_COLUMNS[sector]
    out = io.StringIO()
    out.write(",".join(["unit_code", "year", "month", *scalars, *ITEMS, "note"]) + "\n")
    for unit in units:
        first, items = _sector_rows(rng, unit)
        for n, item in enumerate(items):
            values = ",".join(first[c] if n == 0 else "" for c in scalars)
            out.write(f"{unit.code},{year},{month},{values},{item},\n")
    return out.getvalue().encode()


def upload_month(actor, units: dict[str, list], seed: int) -> tuple[float, list[str]]:
    from mrv import early_warnings, uploads

    rng = random.Random(seed + 2)
    files = {"power": month_csv(units["power"], 2025, 3, rng),
             **{s: sector_csv(s, units[s], 2025, 3, rng) for s in ("steel", "cement", "aluminium")}}
    # The rules job a batch enqueues after commit runs in a worker, not in the upload: timed apart (bench_mrv).
    early_warnings.warnings_enqueue_for_submissions = lambda ids: None
    total, report = 0.0, []
    for sector, content in files.items():
        started = time.perf_counter()
        staged = uploads.upload_preview(actor=actor, content=content, filename=f"national-2025-03-{sector}.csv",
                                        today=TODAY)
        previewed = time.perf_counter()
        result = uploads.upload_confirm(actor=actor, upload=staged, today=TODAY).result
        took = time.perf_counter() - started
        total += took
        report.append(f"  {sector:>9}: {len(content) / 1e6:.2f} MB, {result['created']:,} facility-months, "
                      f"{Decimal(result['emissions_tco2']):,.0f} tCO2e in {took:.2f} s "
                      f"(preview {previewed - started:.2f} s, confirm {took - (previewed - started):.2f} s)")
    return total, report


# ---- (b) balance values and industrial allocations ----------------------------------------------------

def industry_year(actor, year: int) -> tuple[float, list[str]]:
    from allowances import balance_values, industry, selectors
    from allowances.models import AllocationPlan
    from mrv import selectors as mrv_selectors

    started = time.perf_counter()
    published = {}
    for sector in ("steel", "cement", "aluminium"):
        plan = AllocationPlan.objects.get(code=f"{sector}-{year}")
        published[sector] = balance_values.balance_value_publish(actor=actor, plan=plan, year=year)
    plans = selectors.industry_plans(year)
    rows = [r for r in mrv_selectors.verified_unit_data(year, sectors=list(plans)) if industry.is_industrial(r)]
    totals = industry.entity_sector_totals(rows)
    results = industry.true_up(plans, rows, totals)
    took = time.perf_counter() - started
    allocated = sum(amount for _row, amount, _lines in results[0])
    report = [f"  {s:>9}: BP {row.value} t/t from {row.solved_from['facilities']} facilities "
              f"({row.solved_from['exempt']} exempt, {row.solved_from['emissions_tco2']:,} t)"
              for s, row in published.items()]
    report.append(f"  allocations of {len(rows):,} industrial facilities: {allocated:,} t")
    return took, report


# ---- (c) the national run -----------------------------------------------------------------------------

def national_run(first, second, year: int) -> tuple[float, list[str]]:
    from django.db import transaction

    from allowances import services
    from allowances.models import AllocationRun, EntityAllocation

    total, report = 0.0, []
    for kind in ("pre_allocation", "true_up"):
        started = time.perf_counter()
        with transaction.atomic():
            run = services.run_start(actor=first, year=year, kind=kind)
        calculated = time.perf_counter()
        with transaction.atomic():
            services.run_approve(actor=second, run=AllocationRun.objects.get(pk=run.pk))
        done = time.perf_counter()
        run.refresh_from_db()
        assert run.status == "completed", run.status
        counts = {s: EntityAllocation.objects.filter(run=run, status=s).count()
                  for s in ("issued", "withdrawn", "obligation", "nothing")}
        total += done - started
        report.append(f"  {kind:>14}: calculate {calculated - started:.2f} s, approve + registry "
                      f"{done - calculated:.2f} s; {run.total_tco2:,} t; entities {counts}")
    return total, report


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    setup_django()
    reset()
    started = time.perf_counter()
    units = make_market(args.seed)
    make_verified(units, args.seed)
    analyze()
    first, second = regulators()
    print(f"set-up: {sum(MARKET.values()):,} entities ({', '.join(f'{s} {n:,}' for s, n in MARKET.items())}), "
          f"{sum(len(u) for u in units.values()):,} facilities "
          f"({', '.join(f'{s} {len(u):,}' for s, u in units.items())}), confirmed 2024 and 2025 "
          f"({time.perf_counter() - started:.1f} s, not timed)")
    ok = True
    for label, target, (took, report) in (
            ("(a) national month 2025-03 from four files", TARGET_UPLOAD_S, upload_month(first, units, args.seed)),
            ("(b) balance values + industrial allocations 2025", TARGET_INDUSTRY_S, industry_year(first, 2025)),
            ("(c) national allocation 2025, four sectors, with issuance", TARGET_RUN_S,
             national_run(first, second, 2025))):
        ok &= took < target
        print(f"{label}: {took:.2f} s (target < {target:.0f} s) {'OK' if took < target else 'MISSED'}")
        print("\n".join(report), flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
