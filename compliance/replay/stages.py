"""The replay's stages: each drives the generated market through one app's real services and tasks.

Only ``master_data`` and ``test_reports`` write tables directly (what the generator owns: entities,
units, users, agencies and which one verifies whom, and the laboratories' CMA/CNAS test reports,
outside documents the entities cite). Every later stage calls the apps' services (``mrv.services``, ``mrv.reviews``,
``allowances.services`` and its jobs, ``registry.services``, ``trading`` and ``voluntary`` services,
``compliance`` services) as a user of the right role would, with the four-eyes pairs, the three
review tiers and the deadlines of the cycle.

Each stage declares the functions it needs (``module:attribute``). A stage whose service does not
exist yet is reported as "not available" with what is missing, never faked; a stage whose
prerequisite stage did not run is "skipped". Each stage is timed and counts the rows it stored and
the database transactions it committed, hence rows/s and tx/s.
"""

from __future__ import annotations

import datetime as dt
import importlib
import time
import traceback
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
import pandas as pd
from django.contrib.auth.hashers import make_password
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Count, F

from entities.credit_code import credit_code_make
from entities.models import AgencyAssignment, City, KeyEntity, Organisation, Province, Unit, User

from . import fleet as fleet_module

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


class NotAvailable(Exception):
    """A service the stage needs does not exist (yet) in the app that owns it."""


class Skipped(Exception):
    """A stage the current one builds on did not complete."""


def need(*names: str) -> list:
    """Import ``module:attr`` names; raise NotAvailable naming every one missing."""
    found, missing = [], []
    for name in names:
        module, _, attr = name.partition(":")
        try:
            obj = importlib.import_module(module)
            found.append(getattr(obj, attr) if attr else obj)
        except (ImportError, AttributeError):
            missing.append(name)
    if missing:
        raise NotAvailable("missing " + ", ".join(missing))
    return found


@dataclass
class StageResult:
    name: str
    status: str = "ok"  # ok | not available | skipped | failed
    reason: str = ""
    seconds: float = 0.0
    rows: int = 0
    transactions: int = 0
    details: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        def rate(n):
            return round(n / self.seconds, 1) if self.seconds > 0 and n else None

        return {"name": self.name, "status": self.status, "reason": self.reason, "seconds": round(self.seconds, 3),
                "rows": self.rows, "transactions": self.transactions, "rows_per_s": rate(self.rows),
                "tx_per_s": rate(self.transactions), "details": self.details}


@dataclass
class Context:
    """What the stages share: the generated fleet and the database ids and users it became."""

    fleet: fleet_module.Fleet
    years: list[int]
    entity_ids: dict = field(default_factory=dict)  # fleet entity key -> KeyEntity pk
    unit_ids: dict = field(default_factory=dict)  # unit code -> Unit pk
    users: dict = field(default_factory=dict)  # "national", "national2", ("province", code), ("city", code), ...
    entity_users: dict = field(default_factory=dict)  # KeyEntity pk -> User
    agency_users: dict = field(default_factory=dict)  # province code -> verifier User
    done: set = field(default_factory=set)
    state: dict = field(default_factory=dict)


def local_dt(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI)


# ---- 1. master data (the generator's tables) ------------------------------------------------------

def master_data(ctx: Context, res: StageResult) -> None:
    """Entities, units, users, agencies and test reports, written with bulk_create (generator-owned)."""
    f = ctx.fleet
    seed = f.seed
    if KeyEntity.objects.filter(credit_code__in=[_credit(seed, 0, "110100")]).exists() or \
            Unit.objects.filter(code__startswith=f"RP{seed}-").exists():
        raise RuntimeError(f"replay data of seed {seed} already in this database: replay on a fresh database")
    _require_no_other_market(ctx.years)
    provinces = {p.name_en: p.code for p in Province.objects.all()}
    capitals = {c.province_id: c.code for c in City.objects.all().order_by("code")
                if c.code.endswith("0100")}
    entities = []
    for row in f.entities.itertuples():
        code = provinces[row.province]
        entities.append(KeyEntity(
            name=f"{row.name} [replay {seed}]"[:200], name_en=f"{row.name}"[:200],
            credit_code=_credit(seed, int(row.entity), capitals[code]), province_id=code,
            city_id=capitals[code], inclusion_year=2019))
    with transaction.atomic():
        KeyEntity.objects.bulk_create(entities, batch_size=2000)
        by_code = dict(KeyEntity.objects.filter(credit_code__in=[e.credit_code for e in entities])
                       .values_list("credit_code", "pk"))
        ctx.entity_ids = {int(row.entity): by_code[e.credit_code] for row, e in zip(
            f.entities.itertuples(), entities, strict=True)}
        units = [Unit(entity_id=ctx.entity_ids[int(u.entity)], code=u.code, name=f"#{u.n}",
                      rated_power_mw=Decimal(str(u.capacity_mw)), main_fuel=u.fuel, coal_type=u.coal_type,
                      is_cfb=bool(u.is_cfb), cooling=u.cooling, is_chp=bool(u.is_chp),
                      commissioning_date=dt.date(int(u.start_year), 6, 30)) for u in f.units.itertuples()]
        Unit.objects.bulk_create(units, batch_size=2000)
        ctx.unit_ids = dict(Unit.objects.filter(code__startswith=f"RP{seed}-").values_list("code", "pk"))
        ctx.state["unit_entity"] = dict(Unit.objects.filter(code__startswith=f"RP{seed}-")
                                        .values_list("pk", "entity_id"))
        password = make_password(None)
        users = [User(username=f"rp{seed}-national", role=User.Role.NATIONAL_REGULATOR, password=password),
                 User(username=f"rp{seed}-national2", role=User.Role.NATIONAL_REGULATOR, password=password)]
        used = sorted({e.province_id for e in entities})
        users += [User(username=f"rp{seed}-prov-{p}", role=User.Role.PROVINCIAL_REGULATOR, province_id=p,
                       password=password) for p in used]
        users += [User(username=f"rp{seed}-city-{capitals[p]}", role=User.Role.MUNICIPAL_REGULATOR,
                       province_id=p, city_id=capitals[p], password=password) for p in used]
        users += [User(username=f"rp{seed}-entity-{pk}", role=User.Role.ENTITY, entity_id=pk, password=password)
                  for pk in ctx.entity_ids.values()]
        agencies = [Organisation(name=f"Verification agency {p} [replay {seed}]", kind="verification_agency",
                                 credit_code=_credit(seed, 90000 + int(p), capitals[p]), province_id=p)
                    for p in used]
        Organisation.objects.bulk_create(agencies)
        agency_ids = dict(Organisation.objects.filter(credit_code__in=[a.credit_code for a in agencies])
                          .values_list("province_id", "pk"))
        users += [User(username=f"rp{seed}-verifier-{p}", role=User.Role.VERIFIER, organisation_id=agency_ids[p],
                       password=password) for p in used]
        User.objects.bulk_create(users, batch_size=2000)
    _load_users(ctx)
    ctx.state["agency_ids"] = agency_ids
    assignments = _assignments(ctx)
    with transaction.atomic():
        AgencyAssignment.objects.bulk_create(assignments, batch_size=5000)
    res.rows = len(entities) + len(units) + len(users) + len(agencies) + len(assignments)
    res.transactions = 2
    cats = _category_check(ctx)
    res.details = {"entities": len(entities), "units": len(units), "users": len(users),
                   "provinces": len(used), "source": f.source, "category_mismatches": cats}


