"""Demo MRV data: monthly submissions of every demo unit from January 2024 to last month, and confirmed
verifications of 2024 and 2025 (so allocation and compliance have verified figures to show).

Idempotent: an entity-year that already has data is skipped. Loaded through the same bulk service as
uploads, so the figures are computed by the real accounting.
"""

import datetime as dt
import random
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from entities.models import AgencyAssignment

from . import early_warnings, services
from .models import MonthlySubmission, Verification, VerifiedUnitValue
from .selectors import month_deadline

HOURS = Decimal(730)


def _row(unit, year: int, month: int, rng: random.Random) -> dict:
    load = Decimal(str(round(rng.uniform(0.62, 0.86), 4)))
    generated = (unit.rated_power_mw * HOURS * load).quantize(Decimal("0.001"))
    supplied = (generated * Decimal("0.94")).quantize(Decimal("0.001"))
    heat = (generated * Decimal("1.5")).quantize(Decimal("0.001")) if unit.is_chp else Decimal(0)
    jitter = Decimal(str(round(rng.uniform(0.97, 1.03), 4)))
    if unit.main_fuel == "natural_gas":
        fuel = {"fuel": "natural_gas", "consumption": str((generated * Decimal("0.02") * jitter).quantize(
            Decimal("0.0001")))}
    else:
        fuel = {"fuel": unit.coal_type or "coal", "consumption": str((generated * Decimal("0.40") * jitter).quantize(
            Decimal("0.0001"))), "ncv": str(Decimal("20.9") + Decimal(rng.randrange(-40, 40)) / 100)}
        if year >= 2026:  # no seeded default from 2026: the rate comes from the national factor database
            fuel["oxidation_rate"] = "0.98"
    return {"unit": unit, "year": year, "month": month, "electricity_generated_mwh": str(generated),
            "electricity_supplied_mwh": str(supplied), "heat_supplied_gj": str(heat), "operating_hours": "700",
            "load_factor": str(load), "purchased_electricity_mwh": "0", "fuels": [fuel]}


def _at(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime(day.year, day.month, day.day, 10))


def seed(out, base) -> None:
    rng = random.Random(4)
    national = base["users"]["mee"]
    today = timezone.localdate()
    have = set(MonthlySubmission.objects.filter(entity__in=base["entities"]).values_list("entity_id", "year", "month"))
    created = 0
    periods = [(y, m) for y in range(2024, today.year + 1) for m in range(1, 13) if dt.date(y, m, 28) < today
               and month_deadline(y, m) - dt.timedelta(days=40) < today]
    for year, month in periods:
        rows = [_row(u, year, month, rng) for e in base["entities"] if (e.pk, year, month) not in have
                for u in e.units.order_by("code")]
        if not rows:
            continue
        # The demo's history was entered on time, ten days before each deadline (the first entity was late
        # once, in March of the current year, so the dashboard shows what lateness looks like).
        entered = min(today, month_deadline(year, month) - dt.timedelta(days=10))
        late = [r for r in rows if r["unit"].entity_id == base["entities"][0].pk and (year, month) == (today.year, 3)]
        for r in rows:  # one abnormal month (Guangzhou, February this year) for the warnings queue to show
            if r["unit"].entity_id == base["entities"][3].pk and (year, month) == (today.year, 2):
                r["load_factor"] = "0.15"
                r["fuels"][0]["consumption"] = str(Decimal(r["fuels"][0]["consumption"]) * 2)
        with transaction.atomic():
            if late:
                rows = [r for r in rows if r not in late]
                late_day = min(today, month_deadline(year, month) + dt.timedelta(days=5))
                created += services.submissions_bulk_load(actor=national, rows=late, today=late_day,
                                                          submitted_at=_at(late_day), run_rules=False)["created"]
            created += services.submissions_bulk_load(actor=national, rows=rows, today=entered,
                                                      submitted_at=_at(entered), run_rules=False)["created"]
    if created:  # the rules once over the loaded years, as the nightly task would
        for year in sorted({y for y, _m in periods}):
            early_warnings.warnings_run(year=year, today=today)
    verified = 0
    for entity in base["entities"]:
        for year in range(2024, today.year):
            if dt.date(year + 1, 6, 30) >= today or Verification.objects.filter(entity=entity, year=year).exists():
                continue
            with transaction.atomic():
                _verify(entity, year, base)
            verified += 1
    out.write(f"mrv: {created} monthly submissions, {verified} confirmed verifications")


def _verify(entity, year: int, base) -> None:
    """A confirmed verification of ``year`` with the months' sums as verified values."""
    agency = base["agency"]
    national = base["users"]["mee"]
    if not AgencyAssignment.objects.filter(entity=entity, year=year).exists():
        AgencyAssignment.objects.create(entity=entity, year=year, agency=agency, assigned_by=national)
    verification = Verification.objects.create(
        entity=entity, year=year, agency=agency, status=Verification.Status.CONFIRMED,
        submitted_by=base["users"]["verifier"], submitted_at=timezone.make_aware(dt.datetime(year + 1, 5, 20)),
        confirmed_by=national, confirmed_at=timezone.make_aware(dt.datetime(year + 1, 6, 20)),
        verified_emissions_tco2=Decimal(0))
    total = Decimal(0)
    for unit in entity.units.all():
        subs = list(MonthlySubmission.objects.filter(unit=unit, year=year, is_current=True))
        if not subs:
            continue
        generated = sum((s.electricity_generated_mwh for s in subs), Decimal(0))
        heat = sum((s.heat_supplied_gj for s in subs), Decimal(0))
        emissions = sum((s.emissions_tco2 for s in subs), Decimal(0))
        load = sum((s.load_factor or 0 for s in subs), Decimal(0)) / len(subs)
        ratio = heat / (heat + generated * Decimal("3.6")) if heat else Decimal(0)
        VerifiedUnitValue.objects.create(
            verification=verification, unit=unit, electricity_generated_mwh=generated,
            electricity_supplied_mwh=sum((s.electricity_supplied_mwh for s in subs), Decimal(0)),
            heat_supplied_gj=heat, load_factor=load.quantize(Decimal("0.0001")),
            heat_supply_ratio=ratio.quantize(Decimal("0.0001")), emissions_tco2=emissions)
        total += emissions
    verification.verified_emissions_tco2 = total
    verification.save(update_fields=["verified_emissions_tco2"])
