"""Reads of allocation data.

Public for other apps:

- ``benchmark_for(year, category) -> dict`` (the MRV dashboard): the published benchmark row of the
  plan covering ``year``: ``{"plan", "year", "category", "electricity_t_per_mwh", "heat_t_per_gj",
  "confidence", "note"}``; NotFound when no published plan covers the year.
- ``electricity_benchmark(*, category, year) -> Decimal`` (what mrv.selectors calls).
- ``covered_emissions_by_entity(year, entity_ids=None) -> {entity_id: tonnes}`` (compliance): verified
  emissions of the units the plan covers, what an obligation counts.
- ``allocation_for(entity_id, year) -> dict`` (compliance; ``allocations_for(entity_ids, year)`` for many):
  the entity's allocation of ``year``:
  ``{"pre_allocated_tco2", "true_up_tco2" (None before true-up), "allocation_tco2" (the final figure
  when trued up, else the pre-allocation), "relief_tco2", "borrowed_tco2", "open_obligation_tco2",
  "final", "vintage_rule"}`` (vintage_rule: "any" or "same_or_earlier", the plan's rule for which
  vintages may cover the year's obligation).

Everything else here is scoped to the user through ``entities.selectors.scope_by_entity``.
"""

from collections import defaultdict
from decimal import Decimal

from django.db.models import QuerySet, Sum
from django.utils.translation import gettext as _

from cets.common.errors import DomainError, NotFound
from entities.selectors import scope_by_entity
from mrv import selectors as mrv_selectors

from . import formulas, intensity
from .models import (
    AllocationPlan,
    AllocationRun,
    BalanceValue,
    BenchmarkRow,
    BorrowingApplication,
    EntityAllocation,
    Obligation,
    Scenario,
)


def plan_get(code: str, *, published: bool = True) -> AllocationPlan:
    """A plan by code; with ``published`` only a published one (the calculator and runs need one)."""
    qs = AllocationPlan.objects.all()
    if published:
        qs = qs.filter(status=AllocationPlan.Status.PUBLISHED)
    plan = qs.filter(code=str(code)).first()
    if plan is None:
        raise NotFound(_("There is no published allocation plan %(code)s.") % {"code": code}, "unknown_plan", "plan")
    return plan


def plan_for_year(year: int, sector: str = "power") -> AllocationPlan:
    """The published plan of ``sector`` covering ``year`` (a later code wins if two overlap)."""
    plan = (AllocationPlan.objects.filter(status=AllocationPlan.Status.PUBLISHED, sector_id=sector,
                                          first_year__lte=year, last_year__gte=year)
            .order_by("-first_year", "-code").first())
    if plan is None:
        message = (_("No published allocation plan covers %(year)s.") if sector == "power"
                   else _("No published %(sector)s allocation plan covers %(year)s."))
        raise NotFound(message % {"sector": sector, "year": year}, "unknown_plan", "year")
    return plan


def sector_plan(sector: str, plan: str) -> AllocationPlan:
    """A published plan of an industrial sector named by its code (cement-2025) or its year (2025)."""
    qs = AllocationPlan.objects.filter(status=AllocationPlan.Status.PUBLISHED, sector_id=sector)
    found = qs.filter(code=str(plan)).first()
    if found is None and str(plan).isdigit():
        found = qs.filter(first_year__lte=int(plan), last_year__gte=int(plan)).order_by("-first_year").first()
    if found is None:
        raise DomainError(_("There is no published %(sector)s allocation plan %(code)s.")
                          % {"sector": sector, "code": plan}, "unknown_plan", "plan")
    return found


def intensity_rules(plan: AllocationPlan) -> intensity.IntensityRules:
    """The intensity method's view of an industrial plan."""
    return intensity.IntensityRules(code=plan.code, band=plan.intensity_band, slope=plan.intensity_slope,
                                    exemptions=tuple(plan.exemptions),
                                    all_verified=plan.method == AllocationPlan.Method.VERIFIED_EMISSIONS)


def industry_plans(year: int) -> dict:
    """``{sector: industry.SectorPlan}``: the published plan of every active non-power sector for ``year``
    with its balance value when published (sectors without a plan for the year are left out)."""
    from entities.models import Sector

    from . import industry

    plans = {}
    for sector in Sector.objects.filter(is_active=True).exclude(code=industry.POWER):
        plan = (AllocationPlan.objects.filter(status=AllocationPlan.Status.PUBLISHED, sector=sector,
                                              first_year__lte=year, last_year__gte=year)
                .order_by("-first_year", "-code").first())
        if plan is not None:
            plans[sector.code] = industry.SectorPlan(
                code=plan.code, rules=intensity_rules(plan), balance_value=balance_value_of(plan, year),
                carbide_slag_threshold=plan.carbide_slag_threshold, pre_allocation_share=plan.pre_allocation_share,
                threshold_tco2=sector.inclusion_threshold_tco2)
    return plans