def _require_no_other_market(years: list[int]) -> None:
    """Refuse a database that already holds key entities covered in the replayed years.

    The true-up of a year waits for the confirmed verification of every active entity covered that
    year (``allowances.services.run_start``), market-wide, as the real one does. Entities the replay
    did not create (the demo market of ``seed_demo``, another seed's replay) have no verification of
    the replayed years, so a replay on such a database used to run for minutes and then stop at the
    true-up with "verification not confirmed" (``make replay`` ran on the demo's db.sqlite3). It is
    refused here, before anything is written, with the way out.
    """
    others = KeyEntity.objects.filter(status=KeyEntity.Status.ACTIVE, inclusion_year__lte=years[-1])
    if others.exists():
        raise RuntimeError(
            f"this database already holds {others.count()} active key entities covered in {years[-1]} (a demo "
            f"market or another replay): the true-up needs every covered entity's confirmed verification, so "
            f"replay on a fresh database (e.g. DATABASE_URL=sqlite:////tmp/replay.sqlite3 after migrate)")


def _credit(seed: int, index: int, city: str) -> str:
    return credit_code_make(f"91{city}R{seed % 1000:03d}{index:05d}")


def _load_users(ctx: Context) -> None:
    seed = ctx.fleet.seed
    for user in User.objects.filter(username__startswith=f"rp{seed}-"):
        name = user.username.split("-", 1)[1]
        if name in ("national", "national2"):
            ctx.users[name] = user
        elif name.startswith("prov-"):
            ctx.users[("province", user.province_id)] = user
        elif name.startswith("city-"):
            ctx.users[("city", user.city_id)] = user
        elif name.startswith("entity-"):
            ctx.entity_users[user.entity_id] = user
        elif name.startswith("verifier-"):
            ctx.agency_users[name.split("-")[1]] = user


def _category_check(ctx: Context) -> int:
    """The generator's categories against ``Unit.category_for`` (the system's rule): count of mismatches."""
    expected = dict(zip(ctx.fleet.units["code"], ctx.fleet.units["category"], strict=True))
    return sum(1 for u in Unit.objects.filter(code__startswith=f"RP{ctx.fleet.seed}-")
               if u.category_for(2021).category != expected[u.code])


def _assignments(ctx: Context) -> list:
    """Which agency verifies whom (one per province), for the baseline year and each replayed year.

    Part of the register the generator writes: through ``entities.services.agency_assign`` (one audited
    transaction each) this was 6,771 commits and 341 s of a 2,257-entity run on the 2-core machine,
    for a table that is master data of the market, not an act of the cycle.
    """
    agencies = ctx.state["agency_ids"]
    years = [ctx.years[0] - 1, *ctx.years]
    entities = KeyEntity.objects.filter(pk__in=ctx.entity_ids.values()).values_list("pk", "province_id")
    return [AgencyAssignment(year=year, entity_id=pk, agency_id=agencies[province],
                             assigned_by=ctx.users[("province", province)])
            for year in years for pk, province in entities]


# ---- 2. the baseline year (first cycle's verified data, needed by the first pre-allocation) ----------

def baseline_verification(ctx: Context, res: StageResult) -> None:
    """The previous cycle's last year, verified: agencies upload per-unit values, provinces confirm.

    The 2021 pre-allocation is computed from 2020 output, so the 2020 verified data must exist; they
    come from the generator's 2020 activity (the same calibration as the first replayed year).
    """
    submit, confirm = need("mrv.verifications:verification_submit", "mrv.verifications:verification_confirm")
    year = ctx.years[0] - 1
    act = fleet_module.baseline_year(ctx.fleet, year)
    _verify_entities(ctx, res, year, act, submit, confirm)


def replay_report(entity: KeyEntity, year: int) -> dict:
    """The agency's conclusion and signed report file for a replayed verification (a text stand-in)."""
    return {"conclusion": "unqualified",
            "report_file": ContentFile(f"Replayed verification of {entity.name} {year}".encode(),
                                       name=f"replay-{entity.pk}-{year}.txt")}


def _verify_entities(ctx, res, year, frame, submit, confirm) -> None:
    """``frame``: per unit (unit code, generated, supplied, heat, load factor, emissions)."""
    units = frame.assign(entity_pk=frame["unit"].map(lambda c: ctx.state["unit_entity"][ctx.unit_ids[c]]))
    entities = {e.pk: e for e in KeyEntity.objects.filter(pk__in=ctx.entity_ids.values())}
    total = Decimal(0)
    for entity_pk, rows in units.groupby("entity_pk", sort=True):
        entity = entities[int(entity_pk)]
        values = []
        for r in rows.itertuples():
            heat, gen = Decimal(f"{r.heat_gj:.3f}"), Decimal(f"{r.generated_mwh:.3f}")
            ratio = (heat / (heat + gen * Decimal("3.6"))).quantize(Decimal("0.0001")) if heat else Decimal(0)
            values.append({"unit": r.unit, "electricity_generated_mwh": gen,
                           "electricity_supplied_mwh": Decimal(f"{r.supplied_mwh:.3f}"), "heat_supplied_gj": heat,
                           "load_factor": Decimal(f"{r.load_factor:.4f}"), "heat_supply_ratio": ratio,
                           "emissions_tco2": Decimal(f"{r.emissions_tco2:.3f}")})
        verification = submit(actor=ctx.agency_users[entity.province_id], entity=entity, year=year,
                              unit_values=values, **replay_report(entity, year))
        confirm(actor=ctx.users[("province", entity.province_id)], verification=verification,
                today=dt.date(year + 1, 6, 20))
        total += verification.verified_emissions_tco2
        res.rows += len(values) + 1
        res.transactions += 2
    res.details.update({"year": year, "entities": int(units["entity_pk"].nunique()),
                        "verified_tco2": str(total)})


# ---- 3. monthly MRV: submissions, warnings, three-tier review, corrections ---------------------------

def test_reports(ctx: Context, res: StageResult, year: int) -> None:
    """The laboratories' reports of each unit-month's fuel sample (outside documents: bulk_create)."""
    (TestReport,) = need("mrv.models:TestReport")
    months = ctx.fleet.months[ctx.fleet.months["year"] == year]
    reports = []
    for r in months.itertuples():
        end = dt.date(year + (r.month == 12), r.month % 12 + 1, 1) - dt.timedelta(days=1)
        sample = end - dt.timedelta(days=3)
        reports.append(TestReport(
            entity_id=ctx.entity_ids[int(r.entity)], number=f"{r.unit}-{year}{r.month:02d}",
            laboratory="Replay coal laboratory", accreditation_number="CNAS L0000", sample_id=f"S-{r.unit}-{r.month}",
            sample_date=sample, report_date=sample + dt.timedelta(days=9),
            carbon_content=Decimal(f"{r.carbon_content:.6f}"), ncv=Decimal(f"{r.ncv:.4f}")))
    with transaction.atomic():
        TestReport.objects.bulk_create(reports, batch_size=5000)
    res.rows += len(reports)
    res.transactions += 1


