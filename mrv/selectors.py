"""Reads of MRV data. Other apps (allocation, compliance) use only the functions listed here.

For allocation and compliance (system reads, not scoped to a user):

- ``verified_unit_data(year, *, entity_ids=None, require_confirmed=False, sectors=None, plan_year=None)
  -> list[dict]``
  One dict per facility (generating unit, steel enterprise, clinker line, aluminium process) of every
  entity whose verification of ``year`` is CONFIRMED by the province, ordered by unit id (``sectors``: only
  those sectors' facilities). Every row: ``unit_id, unit_code, entity_id, sector, verified_emissions_tco2``
  (= ``emissions_tco2``), ``output_t, intensity_emissions_tco2, intensity_output_t`` (Decimal, None for
  power), ``attributes`` (the facility's), ``carbide_slag_rate`` (cement, Decimal or None),
  ``commissioned_in_year`` (commissioned in ``year``), ``status`` (the facility's) and ``is_conservative``
  (province-determined emissions). Generating units add ``category`` (I/II/III/IV/None for ``year`` under the
  rules of ``plan_year``, default ``year``: a pre-allocation reads the previous year under its plan's rules),
  ``exemption`` (the 2025+ plans' A = E code or None; ``entities.categories``), ``category_reason, main_fuel,
  is_chp, is_cfb, cooling, rated_power_mw, electricity_supplied_mwh,
  electricity_generated_mwh, heat_supplied_gj, load_factor, heat_supply_ratio``; other facilities add
  ``gases`` (the year's recorded tCO2e per gas).
  With ``require_confirmed=True`` (and ``entity_ids`` given, or all active entities) it raises
  ``DomainError(code="verification_not_confirmed")`` naming the entities still unconfirmed, so
  allocation can refuse a true-up before verification exists.
- ``verification_confirmed_entity_ids(year) -> set[int]``
- ``verified_emissions(entity_id, year) -> Decimal | None`` (None: not confirmed)
- ``verified_emissions_by_entity(year) -> dict[entity_id, int]``: whole tonnes, rounded half-up
  (0.5 t and more counts as a tonne), confirmed verifications only.
- ``monthly_emissions_to_date(entity_id, year) -> Decimal``: sum of the current monthly versions
  (fuel + purchased electricity), for compliance risk monitoring before verification.

Writes others may call (in ``mrv.services``): ``submissions_bulk_load(actor=, rows=, today=None,
submitted_at=None)`` validates every row and stores all with COPY (PostgreSQL, 500 rows and more) or
bulk_create, or raises ``InvalidRows`` listing every problem. A filled .xlsx template or CSV goes through
``mrv.uploads``: ``upload_preview(actor=, content=, filename=)`` stages it and shows its changes,
``upload_confirm(actor=, upload=)`` stores them (docs/mrv-uploads.md). Rows are dicts with ``unit`` (a Unit) or
``unit_id`` or ``unit_code``, ``year``, ``month``, ``electricity_generated_mwh``,
``electricity_supplied_mwh``, ``heat_supplied_gj``, ``operating_hours``, ``load_factor``,
``purchased_electricity_mwh``, ``note`` and ``fuels`` (list of ``fuel``, ``consumption``, ``ncv``,
``carbon_content``, ``oxidation_rate``, ``test_report`` number); numbers as strings or Decimals.

For the doors (scoped through ``entities.selectors.scope_by_entity``):
``submissions_visible_to(user)``, ``submission_get(user=, pk=)``, ``qc_plans_visible_to(user)``,
``test_reports_visible_to(user)``, ``annual_reports_visible_to(user)``, ``verifications_visible_to(user)``
(agencies: only their own assignments), ``warnings_visible_to(user)``, ``reminders_visible_to(user)``,
``entity_dashboard(entity, year)``, ``regulator_overview(user, year)``; ``parameter_set(year)`` and
``month_deadline(year, month)`` (40 natural days after the month's end).
"""