def balance_value_of(plan: AllocationPlan, year: int) -> Decimal | None:
    """The balance value published for ``plan`` and ``year``; None when unknown (no row)."""
    row = BalanceValue.objects.filter(plan=plan, year=year).first()
    return row.value if row else None


def plan_rules(plan: AllocationPlan, year: int | None = None, overrides: dict | None = None) -> formulas.PlanRules:
    """The formula's view of a plan for one year, optionally with a scenario's overrides applied."""
    year = year or plan.first_year
    rows = {r.category: r for r in plan.benchmarks.all()
            if r.year == year and r.kind == BenchmarkRow.Kind.BENCHMARK}
    if len(rows) < len(formulas.CATEGORIES):
        raise NotFound(_("Plan %(code)s has no complete benchmark table for %(year)s.")
                       % {"code": plan.code, "year": year}, "no_benchmarks", "year")
    overrides = overrides or {}
    electricity = {c: rows[c].electricity_t_per_mwh for c in formulas.CATEGORIES}
    heat = {c: rows[c].heat_t_per_gj for c in formulas.CATEGORIES}
    electricity.update({c: Decimal(str(v)) for c, v in (overrides.get("electricity") or {}).items()})
    heat.update({c: Decimal(str(v)) for c, v in (overrides.get("heat") or {}).items()})
    floor = overrides.get("entity_relief_floor", plan.entity_relief_floor)

    def rule(name):
        return Decimal(str(overrides[name])) if name in overrides else getattr(plan, name)

    return formulas.PlanRules(
        code=plan.code, correction_scheme=plan.correction_scheme,
        electricity_benchmark=electricity, heat_benchmark=heat,
        cooling_factors={"water": rule("cooling_water_factor"), "air": rule("cooling_air_factor"),
                         "back_pressure": rule("cooling_back_pressure_factor")},
        heat_ratio_coefficient=rule("heat_ratio_coefficient"),
        gas_heat_ratio_coefficient=rule("gas_heat_ratio_coefficient"),
        load_factor_for_chp=plan.load_factor_for_chp, peak_threshold=rule("peak_threshold"),
        peak_formula=plan.peak_formula, exemptions=tuple(plan.exemptions),
        gas_relief=bool(overrides.get("gas_relief", plan.gas_relief)),
        entity_relief_floor=None if floor in (None, "") else Decimal(str(floor)),
    )


def benchmark_for(year: int, category: str) -> dict:
    """The published benchmark of ``category`` for ``year`` with its confidence (for the MRV dashboard)."""
    plan = plan_for_year(year)
    row = plan.benchmarks.filter(year=year, category=category, kind=BenchmarkRow.Kind.BENCHMARK).first()
    if row is None:
        raise NotFound(_("No benchmark for category %(c)s in %(year)s.") % {"c": category, "year": year},
                       "no_benchmarks", "category")
    return {"plan": plan.code, "year": year, "category": category,
            "electricity_t_per_mwh": row.electricity_t_per_mwh, "heat_t_per_gj": row.heat_t_per_gj,
            "confidence": row.confidence, "note": row.note}


def electricity_benchmark(*, category: str, year: int) -> Decimal:
    return benchmark_for(year, category)["electricity_t_per_mwh"]


def intensity_against_benchmarks(entity, year: int, today) -> list[dict]:
    """Each unit's emission intensity in ``year`` so far (mrv's monthly data: emissions over electricity
    generated) beside its category's electricity benchmark (per MWh supplied): an indication of where the
    unit stands against what its allocation will be based on, not the allocation itself.

    ``gap`` is intensity minus benchmark (positive: above the benchmark, short of allowances for that
    output); ``benchmark`` is None for a category or year without one (e.g. a unit outside the ETS).
    """
    rows = []
    for row in mrv_selectors.entity_dashboard(entity, year, today=today)["units"]:
        try:
            benchmark = electricity_benchmark(category=row["category"], year=year) if row["category"] else None
        except DomainError:
            benchmark = None
        intensity = row["intensity"]
        gap = intensity - benchmark if intensity is not None and benchmark is not None else None
        rows.append({"unit": row["unit"], "category": row["category"], "emissions": row["emissions"],
                     "generated": row["generated"], "intensity": intensity, "benchmark": benchmark, "gap": gap})
    return rows