def _row(ctx, r, *, typo: bool) -> dict:
    consumption = r.consumption * (10 if typo else 1)
    return {"unit_id": ctx.unit_ids[r.unit], "year": int(r.year), "month": int(r.month),
            "electricity_generated_mwh": f"{r.generated_mwh:.3f}", "electricity_supplied_mwh": f"{r.supplied_mwh:.3f}",
            "heat_supplied_gj": f"{r.heat_gj:.3f}", "operating_hours": f"{r.operating_hours:.2f}",
            "load_factor": f"{r.load_factor:.4f}", "purchased_electricity_mwh": "0",
            "fuels": [{"fuel": r.fuel, "consumption": f"{consumption:.4f}", "ncv": f"{r.ncv:.4f}",
                       "carbon_content": f"{r.carbon_content:.6f}", "oxidation_rate": f"{r.oxidation_rate:.4f}",
                       "test_report": f"{r.unit}-{int(r.year)}{int(r.month):02d}"}]}


def monthly_mrv(ctx: Context, res: StageResult, year: int) -> None:
    """Twelve months of data: on-time rows in one load per month (the window's uploads, loaded by the
    national regulator on the entities' behalf, which the audit entry records), late rows after the
    deadline, then warnings, the municipal tier returning the mistyped rows, the entities' corrected
    versions and the three tiers accepting them."""
    load, review = need("mrv.services:submissions_bulk_load", "mrv.reviews:submission_review")
    (MonthlySubmission, EarlyWarning) = need("mrv.models:MonthlySubmission", "mrv.models:EarlyWarning")
    test_reports(ctx, res, year)
    national = ctx.users["national"]
    months = ctx.fleet.months[ctx.fleet.months["year"] == year]
    typo_keys = set()
    for month in range(1, 13):
        part = months[months["month"] == month]
        for _late, batch in part.groupby("late"):
            day = max(batch["submitted_on"])
            rows = [_row(ctx, r, typo=bool(r.typo)) for r in batch.itertuples()]
            out = load(actor=national, rows=rows, today=day, submitted_at=local_dt(day))
            res.rows += out["created"] * 2
            res.transactions += 1
        typo_keys |= {(ctx.unit_ids[u], month) for u in part.loc[part["typo"], "unit"]}
    # The early warnings the rules raised on this year's rows.
    subs = MonthlySubmission.objects.filter(year=year, unit_id__in=ctx.unit_ids.values(), is_current=True)
    typo_subs = [s for s in subs.only("pk", "unit_id", "month", "entity_id", "status")
                 if (s.unit_id, s.month) in typo_keys]
    warned = set(EarlyWarning.objects.filter(submission_id__in=[s.pk for s in typo_subs])
                 .values_list("submission_id", flat=True))
    warnings_by_rule = dict(EarlyWarning.objects.filter(year=year, entity_id__in=ctx.entity_ids.values())
                            .values_list("rule__code").annotate(n=Count("id")).values_list("rule__code", "n"))
    # The municipal tier returns the mistyped rows; the entities correct them; three tiers accept.
    entities = {e.pk: e for e in KeyEntity.objects.filter(pk__in={s.entity_id for s in typo_subs})}
    for sub in typo_subs:
        sub.entity = entities[sub.entity_id]
        review(actor=ctx.users[("city", sub.entity.city_id)], submission=sub, accept=False,
               comment="Fuel consumption ten times the usual: check the unit (t, not 100 kg).")
        res.transactions += 1
    corrected = months[months["typo"]]
    corrected_ids = []
    for _month, batch in corrected.groupby("month"):
        day = max(batch["submitted_on"]) + dt.timedelta(days=7)
        out = load(actor=national, rows=[_row(ctx, r, typo=False) for r in batch.itertuples()], today=day,
                   submitted_at=local_dt(day))
        corrected_ids += out["ids"]
        res.rows += out["created"] * 2
        res.transactions += 1
    for sub in MonthlySubmission.objects.filter(pk__in=corrected_ids).select_related("entity"):
        for actor in (ctx.users[("city", sub.entity.city_id)], ctx.users[("province", sub.entity.province_id)],
                      national):
            sub = review(actor=actor, submission=sub, accept=True)
            res.transactions += 1
    late = int(subs.filter(on_time=False).count())
    res.details.update({
        "year": year, "submissions": int(subs.count()), "late": late,
        "on_time_rate": round(1 - late / max(1, subs.count()), 4), "mistyped": len(typo_subs),
        "mistyped_with_warning": len(warned), "warnings_by_rule": warnings_by_rule,
        "corrected_and_accepted": len(corrected_ids)})


# ---- 4. annual reports and verification ------------------------------------------------------------

def annual_reports(ctx: Context, res: StageResult, year: int) -> None:
    """Every entity compiles its year from its current monthly versions and submits it."""
    compile_, submit = need("mrv.services:annual_report_compile", "mrv.services:annual_report_submit")
    total = Decimal(0)
    for entity in KeyEntity.objects.filter(pk__in=ctx.entity_ids.values()).order_by("pk"):
        report = compile_(actor=ctx.entity_users[entity.pk], entity=entity, year=year)
        report = submit(actor=ctx.entity_users[entity.pk], report=report)
        total += report.emissions_tco2
        res.rows += 1
        res.transactions += 2
    res.details.update({"year": year, "reported_tco2": str(total)})


def verification(ctx: Context, res: StageResult, year: int) -> None:
    """Agencies verify each unit from the submitted report and the monthly data; provinces confirm."""
    submit, confirm = need("mrv.verifications:verification_submit", "mrv.verifications:verification_confirm")
    (AnnualReport, MonthlySubmission) = need("mrv.models:AnnualReport", "mrv.models:MonthlySubmission")
    rows = []
    reports = AnnualReport.objects.filter(year=year, status=AnnualReport.Status.SUBMITTED,
                                          entity_id__in=ctx.entity_ids.values())
    totals = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for unit_id, gen, hours, mw in MonthlySubmission.objects.filter(
            year=year, is_current=True, unit_id__in=ctx.unit_ids.values()).values_list(
            "unit_id", "electricity_generated_mwh", "operating_hours", "unit__rated_power_mw"):
        totals[unit_id][0] += gen
        totals[unit_id][1] += hours * mw
    for report in reports:
        for u in report.units:
            unit_id = ctx.unit_ids[u["unit"]]
            gen, cap_hours = totals[unit_id]
            rows.append({"unit": u["unit"], "generated_mwh": float(u["generated"]),
                         "supplied_mwh": float(u["supplied"]), "heat_gj": float(u["heat"]),
                         "load_factor": float(gen / cap_hours) if cap_hours else 0.0,
                         "emissions_tco2": float(u["emissions"])})
    frame = pd.DataFrame(rows)
    _verify_entities(ctx, res, year, frame, submit, confirm)