import datetime as dt
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Q, Sum
from django.utils.translation import gettext as _

from cets.common.errors import DomainError, NotFound
from entities.models import KeyEntity, Sector, Unit
from entities.selectors import scope_by_entity

from .accounting import Parameter, ParameterSet
from .models import (
    AccountingParameter,
    AnnualReport,
    MonthlySubmission,
    QualityControlPlan,
    TestReport,
    Verification,
    VerificationFinding,
    VerifiedFacilityValue,
    VerifiedUnitValue,
)


def parameter_set(year: int) -> ParameterSet:
    """The accounting parameters in force for data ``year``, with the GWPs of the sectors' gases as
    ``("gwp", gas)`` (two queries): a gas's GWP lives once, on its sector (``Sector.gases``)."""
    rows = AccountingParameter.objects.filter(Q(year_to__isnull=True) | Q(year_to__gte=year), year_from__lte=year)
    values = {}
    for gases in Sector.objects.filter(is_active=True).values_list("gases", flat=True):
        for gas in gases:
            values[("gwp", gas["gas"])] = Parameter(Decimal(str(gas["gwp"])), gas.get("confidence", ""),
                                                    gas.get("source", ""))
    for row in rows.order_by("year_from"):
        values[(row.key, row.fuel)] = Parameter(row.value, row.confidence, row.source)
    return ParameterSet(year=year, values=values)


# ---- reads for allocation and compliance -------------------------------------------------------------

def verification_confirmed_entity_ids(year: int) -> set[int]:
    return set(Verification.objects.filter(year=year, status=Verification.Status.CONFIRMED)
               .values_list("entity_id", flat=True))


def verified_unit_data(year: int, *, entity_ids=None, require_confirmed: bool = False,
                       sectors=None, plan_year: int | None = None) -> list[dict]:
    """Verified per-facility facts of ``year`` from confirmed verifications (see the module docstring)."""
    if require_confirmed:
        wanted = set(entity_ids) if entity_ids is not None else set(
            KeyEntity.objects.filter(status=KeyEntity.Status.ACTIVE, inclusion_year__lte=year)
            .values_list("pk", flat=True))
        missing = sorted(wanted - verification_confirmed_entity_ids(year))
        if missing:
            shown = ", ".join(str(pk) for pk in missing[:20])
            raise DomainError(
                _("Verification not confirmed for %(n)d entities in %(year)d (ids %(ids)s).")
                % {"n": len(missing), "year": year, "ids": shown}, "verification_not_confirmed", "year")
    rows = []
    generating = VerifiedUnitValue if sectors is None or "power" in sectors else None  # power's own table
    for value in _confirmed_values(generating, year, entity_ids, sectors) if generating else ():
        unit = value.unit
        category = unit.category_for(year, rules_year=plan_year)
        rows.append({
            **_facility_keys(value, year), "output_t": None, "intensity_emissions_tco2": None,
            "intensity_output_t": None, "carbide_slag_rate": None,
            "category": category.category, "category_reason": category.reason, "exemption": category.exemption,
            "main_fuel": unit.main_fuel, "is_chp": unit.is_chp, "is_cfb": unit.is_cfb, "cooling": unit.cooling,
            "rated_power_mw": unit.rated_power_mw,
            "electricity_supplied_mwh": value.electricity_supplied_mwh,
            "electricity_generated_mwh": value.electricity_generated_mwh,
            "heat_supplied_gj": value.heat_supplied_gj, "load_factor": value.load_factor,
            "heat_supply_ratio": value.heat_supply_ratio,
        })
    for value in _confirmed_values(VerifiedFacilityValue, year, entity_ids, sectors):
        rows.append({**_facility_keys(value, year), "output_t": value.output_t,
                     "intensity_emissions_tco2": value.intensity_emissions_tco2,
                     "intensity_output_t": value.intensity_output_t, "carbide_slag_rate": value.carbide_slag_rate,
                     "gases": {gas: Decimal(v) for gas, v in value.gases.items()}})
    return sorted(rows, key=lambda row: row["unit_id"])