def covered_emissions_by_entity(year: int, entity_ids=None) -> dict[int, int]:
    """Confirmed verified emissions of ``year`` per entity, counting only the units the plan covers,
    the same coverage the true-up allocates (``calculation.is_covered``), in whole tonnes (half-up).

    An entity whose units are all covered keeps its confirmed total; one with an uncovered unit counts
    the covered units' emissions; one with no covered unit is left out (no allocation, no obligation).
    An entity confirmed without per-unit facts keeps its total (nothing tells a unit apart).
    """
    from . import calculation

    totals = mrv_selectors.verified_emissions_by_entity(year)
    if entity_ids is not None:
        wanted = set(entity_ids)
        totals = {k: v for k, v in totals.items() if k in wanted}
    units = calculation.by_entity(mrv_selectors.verified_unit_data(year, entity_ids=list(totals)))
    result = {}
    for entity_id, total in totals.items():
        rows = units.get(entity_id)
        if not rows or all(calculation.is_covered(r) for r in rows):
            result[entity_id] = total
            continue
        covered = [calculation.emissions_of(r) for r in rows if calculation.is_covered(r)]
        if covered:
            result[entity_id] = mrv_selectors.whole_tonnes_half_up(sum(covered, Decimal("0")))
    return result


def allocation_for(entity_id: int, year: int) -> dict:
    """What an entity was allocated for ``year``: pre-allocation, true-up and what is still owed."""
    return allocations_for([entity_id], year)[entity_id]


def allocations_for(entity_ids, year: int) -> dict[int, dict]:
    """``allocation_for`` of many entities (entity id -> its figures) in four queries whatever their number."""
    ids = list(entity_ids)
    rows = defaultdict(list)
    for ea in (EntityAllocation.objects.filter(entity_id__in=ids, run__year=year).select_related("run")
               .order_by("run_id")):
        rows[ea.entity_id].append(ea)
    borrowed = dict(BorrowingApplication.objects.filter(entity_id__in=ids, year=year,
                                                        status__in=["approved", "deducted"])
                    .values_list("entity_id").annotate(s=Sum("requested_tco2")).values_list("entity_id", "s"))
    owed = dict(Obligation.objects.filter(entity_id__in=ids, year=year, status=Obligation.Status.OPEN)
                .values_list("entity_id").annotate(s=Sum("quantity_tco2")).values_list("entity_id", "s"))
    rule = _vintage_rule(year)
    return {entity_id: _allocation_figures(entity_id, year, rows[entity_id], borrowed.get(entity_id) or 0,
                                           owed.get(entity_id) or 0, rule) for entity_id in ids}


def _allocation_figures(entity_id: int, year: int, rows: list, borrowed: int, owed: int, rule) -> dict:
    pre = next((ea for ea in rows if ea.run.kind == AllocationRun.Kind.PRE_ALLOCATION), None)
    # the true-up, or the last completed re-determination after it (a changed verification)
    kinds = AllocationRun.Kind
    finals = [ea for ea in rows if ea.run.kind == kinds.TRUE_UP
              or (ea.run.kind == kinds.REDETERMINATION and ea.run.status == AllocationRun.Status.COMPLETED)]
    true_up = finals[-1] if finals else None
    final = true_up is not None and true_up.run.status == AllocationRun.Status.COMPLETED
    pre_tco2 = pre.allocation_tco2 if pre else 0
    return {
        "entity_id": entity_id, "year": year, "pre_allocated_tco2": pre_tco2,
        "true_up_tco2": true_up.allocation_tco2 if true_up else None,
        "allocation_tco2": true_up.allocation_tco2 if true_up else pre_tco2,
        "relief_tco2": true_up.relief_tco2 if true_up else 0,
        "borrowed_tco2": borrowed, "open_obligation_tco2": owed, "final": final,
        "vintage_rule": rule,
    }


def _vintage_rule(year: int) -> str | None:
    plan = (AllocationPlan.objects.filter(status=AllocationPlan.Status.PUBLISHED, sector_id="power",
                                          first_year__lte=year, last_year__gte=year)
            .order_by("-first_year", "-code").first())
    return plan.vintage_rule if plan else None


def entity_allocations_visible_to(user) -> QuerySet[EntityAllocation]:
    return scope_by_entity(EntityAllocation.objects.select_related("run", "run__plan", "entity"), user)


def entity_allocation_get(*, user, pk: int) -> EntityAllocation:
    row = entity_allocations_visible_to(user).filter(pk=pk).first()
    if row is None:
        raise NotFound(_("No such allocation."), field="allocation")
    return row


def borrowings_visible_to(user) -> QuerySet[BorrowingApplication]:
    return scope_by_entity(BorrowingApplication.objects.select_related("entity", "plan"), user)