# ---- 5. allocation runs (pre-allocation, true-up) through the allowances jobs and the registry ------

def _wait(job, seconds: float = 3600) -> None:
    """Jobs run eagerly without a broker; with one, wait for the worker (the replay is then end-to-end)."""
    from cets.common.models import Job

    deadline = time.monotonic() + seconds
    while True:
        job.refresh_from_db()
        if job.status == Job.Status.SUCCEEDED:
            return
        if job.status == Job.Status.FAILED or time.monotonic() > deadline:
            raise RuntimeError(f"job {job.pk} {job.kind} {job.status}: {job.message}")
        time.sleep(0.5)


def allocation_run(ctx: Context, res: StageResult, year: int, kind: str) -> None:
    """A national regulator starts the run (a job computes it); a second one approves (a job issues)."""
    start, approve, _execute = need("allowances.services:run_start", "allowances.services:run_approve",
                                    "registry.services:allocation_execute")
    (EntityAllocation, UnitAllocation) = need("allowances.models:EntityAllocation", "allowances.models:UnitAllocation")
    run = start(actor=ctx.users["national"], year=year, kind=kind)
    _wait(run.calculate_job)
    run.refresh_from_db()
    run = approve(actor=ctx.users["national2"], run=run)
    _wait(run.issue_job)
    run.refresh_from_db()
    rows = EntityAllocation.objects.filter(run=run)
    res.rows = rows.count() + UnitAllocation.objects.filter(entity_allocation__run=run).count()
    res.transactions = 4 + (rows.count() + 499) // 500 * 2  # start, approve, issuance pair, chunks
    res.details.update({"year": year, "kind": kind, "status": run.status, "total_tco2": run.total_tco2,
                        "entities": rows.count()})
    ctx.state[f"run_{year}_{kind}"] = run.pk


def borrowing(ctx: Context, res: StageResult, year: int) -> None:
    """Entities short by more than the plan's threshold apply to borrow half their shortfall; provinces
    approve (deducted from the next year's allocation by the allowances runs) and the Ministry approves
    the issuance of the borrowed next-vintage CEAs the approval proposed, as the registry's approval
    queue would (before, the proposals stayed pending and the borrowers never received the CEAs)."""
    apply_, decide, approve = need("allowances.services:borrowing_apply", "allowances.services:borrowing_decide",
                                   "registry.services:transaction_approve")
    from allowances.models import EntityAllocation
    from cets.common.errors import DomainError
    from registry.models import Transaction

    short = EntityAllocation.objects.filter(run_id=ctx.state[f"run_{year}_true_up"],
                                            verified_emissions_tco2__isnull=False).select_related("entity")
    applied = refused = 0
    for ea in short:
        shortfall = ea.verified_emissions_tco2 - ea.allocation_tco2
        if shortfall <= ea.verified_emissions_tco2 * Decimal("0.10"):
            continue
        try:
            application = apply_(actor=ctx.entity_users[ea.entity_id], entity=ea.entity, year=year,
                                 requested_tco2=int(shortfall * Decimal("0.5")))
        except DomainError as exc:
            refused += 1
            res.details.setdefault("refusals", []).append(f"{ea.entity_id}: {exc}")
            continue
        application = decide(actor=ctx.users[("province", ea.entity.province_id)], application=application,
                             approve=True)
        approve(actor=ctx.users["national2"],
                transaction=Transaction.objects.get(pk=int(application.issuance_reference)))
        ctx.state.setdefault("borrowing_log", []).append(
            {"entity": ea.entity_id, "year": year, "quantity": application.requested_tco2})
        applied += 1
        res.transactions += 3
        res.rows += 1
    res.details.update({"year": year, "approved": applied, "refused": refused})


# ---- 6. obligations, trading, surrender, closing ----------------------------------------------------

def _cycle():
    (cycle_get,) = need("compliance.selectors:cycle_get")
    return cycle_get("2021-2022")


def obligations(ctx: Context, res: StageResult) -> None:
    """The national regulator computes every entity's obligation of each year from confirmed data."""
    (calculate,) = need("compliance.services:obligations_calculate")
    cycle = _cycle()
    for year in ctx.years:
        out = calculate(actor=ctx.users["national"], cycle=cycle, year=year, entity_ids=list(ctx.entity_ids.values()))
        res.rows += out["created"] + out["updated"]
        res.transactions += 1
        res.details[str(year)] = out


def individual_relief(ctx: Context, res: StageResult) -> None:
    """Individual relief for entities with a public-welfare task (winter heat supply), four-eyes.

    The 2021-22 plan let entities undertaking major public-welfare tasks ask for tailored relief; with
    borrowing it is what the report counts as the flexible mechanisms that "helped 202 key emitting
    entities" (plan relief, the gas top-up and the 20% cap, is part of every allocation and is not
    counted there). Here: among entities with a CHP unit, short after the true-up in a year and not
    borrowing, the ``fleet.RELIEF_SHARE`` most short (by shortfall over verified emissions) are relieved
    of their shortfall in their shortest year; the province proposes, the Ministry approves.
    """
    propose, decide = need("compliance.services:relief_propose", "compliance.services:relief_decide")
    from compliance.models import Obligation

    chp = set(Unit.objects.filter(entity_id__in=ctx.entity_ids.values(), is_chp=True)
              .values_list("entity_id", flat=True))
    borrowers = {row["entity"] for row in ctx.state.get("borrowing_log", [])}
    best = {}
    for o in Obligation.objects.filter(entity_id__in=chp - borrowers, year__in=ctx.years, borrowed_tco2=0,
                                       allocation_tco2__lt=F("verified_emissions_tco2")).select_related("entity"):
        share = (o.verified_emissions_tco2 - o.allocation_tco2) / o.verified_emissions_tco2
        if share > best.get(o.entity_id, (0, None))[0]:
            best[o.entity_id] = (share, o)
    wanted = round(fleet_module.RELIEF_SHARE * len(ctx.entity_ids))
    chosen = sorted(best.values(), key=lambda pair: (-pair[0], pair[1].entity_id))[:wanted]
    log = ctx.state.setdefault("relief_log", [])
    for _share, o in chosen:
        quantity = o.verified_emissions_tco2 - o.allocation_tco2
        decision = propose(actor=ctx.users[("province", o.entity.province_id)], obligation=o, quantity=quantity,
                           reason=f"Winter heat supply to residents in {o.year} (public-welfare task)")
        decide(actor=ctx.users["national"], decision=decision, approve=True)
        log.append({"entity": o.entity_id, "year": o.year, "quantity": quantity})
        res.transactions += 2
        res.rows += 1
    res.details.update({"candidates": len(best), "relieved": len(log), "relief_tco2": sum(r["quantity"] for r in log)})