def _confirmed_values(model, year: int, entity_ids, sectors):
    qs = (model.objects.filter(verification__year=year, verification__status=Verification.Status.CONFIRMED)
          .select_related("unit", "verification").order_by("unit_id"))
    if entity_ids is not None:
        qs = qs.filter(verification__entity_id__in=list(entity_ids))
    if sectors is not None:
        qs = qs.filter(unit__sector_id__in=list(sectors))
    return qs


def _facility_keys(value, year: int) -> dict:
    """The keys every facility's row has (INTERFACES.md), whatever its sector."""
    unit = value.unit
    commissioned = unit.commissioning_date.year == year if unit.commissioning_date else False
    return {"unit_id": unit.pk, "unit_code": unit.code, "entity_id": value.verification.entity_id,
            "sector": unit.sector_id, "emissions_tco2": value.emissions_tco2,
            "verified_emissions_tco2": value.emissions_tco2, "attributes": unit.attributes,
            "commissioned_in_year": commissioned, "status": unit.status,
            "is_conservative": value.verification.is_conservative}


def verified_emissions(entity_id: int, year: int) -> Decimal | None:
    """The province-confirmed emissions of an entity's year, or None while not confirmed."""
    return (Verification.objects.filter(entity_id=entity_id, year=year, status=Verification.Status.CONFIRMED)
            .values_list("verified_emissions_tco2", flat=True).first())


def whole_tonnes_half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def verified_emissions_by_entity(year: int) -> dict[int, int]:
    """Confirmed verified emissions per entity in whole tonnes (half-up), for obligations and allocation."""
    rows = Verification.objects.filter(year=year, status=Verification.Status.CONFIRMED).values_list(
        "entity_id", "verified_emissions_tco2")
    return {entity_id: whole_tonnes_half_up(value) for entity_id, value in rows}


def monthly_emissions_to_date(entity_id: int, year: int) -> Decimal:
    """Sum of the entity's current monthly versions of ``year`` so far (tCO2, 3 decimals)."""
    total = MonthlySubmission.objects.filter(entity_id=entity_id, year=year, is_current=True).aggregate(
        s=Sum("emissions_tco2"))["s"]
    return total or Decimal("0.000")


# ---- scoped reads for the doors -------------------------------------------------------------------

def submissions_visible_to(user):
    return scope_by_entity(MonthlySubmission.objects.select_related("unit", "entity"), user)


def submission_get(*, user, pk) -> MonthlySubmission:
    sub = submissions_visible_to(user).filter(pk=pk).first()
    if sub is None:
        raise NotFound(_("No such submission."), field="submission")
    return sub


def qc_plans_visible_to(user):
    return scope_by_entity(QualityControlPlan.objects.select_related("entity"), user)


def test_reports_visible_to(user):
    return scope_by_entity(TestReport.objects.select_related("entity"), user)


def annual_reports_visible_to(user):
    return scope_by_entity(AnnualReport.objects.select_related("entity"), user)


def verifications_visible_to(user):
    qs = Verification.objects.select_related("entity", "agency")
    if user.is_authenticated and user.role == user.Role.VERIFIER:
        # An agency sees only the verifications it was assigned, not every year of its entities.
        return qs.filter(agency_id=user.organisation_id) if user.organisation_id else qs.none()
    return scope_by_entity(qs, user)


def findings_visible_to(user):
    """Findings of the verifications the user sees (entity: its own; agency: its assignments; regulators: scope)."""
    return VerificationFinding.objects.filter(
        verification__in=verifications_visible_to(user).values("pk")).select_related("verification")


def month_deadline(year: int, month: int) -> dt.date:
    """40 natural days after the end of the month (DOMAIN.md section 5)."""
    first_next = dt.date(year + (month == 12), month % 12 + 1, 1)
    return first_next - dt.timedelta(days=1) + dt.timedelta(days=40)