def runs_visible_to(user) -> QuerySet[AllocationRun]:
    """Runs are national: every regulator may see them (their entities' rows are scoped separately)."""
    if not getattr(user, "is_authenticated", False) or not user.is_regulator:
        return AllocationRun.objects.none()
    return AllocationRun.objects.select_related("plan")


def scenarios_visible_to(user) -> QuerySet[Scenario]:
    if not getattr(user, "is_authenticated", False) or user.role != "national_regulator":
        return Scenario.objects.none()
    return Scenario.objects.select_related("plan")


def calculate(*, plan_code, units: list) -> dict:
    """The calculator: a plan's formula on units an integrator describes (nothing is stored).

    ``units`` are dicts of the API shape; a bad value raises DomainError naming ``units[i].field``.
    """
    from cets.common.errors import DomainError

    if plan_code is None or str(plan_code) == "":
        raise DomainError(_("Name the plan (2019-20 to 2026)."), "required", "plan")
    plan = AllocationPlan.objects.filter(status=AllocationPlan.Status.PUBLISHED, code=str(plan_code)).first()
    if plan is None:
        raise DomainError(_("There is no published allocation plan %(code)s.") % {"code": plan_code},
                          "unknown_plan", "plan")
    if not isinstance(units, list) or not units:
        raise DomainError(_("Give at least one unit."), "required", "units")
    parsed = []
    rules = plan_rules(plan, plan.first_year)
    try:
        for index, raw in enumerate(units):
            prefix = f"units[{index}]."
            if not isinstance(raw, dict):
                raise formulas.FormulaError(_("Each unit must be an object."), f"units[{index}]")
            verified = raw.get("verified_emissions_tco2")
            unit = formulas.UnitData(
                id=str(raw.get("id", index)), category=raw.get("category"),
                electricity_mwh=formulas.dec(raw.get("electricity_mwh", 0), f"{prefix}electricity_mwh"),
                heat_gj=formulas.dec(raw.get("heat_gj", 0), f"{prefix}heat_gj"),
                cooling=raw.get("cooling", "water"),
                heat_supply_ratio=formulas.dec(raw.get("heat_supply_ratio", 0), f"{prefix}heat_supply_ratio"),
                load_factor=formulas.dec(raw.get("load_factor", 1), f"{prefix}load_factor"),
                verified_emissions_tco2=None if verified is None else formulas.dec(
                    verified, f"{prefix}verified_emissions_tco2"),
                exemption=raw.get("exemption") or None)
            formulas.validate_unit(unit, prefix)
            if unit.exemption is not None and unit.exemption not in rules.exemptions:
                raise formulas.FormulaError(_("Plan %(code)s does not allocate verified emissions to %(e)s units.")
                                            % {"code": plan.code, "e": unit.exemption}, f"{prefix}exemption")
            parsed.append(unit)
        result = formulas.entity_allocation(rules, parsed)
    except formulas.FormulaError as exc:
        raise DomainError(str(exc), "invalid", exc.field) from exc
    return {
        "units": [{"id": r.id, "allocation_tco2": r.allocation_tco2, "lines": [line.as_dict() for line in r.lines]}
                  for r in result.units],
        "entity_total_tco2": result.total_tco2,
        "relief_tco2": result.relief_tco2,
    }


def run_registry_expectations() -> list[dict]:
    """What each allocation run moved in the registry by its own account: ``check_consistency`` compares it
    with the legs of the run's registry transactions.

    Per run: ``{"run", "year", "kind", "allocation_reference", "allocated_tco2", "withdrawal_reference",
    "withdrawn_tco2"}``: allocated = the positive differences issued (pre-allocation results, true-up
    top-ups), withdrawn = the negative differences taken back (what the entity could not cover became an
    allocation obligation instead).
    """
    rows = []
    withdrawn_states = [EntityAllocation.Status.WITHDRAWN, EntityAllocation.Status.OBLIGATION]
    for run in AllocationRun.objects.exclude(status=AllocationRun.Status.CALCULATING).order_by("pk"):
        results = EntityAllocation.objects.filter(run=run)
        allocated = results.filter(status=EntityAllocation.Status.ISSUED).aggregate(s=Sum("difference_tco2"))["s"]
        owed = results.filter(status__in=withdrawn_states).aggregate(s=Sum("difference_tco2"))["s"]
        uncovered = Obligation.objects.filter(entity_allocation__run=run).aggregate(s=Sum("quantity_tco2"))["s"]
        rows.append({"run": run.pk, "year": run.year, "kind": run.kind,
                     "allocation_reference": f"allowances-run-{run.pk}", "allocated_tco2": allocated or 0,
                     "withdrawal_reference": f"allowances-run-{run.pk}-withdrawal",
                     "withdrawn_tco2": -(owed or 0) - (uncovered or 0)})
    return rows