def _holdings(entity_ids, vintages: list[int]) -> dict:
    """{entity pk: {vintage: available}} read through the registry's selectors (one grouped query: per
    entity and vintage it cost 40 s for 3,378 entities and six vintages, five times a replay)."""
    from registry import selectors as registry_selectors
    from registry import services as registry

    instruments = {v: registry.instrument_get_or_create_cea(vintage=v) for v in vintages}
    ids = list(KeyEntity.objects.filter(pk__in=list(entity_ids)).values_list("pk", flat=True))
    balances = registry_selectors.entity_balances(entity_ids=ids, instruments=instruments.values())
    return {pk: {v: balances[pk][i.pk].available if i.pk in balances.get(pk, {}) else 0
                 for v, i in instruments.items()} for pk in ids}


CCER_TARGET_TCO2 = 3_720_000  # the report's offsets of the cycle, scaled by entities / 2,257
COASTAL = ["32", "37", "44", "35"]  # Jiangsu, Shandong, Guangdong, Fujian: offshore wind


def ccer(ctx: Context, res: StageResult) -> None:
    """Offshore wind CCER projects go through the voluntary market's whole cycle (registry admits the
    owners and VVBs; design disclosed 20 working days, validated, registered; monitoring report for
    2021-22 verified by another VVB, disclosed, registered and issued); the owners transfer credits to
    short entities, up to 5% of their 2022 obligation, which they cancel when they surrender. Each
    step runs on its business date (``voluntary.clock.frozen``)."""
    (register_org, create, upload, publish, validate, apply_, register, report_create, report_submit, verify,
     report_apply, report_register, transfer) = need(
        "voluntary.services:organisation_register", "voluntary.services:project_create",
        "voluntary.services:document_upload", "voluntary.services:project_publish",
        "voluntary.services:project_validate", "voluntary.services:project_apply",
        "voluntary.services:project_register", "voluntary.services:report_create",
        "voluntary.services:report_submit", "voluntary.services:report_verify", "voluntary.services:report_apply",
        "voluntary.services:report_register", "voluntary.services:ccer_transfer")
    from django.core.files.uploadedfile import SimpleUploadedFile

    from compliance.models import Obligation
    from registry import services as registry
    from voluntary.clock import frozen
    from voluntary.models import Methodology

    seed, national = ctx.fleet.seed, ctx.users["national"]
    methodology = Methodology.objects.get(code="CCER-01-002-V01")
    target = CCER_TARGET_TCO2 * len(ctx.entity_ids) / fleet_module.NATIONAL_ENTITIES
    n_projects = max(1, round(target / 1_000_000))
    password = make_password(None)

    def pdf(name):
        return SimpleUploadedFile(name, b"%PDF-1.4 replay document", content_type="application/pdf")

    with frozen(dt.date(2021, 2, 1)):
        vvbs = []
        for i in range(2):
            org = register_org(actor=national, kind="vvb", name=f"Replay VVB {i} [{seed}]",
                               credit_code=_credit(seed, 95000 + i, "110100"), province_id="11",
                               accreditations=[{"scope": "CCER sector 01", "number": f"RP-VVB-{seed}-{i}",
                                                "valid_from": dt.date(2020, 1, 1), "valid_to": dt.date(2030, 12, 31)}])
            vvbs.append((org, User.objects.create(username=f"rp{seed}-vvb-{i}", role=User.Role.VVB,
                                                  organisation=org, password=password)))
            res.transactions += 1
    issued = []
    for i in range(n_projects):
        province = COASTAL[i % len(COASTAL)]
        with frozen(dt.date(2021, 2, 1)):
            owner_org = register_org(actor=national, kind="project_owner", name=f"Replay offshore wind {i} [{seed}]",
                                     credit_code=_credit(seed, 96000 + i, "110100"), province_id=province)
            owner = User.objects.create(username=f"rp{seed}-owner-{i}", role=User.Role.PROJECT_OWNER,
                                        organisation=owner_org, password=password)
            project = create(actor=owner, methodology=methodology, validator=vvbs[0][0],
                             title=f"海上风电 {i} [replay {seed}]", site=f"Offshore block {seed}-{i}",
                             province_id=province, capacity=Decimal("400"), construction_start=dt.date(2019, 6, 1),
                             crediting_start=dt.date(2021, 1, 1), crediting_end=dt.date(2030, 12, 31),
                             parameters={"grid_connected": True, "offshore_distance_km": 45, "water_depth_m": 35})
            upload(actor=owner, project=project, kind="design", upload=pdf("design.pdf"))
            project = publish(actor=owner, project=project)
        with frozen(dt.date(2021, 3, 15)):
            upload(actor=vvbs[0][1], project=project, kind="validation", upload=pdf("validation.pdf"))
            project = validate(actor=vvbs[0][1], project=project, positive=True, conclusion="Meets CCER-01-002-V01.")
            project = apply_(actor=owner, project=project)
            project = register(actor=national, project=project)
        per_project = target / n_projects
        with frozen(dt.date(2023, 2, 1)):
            ef_cm = Decimal("0.7")  # the owner's estimate; the registered quantity is the methodology's figure
            report = report_create(actor=owner, project=project, verifier=vvbs[1][0], period_start=dt.date(2021, 1, 1),
                                   period_end=dt.date(2022, 12, 31),
                                   net_export_mwh=Decimal(f"{per_project / float(ef_cm):.3f}"))
            upload(actor=owner, project=project, kind="monitoring", upload=pdf("monitoring.pdf"), report=report)
            report = report_submit(actor=owner, report=report)
            upload(actor=vvbs[1][1], project=project, kind="verification", upload=pdf("verification.pdf"),
                   report=report)
            report = verify(actor=vvbs[1][1], report=report, verified_net_export_mwh=report.net_export_mwh)
        with frozen(dt.date(2023, 3, 15)):
            report = report_apply(actor=owner, report=report)
            issued += [(owner, i) for i in report_register(actor=national, report=report)]
        res.transactions += 16
    # Owners transfer credits to short entities, up to 5% of their 2022 obligation.
    obligations = sorted(Obligation.objects.filter(entity_id__in=ctx.entity_ids.values(), year=ctx.years[-1]),
                         key=lambda o: -(o.verified_emissions_tco2 - o.allocation_tco2))
    plan, uses = ctx.state.setdefault("ccer_plan", {}), ctx.state.setdefault("ccer_uses", [])
    pool = [[owner, issuance.instrument_code, issuance.quantity] for owner, issuance in issued]
    with frozen(dt.date(2023, 4, 10)):
        for o in obligations:
            if not pool or o.verified_emissions_tco2 <= o.allocation_tco2:
                break
            want = int(o.quantity_tco2 * Decimal("0.05"))
            account = registry.account_for_entity(entity=o.entity)
            while want > 0 and pool:
                owner, code, left = pool[0]
                take = min(want, left)
                transfer(actor=owner, instrument_code=code, to_account=account.number, quantity=take)
                uses.append({"entity": o.entity_id, "year": o.year, "instrument": code, "quantity": take})
                plan[(o.entity_id, o.year)] = plan.get((o.entity_id, o.year), 0) + take
                want -= take
                pool[0][2] -= take
                if pool[0][2] == 0:
                    pool.pop(0)
                res.transactions += 1
    # The registry's delay on transfers to untrusted accounts runs on the wall clock (the replay's
    # business dates are historical): the periodic task is run as it would be once the delay passed.
    executed = registry.transfers_execute_due(now=dt.datetime.now(SHANGHAI) + dt.timedelta(days=7))
    res.rows = len(issued) + len(uses)
    res.details.update({"projects": n_projects, "issued_tco2": sum(i.quantity for _o, i in issued),
                        "transferred_tco2": sum(u["quantity"] for u in uses), "entities": len(plan),
                        "delayed_transfers_executed": executed})