def entity_dashboard(entity: KeyEntity, year: int, *, today: dt.date | None = None) -> dict:
    """What the entity's carbon manager sees: months by unit, emissions, intensity, what is missing or late."""
    today = today or dt.date.today()
    units = list(Unit.objects.filter(entity=entity).order_by("code"))
    subs = list(MonthlySubmission.objects.filter(entity=entity, year=year, is_current=True)
                .order_by("unit_id", "month"))
    by_key = {(s.unit_id, s.month): s for s in subs}
    per_month = defaultdict(Decimal)
    per_unit = []
    missing, late = [], []
    for unit in units:
        cells, emissions, generated = [], Decimal(0), Decimal(0)
        basis = [Decimal(0), Decimal(0)]  # a non-power facility's intensity emissions and output
        for month in range(1, 13):
            sub = by_key.get((unit.pk, month))
            deadline = month_deadline(year, month)
            if sub is not None:
                per_month[month] += sub.emissions_tco2
                emissions += sub.emissions_tco2
                generated += sub.electricity_generated_mwh
                basis[0] += sub.intensity_emissions_tco2 or 0
                basis[1] += sub.intensity_output_t or 0
                if not sub.on_time:
                    late.append({"unit": unit.code, "month": month, "deadline": deadline})
            elif deadline - dt.timedelta(days=40) < today:  # the month has ended: its data are expected
                overdue = today > deadline
                missing.append({"unit": unit.code, "month": month, "deadline": deadline, "overdue": overdue})
            cells.append({"month": month, "submission": sub, "deadline": deadline})
        category = unit.category_for(year).category
        # tCO2/MWh generated for a generating unit; the allocation intensity (t/t of output) for other facilities
        intensity = ((emissions / generated) if generated else (basis[0] / basis[1]) if basis[1] else None)
        intensity = intensity.quantize(Decimal("0.0001")) if intensity is not None else None
        per_unit.append({"unit": unit, "cells": cells, "emissions": emissions, "generated": generated,
                         "intensity": intensity, "category": category})
    return {"units": per_unit, "per_month": [per_month.get(m, Decimal(0)) for m in range(1, 13)],
            "total": sum(per_month.values(), Decimal(0)), "missing": missing, "late": late}


def months_due(entity_id: int, today: dt.date, *, months: int = 12) -> dict:
    """The entity's operating units' months among the last ``months`` ended: ``due`` (missing, deadline not
    passed, with the days left), ``late`` (missing past the 40-day deadline) and ``submitted_late`` (stored after
    it). Two queries, whatever the number of units."""
    units = list(Unit.objects.filter(entity_id=entity_id, status=Unit.Status.OPERATING).order_by("code")
                 .values_list("pk", "code"))
    ended, year, month = [], today.year, today.month
    for _i in range(months):
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
        ended.append((year, month))
    stored = {(unit_id, y, m): on_time for unit_id, y, m, on_time in MonthlySubmission.objects.filter(
        entity_id=entity_id, is_current=True, year__in={y for y, _m in ended}).values_list(
        "unit_id", "year", "month", "on_time")}
    due, late, submitted_late = [], [], []
    for year, month in reversed(ended):
        deadline = month_deadline(year, month)
        for unit_id, code in units:
            row = {"unit": code, "year": year, "month": month, "deadline": deadline,
                   "days_left": (deadline - today).days}
            on_time = stored.get((unit_id, year, month))
            if on_time is None:
                (late if deadline < today else due).append(row)
            elif not on_time:
                submitted_late.append(row)
    return {"due": due, "late": late, "submitted_late": submitted_late}


def warnings_visible_to(user):
    """Regulators: warnings of their jurisdiction; entities: their own (what to fix and why)."""
    from .models import EarlyWarning

    return scope_by_entity(EarlyWarning.objects.select_related("rule", "entity", "unit"), user)