# Entities that trade for reasons other than their own shortfall (the national run with needs only traded
# 161 Mt for CNY 10.9 bn; the report: 263 Mt, 17.26 bn). A seeded ROUND_TRIP_SHARE of entities sell a
# share U(ROUND_TRIP_FRACTION) of one vintage of what they hold (less what they sell to short entities)
# in 2022 or the first half of 2023, for cash or to rebalance, and buy the same quantity back before the
# deadline; the counterparty is another entity of the same province (a group company holding it in the
# meantime), so lots of 100,000 t and more are mostly bulk agreements. Expected volume: 2 legs x 0.25 x
# 5% x ~5.1 Gt of one vintage held at trading time = ~128 Mt (GEM fleet, seed 1: 121 Mt), which with the
# ~135 Mt short entities buy gives the report's order of magnitude; bought back at the higher prices of
# the autumn of 2023, they average ~64 yuan/t.
ROUND_TRIP_SHARE = 0.25
ROUND_TRIP_FRACTION = (0.01, 0.09)


def round_trip_lots(holdings: dict, lots: list[dict], provinces: dict, seed: int) -> list[dict]:
    """``holdings`` {entity pk: {vintage: held}}, ``lots`` the need lots, ``provinces`` {entity pk: code}.
    Returns pairs of lots ``{buyer, seller, vintage, quantity, pair, leg}`` (leg "early" then "late", the
    late one returning the quantity to the entity that sold it). An entity sells only what it holds beyond
    what it already sells to short entities, so every leg is covered whatever the order of the days."""
    rng = np.random.default_rng(seed + 23)
    free = {e: dict(held) for e, held in holdings.items()}
    for lot in lots:
        free[lot["seller"]][lot["vintage"]] -= lot["quantity"]
    entities = sorted(holdings)
    by_province = defaultdict(list)
    for e in entities:
        by_province[provinces[e]].append(e)
    chosen = rng.permutation(entities)[:round(ROUND_TRIP_SHARE * len(entities))]
    out = []
    for pair, entity in enumerate(sorted(int(e) for e in chosen)):
        vintage = int(rng.choice(sorted(free[entity])))
        quantity = int(free[entity][vintage] * rng.uniform(*ROUND_TRIP_FRACTION))
        peers = [e for e in by_province[provinces[entity]] if e != entity] or [e for e in entities if e != entity]
        if quantity <= 0 or not peers:
            continue
        peer = int(peers[int(rng.integers(0, len(peers)))])
        out += [{"buyer": peer, "seller": entity, "vintage": vintage, "quantity": quantity, "pair": pair,
                 "leg": "early"},
                {"buyer": entity, "seller": peer, "vintage": vintage, "quantity": quantity, "pair": pair,
                 "leg": "late"}]
    return out


def trading_plan(ctx: Context) -> list[dict]:
    """Who buys and who sells what: entities short of their obligation buy (less what they will not
    surrender on time), entities long sell their surplus; 2021 needs CEA21, 2022 needs CEA22 or CEA21.
    Then the round trips of ``round_trip_lots``. Returns lots ``{buyer, seller, vintage, quantity}``
    (entity pks), the need lots largest first, then the round-trip pairs."""
    from compliance.models import Obligation

    behaviour = fleet_module.surrender_behaviour(ctx.fleet).set_index(["entity", "year"])
    key_of = {pk: key for key, pk in ctx.entity_ids.items()}
    holdings = _holdings(ctx.entity_ids.values(), ctx.years)
    owed = defaultdict(dict)
    for o in Obligation.objects.filter(entity_id__in=ctx.entity_ids.values(), year__in=ctx.years):
        share = behaviour.loc[(key_of[o.entity_id], o.year), "on_time_share"]
        owed[o.entity_id][o.year] = int(o.remaining_tco2 * share) - ctx.state.get("ccer_plan", {}).get(
            (o.entity_id, o.year), 0)
    needs, supply = [], defaultdict(list)
    for entity_id, held in holdings.items():
        spare = dict(held)
        short = {}
        for year in ctx.years:  # a year uses its own vintage first, then an earlier one
            want = max(0, owed[entity_id].get(year, 0))
            for vintage in sorted((v for v in spare if v <= year), reverse=True):
                use = min(want, spare[vintage])
                spare[vintage] -= use
                want -= use
            short[year] = want
        for year, want in short.items():
            if want > 0:
                needs.append((want, entity_id, year))
        for vintage, qty in spare.items():
            if qty > 0:
                supply[vintage].append([qty, entity_id])
    lots = []
    for vintage in supply:
        supply[vintage].sort(reverse=True)
    for want, buyer, year in sorted(needs, reverse=True):
        for vintage in sorted((v for v in supply if v <= year), reverse=True):
            for offer in supply[vintage]:
                if want == 0:
                    break
                take = min(want, offer[0])
                if take > 0 and offer[1] != buyer:
                    lots.append({"buyer": buyer, "seller": offer[1], "vintage": vintage, "quantity": take})
                    offer[0] -= take
                    want -= take
    ctx.state["unmatched_need_tco2"] = sum(n[0] for n in needs) - sum(lot["quantity"] for lot in lots)
    provinces = dict(KeyEntity.objects.filter(pk__in=list(holdings)).values_list("pk", "province_id"))
    return lots + round_trip_lots(holdings, lots, provinces, ctx.fleet.seed)