def regulator_overview(user, year: int) -> dict:
    """Headline figures for a regulator's jurisdiction: per province on-time rate, open problems, time to
    rectify; warnings by rule; the review queue waiting for the user's tier."""
    from django.db.models import Count, Q

    from .models import EarlyWarning

    subs = submissions_visible_to(user).filter(year=year, is_current=True)
    per_province = {}
    for row in subs.values("entity__province_id", "entity__province__name").annotate(
            total=Count("id"), on_time=Count("id", filter=Q(on_time=True))):
        per_province[row["entity__province_id"]] = {
            "province": row["entity__province__name"], "submissions": row["total"],
            "on_time_rate": round(100 * row["on_time"] / row["total"], 1) if row["total"] else None,
            "open_warnings": 0, "closed_warnings": 0, "days_to_rectify": None}
    warnings = warnings_visible_to(user).filter(year=year)
    for row in warnings.values("entity__province_id", "entity__province__name").annotate(
            open=Count("id", filter=Q(status__in=EarlyWarning.OPEN)),
            closed=Count("id", filter=Q(status="closed"))):
        entry = per_province.setdefault(row["entity__province_id"], {
            "province": row["entity__province__name"], "submissions": 0, "on_time_rate": None,
            "days_to_rectify": None})
        entry["open_warnings"], entry["closed_warnings"] = row["open"], row["closed"]
    durations = defaultdict(list)
    for province_id, created, closed in warnings.filter(status="closed", closed_at__isnull=False).values_list(
            "entity__province_id", "created_at", "closed_at"):
        durations[province_id].append((closed - created).total_seconds() / 86400)
    for province_id, values in durations.items():
        per_province[province_id]["days_to_rectify"] = round(sum(values) / len(values), 1)
    by_rule = list(warnings.values("rule__code", "rule__name").annotate(
        total=Count("id"), open=Count("id", filter=Q(status__in=EarlyWarning.OPEN))).order_by("-total"))
    status_for_role = {"municipal_regulator": MonthlySubmission.Status.MUNICIPAL_REVIEW,
                       "provincial_regulator": MonthlySubmission.Status.PROVINCIAL_REVIEW,
                       "national_regulator": MonthlySubmission.Status.NATIONAL_REVIEW}
    queue = subs.filter(status=status_for_role.get(user.role, "-")).order_by("year", "month", "submitted_at")
    total = sum(p["submissions"] for p in per_province.values())
    on_time = sum(p["submissions"] * (p["on_time_rate"] or 0) / 100 for p in per_province.values())
    return {"provinces": sorted(per_province.values(), key=lambda p: p["province"]), "by_rule": by_rule,
            "queue": queue[:50], "queue_count": queue.count(),
            "on_time_rate": round(100 * on_time / total, 1) if total else None}


def reminders_visible_to(user):
    """Entities see reminders addressed to them; regulators those of their jurisdiction addressed to a tier."""
    from .models import Reminder

    qs = scope_by_entity(Reminder.objects.select_related("entity"), user)
    return qs.filter(recipient_tier="") if getattr(user, "acting_entity_id", None) else qs.exclude(recipient_tier="")


def extensions_visible_to(user):
    """Extension requests on submissions or verifications of entities the user may see."""
    from .models import DeadlineExtension

    qs = DeadlineExtension.objects.select_related("submission", "verification")
    return (scope_by_entity(qs, user, "submission__entity") | scope_by_entity(qs, user, "verification__entity")
            ).order_by("-requested_at")


def uploads_visible_to(user):
    """Monthly data uploads the user may see and decide: those of the entity they act for; a national
    regulator's legacy loads, to their author. Regulators otherwise see the stored submissions, not drafts."""
    from .models import SubmissionUpload

    qs = SubmissionUpload.objects.select_related("entity", "created_by", "decided_by")
    if not user.is_authenticated:
        return qs.none()
    if user.acting_entity_id:
        return qs.filter(entity_id=user.acting_entity_id)
    return qs.filter(entity__isnull=True, created_by=user)