def trading(ctx: Context, res: StageResult) -> None:
    """Listed and bulk agreement trading from 2022 to December 2023 through the exchange's services:
    participants opened, buyers' cash deposited, sellers list and buyers take (lots under 100,000 t),
    bulk proposals confirmed by the counterparty (100,000 t and more, 80% of the volume), every
    trading day closed (closing price, bars, expiry, surveillance)."""
    from cets.common.calendar import is_trading_day
    from trading.models import Product

    seed = ctx.fleet.seed
    rng = np.random.default_rng(seed + 17)
    lots = trading_plan(ctx)
    products = {p.vintage: p for p in Product.objects.filter(vintage__in=ctx.years)}
    days = [d for d in (dt.date(2022, 3, 1) + dt.timedelta(days=i) for i in range(0, 650))
            if d <= dt.date(2023, 12, 20) and is_trading_day(d)]
    # Peak in August-October 2023 (the report): later days weigh more.
    weights = np.array([3.0 if dt.date(2023, 8, 1) <= d <= dt.date(2023, 10, 31) else 1.0 for d in days])
    n_days = min(len(days), max(8, min(80, len(lots) // 4 + 1)))
    picked = sorted(rng.choice(len(days), size=n_days, replace=False, p=weights / weights.sum()))
    trading_days = [days[i] for i in picked]
    schedule = defaultdict(list)
    # A round trip sells on a day before July 2023 (the low, flat prices) and buys back on a later one.
    early_days = [i for i, d in enumerate(trading_days[:-1]) if d < dt.date(2023, 7, 1)] or list(range(n_days - 1))
    sold_on = {}
    for lot in lots:
        if lot.get("leg") == "early":
            sold_on[lot["pair"]] = day = int(rng.choice(early_days))
        elif lot.get("leg") == "late":
            day = int(rng.integers(sold_on[lot["pair"]] + 1, n_days))
        else:
            day = int(rng.integers(0, n_days))
        schedule[day].append(lot)
    # Cash: what each buyer's purchases could cost at the highest price of the path, plus fees.
    execute_lots(ctx, res, lots, schedule, trading_days, products, fleet_module.next_price, top=82 * 1.04 * 1.32,
                 rng=rng, staff_name="exchange")
    res.details.update({"lots": len(lots), "trading_days": n_days,
                        "unmatched_need_tco2": ctx.state["unmatched_need_tco2"],
                        "planned_tco2": sum(lot["quantity"] for lot in lots),
                        "round_trip_tco2": sum(lot["quantity"] for lot in lots if "leg" in lot)})


def execute_lots(ctx: Context, res: StageResult, lots: list[dict], schedule: dict, trading_days: list,
                 products: dict, next_price, *, top: float, rng, staff_name: str) -> None:
    """Trade ``lots`` ({buyer, seller, vintage, quantity}) on the exchange: participants opened, buyers'
    cash deposited (``top`` yuan a tonne), then on each day of ``trading_days`` the lots of ``schedule[index]``
    as bulk agreements (100,000 t and more, 85% of them) or listed orders (lots under 100,000 t), each
    day closed (closing price, bars, expiry, surveillance). ``next_price(close, day, rng)`` moves the price."""
    (open_, deposit, place, propose, confirm, close) = need(
        "trading.services:participant_open", "trading.services:cash_deposit", "trading.services:order_place",
        "trading.services:bulk_propose", "trading.services:bulk_confirm", "trading.services:session_close")
    from django.db import IntegrityError

    from cets.common.errors import DomainError
    from registry import services as registry

    seed = ctx.fleet.seed
    staff = User.objects.create(username=f"rp{seed}-{staff_name}", role=User.Role.EXCHANGE_STAFF,
                                password=make_password(None))
    accounts = ctx.state.setdefault("trading_accounts", {})  # opened once, traded in later years too
    for entity in KeyEntity.objects.filter(pk__in={x for lot in lots for x in (lot["buyer"], lot["seller"])}):
        if entity.pk not in accounts:
            accounts[entity.pk] = open_(actor=staff, registry_account=registry.account_for_entity(entity=entity),
                                        entity=entity)
            res.transactions += 1
    spend = defaultdict(int)
    for lot in lots:
        spend[lot["buyer"]] += lot["quantity"]
    for buyer, qty in spend.items():
        deposit(actor=staff, account=accounts[buyer], amount=Decimal(f"{qty * top * 1.001 + 100:.2f}"),
                bank_reference=f"RP{seed}-{staff_name}-DEP-{buyer}")
        res.transactions += 1
    trades = 0
    errors = []
    log = ctx.state.setdefault("trade_log", [])
    for index, day in enumerate(trading_days):
        prices = {}
        for vintage in products:
            products[vintage].refresh_from_db()
            close_price = float(products[vintage].previous_close)
            prices[vintage] = Decimal(f"{next_price(close_price, day, rng):.2f}")
        for lot in sorted(schedule[index], key=lambda x: -x["quantity"]):
            product = products[lot["vintage"]]
            buyer, seller = accounts[lot["buyer"]], accounts[lot["seller"]]
            buyer_user, seller_user = ctx.entity_users[lot["buyer"]], ctx.entity_users[lot["seller"]]
            price = prices[lot["vintage"]]
            remaining = lot["quantity"]
            if remaining >= product.bulk_min_quantity and rng.random() < 0.85:
                bulk_price = Decimal(f"{float(price) * rng.uniform(0.96, 1.04):.2f}")
                at = local_dt(day, 13) + dt.timedelta(minutes=int(rng.integers(0, 100)))
                try:
                    proposal = propose(user=seller_user, account=seller, counterparty=buyer, product=product,
                                       side="SELL", price=bulk_price, quantity=remaining, now=at)
                    confirm(user=buyer_user, proposal=proposal, now=at + dt.timedelta(minutes=5))
                except (DomainError, IntegrityError) as exc:
                    errors.append(f"{day} bulk {lot}: {type(exc).__name__}: {exc}")
                    continue
                log.append({"day": day, "vintage": lot["vintage"], "method": "bulk", "quantity": remaining,
                            "price": float(bulk_price)})
                res.transactions += 2
                trades += 1
                continue
            at = local_dt(day, 9) + dt.timedelta(minutes=31 + int(rng.integers(0, 110)))
            while remaining > 0:
                qty = min(remaining, int(product.bulk_min_quantity) - 1, int(rng.integers(5_000, 99_999)))
                remaining -= qty
                try:
                    place(user=seller_user, account=seller, product=product, side="SELL", price=price, quantity=qty,
                          now=at)
                    _order, fills = place(user=buyer_user, account=buyer, product=product, side="BUY", price=price,
                                          quantity=qty, now=at)
                except (DomainError, IntegrityError) as exc:
                    errors.append(f"{day} listed {qty} t of {lot}: {type(exc).__name__}: {exc}")
                    continue
                log += [{"day": day, "vintage": lot["vintage"], "method": "listed", "quantity": t.quantity,
                         "price": float(t.price)} for t in fills]
                res.transactions += 2
                trades += len(fills)
        close(day=day, now=local_dt(day, 15) + dt.timedelta(minutes=5))
        res.transactions += 1
    res.rows += trades
    if errors:
        res.status, res.reason = "failed", f"{len(errors)} trade(s) refused; first: {errors[0]}"
        res.details["errors"] = errors[:20]
    res.details["participants"] = len(accounts)


def surrender_stage(ctx: Context, res: StageResult) -> None:
    """Each entity surrenders by the deadline (most before the 95% milestone); stragglers cover only
    part on time, half of them the rest after the deadline, the others never."""
    (surrender,) = need("compliance.services:surrender")
    from cets.common.errors import DomainError
    from compliance.models import Obligation
    from compliance.selectors import cycle_get

    cycle = cycle_get("2021-2022")
    behaviour = fleet_module.surrender_behaviour(ctx.fleet).set_index(["entity", "year"])
    key_of = {pk: key for key, pk in ctx.entity_ids.items()}
    rng = np.random.default_rng(ctx.fleet.seed + 19)
    refused = []
    late_steps = []
    slog = ctx.state.setdefault("surrender_log", [])
    holdings = _holdings(ctx.entity_ids.values(), ctx.years)  # read once, then kept up to date below
    for o in Obligation.objects.filter(entity_id__in=ctx.entity_ids.values(), year__in=ctx.years).order_by(
            "year", "entity_id").select_related("entity"):
        b = behaviour.loc[(key_of[o.entity_id], o.year)]
        held = holdings[o.entity_id]
        on_time = int(o.remaining_tco2 * float(b["on_time_share"]))
        day = cycle.milestone_date - dt.timedelta(days=int(rng.integers(1, 60))) if rng.random() < 0.96 else \
            cycle.deadline - dt.timedelta(days=int(rng.integers(0, 40)))
        offsets = [u for u in ctx.state.get("ccer_uses", []) if (u["entity"], u["year"]) == (o.entity_id, o.year)]
        items = [{"kind": "ccer", "instrument": u["instrument"], "quantity": u["quantity"]} for u in offsets]
        items += _cea_items(max(0, on_time - sum(u["quantity"] for u in offsets)), held, o.year)
        if items:
            try:
                surrender(actor=ctx.entity_users[o.entity_id], obligation=o, items=items, on_date=day)
                slog += [{"entity": o.entity_id, "year": o.year, "quantity": i["quantity"], "on_date": day,
                          "kind": i["kind"]} for i in items]
                res.transactions += 1
                res.rows += len(items)
            except DomainError as exc:
                refused.append(f"{o.entity_id}/{o.year}: {exc}")
                _give_back(held, items)
        if b["completes_late"]:
            late_steps.append(o.pk)
    for pk in late_steps:
        o = Obligation.objects.select_related("entity").get(pk=pk)
        items = _cea_items(o.remaining_tco2, holdings[o.entity_id], o.year)
        if items:
            try:
                day = cycle.deadline + dt.timedelta(days=20)
                surrender(actor=ctx.entity_users[o.entity_id], obligation=o, items=items, on_date=day)
                slog += [{"entity": o.entity_id, "year": o.year, "quantity": i["quantity"], "on_date": day,
                          "kind": i["kind"]} for i in items]
                res.transactions += 1
                res.rows += len(items)
            except DomainError as exc:
                refused.append(f"{o.entity_id}/{o.year} late: {exc}")
                _give_back(holdings[o.entity_id], items)
    res.details.update({"refused": len(refused), "refusals": refused[:10], "late_completions": len(late_steps)})


def surrender_refusals(out: dict, requests: list[dict], holdings: dict, res: StageResult) -> list[str]:
    """Count what ``compliance.surrender_bulk`` did into ``res`` (its batches are the database transactions)
    and give back the CEAs of the refused requests; return the refusals as text."""
    from compliance.surrender_bulk import BATCH

    refused = {r["obligation"]: f"{r['obligation']}: {r['message']}" for r in out["refused"]}
    for request in requests:
        if request["obligation"].pk in refused:
            _give_back(holdings[request["obligation"].entity_id], request["items"])
    res.rows += sum(len(steps) for steps in out["steps"].values())
    res.transactions += (len(requests) + BATCH - 1) // BATCH
    return list(refused.values())


def _give_back(held: dict, items: list[dict]) -> None:
    """A refused surrender moved nothing: its CEAs are still held."""
    for item in items:
        if item["kind"] == "cea":
            held[item["vintage"]] += item["quantity"]


def _cea_items(quantity: int, held: dict, year: int) -> list[dict]:
    """CEAs of the year's vintage first, then earlier ones, up to what is held (``held`` is reduced)."""
    items = []
    for vintage in sorted((v for v in held if v <= year), reverse=True):
        take = min(quantity, held[vintage])
        if take > 0:
            items.append({"kind": "cea", "vintage": vintage, "quantity": take})
            held[vintage] -= take
            quantity -= take
    return items


def cycle_closing(ctx: Context, res: StageResult) -> None:
    """The national regulator closes the cycle: a job closes every obligation in chunks."""
    (close,) = need("compliance.services:cycle_close")
    from compliance.models import Obligation

    job = close(actor=ctx.users["national"], cycle=_cycle())
    _wait(job)
    res.rows = Obligation.objects.filter(entity_id__in=ctx.entity_ids.values()).count()
    res.transactions = (res.rows + 999) // 1000 + 2
    job.refresh_from_db()
    res.details.update({"job": job.pk, "result": job.result})


# The cycle, in the order the real one ran. (name, function, args, prerequisite stage names)
def plan(years: list[int]) -> list[tuple]:
    first, last = years[0], years[-1]
    steps = [("master data", master_data, (), []),
             (f"baseline verification {first - 1}", baseline_verification, (), ["master data"]),
             (f"pre-allocation {first}", allocation_run, (first, "pre_allocation"),
              [f"baseline verification {first - 1}"])]
    for year in years:
        steps += [(f"monthly MRV {year}", monthly_mrv, (year,), ["master data"]),
                  (f"annual reports {year}", annual_reports, (year,), [f"monthly MRV {year}"]),
                  (f"verification {year}", verification, (year,), [f"annual reports {year}"]),
                  (f"true-up {year}", allocation_run, (year, "true_up"), [f"verification {year}"]),
                  (f"borrowing {year}", borrowing, (year,), [f"true-up {year}"])]
        if year != last:
            steps.append((f"pre-allocation {year + 1}", allocation_run, (year + 1, "pre_allocation"),
                          [f"verification {year}", f"borrowing {year}"]))
    true_ups = [f"true-up {year}" for year in years]
    steps += [("obligations", obligations, (), true_ups),
              ("individual relief", individual_relief, (), ["obligations"]),
              ("CCER projects and offsets", ccer, (), ["obligations"]),
              ("trading", trading, (), ["obligations"]),
              ("surrender", surrender_stage, (), ["obligations"]),
              ("cycle closing", cycle_closing, (), ["surrender"])]
    return steps


def run_stages(ctx: Context, steps: list[tuple], log=print) -> list[StageResult]:
    """Run each stage in order; report every one (ok, not available, skipped, failed) with its time."""
    results = []
    for name, fn, args, requires in steps:
        res = StageResult(name)
        started = time.perf_counter()
        try:
            missing = [r for r in requires if r not in ctx.done]
            if missing:
                raise Skipped("needs " + ", ".join(missing))
            fn(ctx, res, *args)
            ctx.done.add(name)  # a stage that reported its own failure still left data for the next ones
        except NotAvailable as exc:
            res.status, res.reason = "not available", str(exc)
        except Skipped as exc:
            res.status, res.reason = "skipped", str(exc)
        except Exception as exc:  # a failed stage is reported and makes the replay fail, the rest goes on
            res.status, res.reason = "failed", f"{type(exc).__name__}: {exc}"
            res.details["traceback"] = [f"{f.filename}:{f.lineno} {f.name}: {f.line}"
                                        for f in traceback.extract_tb(exc.__traceback__)
                                        if "/site-packages/" not in f.filename][-8:]
        res.seconds = time.perf_counter() - started
        results.append(res)
        d = res.as_dict()
        rates = " ".join(f"{k}={d[k]}" for k in ("rows_per_s", "tx_per_s") if d[k])
        log(f"  {name:<34} {res.status:<14} {res.seconds:8.2f} s  rows={res.rows} tx={res.transactions} {rates}"
            f"{'  ' + res.reason if res.reason else ''}")
    return results

