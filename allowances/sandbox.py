"""Balance values and the policy sandbox: a plan (or an edited copy) evaluated on verified data.

Nothing here writes to the registry or to allocation results. The evaluation runs the same
``formulas.entity_allocation`` as the true-up over rows fetched once from MRV (plain Python over
prefetched rows: about 0.1 ms per unit, so 5,000 units take well under a second), which keeps one
source of truth for the formula instead of a vectorised copy that could drift from it.
"""

from collections import defaultdict
from decimal import Decimal
from html import escape

from django.utils.translation import gettext as _

from entities.models import KeyEntity

from . import calculation, formulas, sandbox_industry, selectors
from .models import AllocationPlan

# Surplus (+) or shortfall (-) as a share of verified emissions: bin edges of the histogram, in percent.
BIN_EDGES = list(range(-30, 31, 5))


def _rows(data_year: int) -> list[dict]:
    from mrv import selectors as mrv_selectors

    return mrv_selectors.verified_unit_data(data_year)


def balance_values(rules: formulas.PlanRules, rows: list[dict], *, basis: str) -> dict[str, dict]:
    """Per category, the electricity intensity at which allocation equals verified emissions.

    Solved in closed form on the plan's formula with its corrections: allocation is linear in the
    electricity benchmark B (A = B x sum(Q x F) + sum(Q_heat x B_h)), so
    B* = (sum(E) - sum(Q_heat x B_h)) / sum(Q x F). Relief is left out: it is a top-up that only
    binds once B is already set, and for gas (topped up to verified emissions) it would make every
    B below the lowest unit's intensity "balance". None when a category has no verified output.
    """
    sums: dict[str, dict[str, Decimal]] = defaultdict(lambda: {"qf": Decimal(0), "heat": Decimal(0),
                                                               "emissions": Decimal(0), "units": 0})
    for row in rows:
        if not calculation.is_power(row) or not row["category"]:
            continue
        result = formulas.unit_allocation(rules, calculation.unit_data(row, basis=basis))
        b_e = rules.electricity_benchmark[row["category"]]
        bucket = sums[row["category"]]
        bucket["qf"] += result.electricity_tco2 / b_e if b_e else Decimal(0)
        bucket["heat"] += result.heat_tco2
        bucket["emissions"] += Decimal(row["emissions_tco2"])
        bucket["units"] += 1
    values = {}
    for category in formulas.CATEGORIES:
        bucket = sums.get(category)
        value = None
        if bucket and bucket["qf"]:
            value = ((bucket["emissions"] - bucket["heat"]) / bucket["qf"]).quantize(Decimal("0.0001"))
        values[category] = {"balance_value": value, "benchmark": rules.electricity_benchmark[category],
                            "units": bucket["units"] if bucket else 0}
    return values


def evaluate(rules: formulas.PlanRules, rows: list[dict], *, basis: str, provinces: dict[int, str]) -> dict:
    """Totals per category and province, the surplus/shortfall distribution, entities at the 20% cap."""
    by_category = {c: {"allocation_tco2": 0, "emissions_tco2": 0, "relief_tco2": 0, "units": 0}
                   for c in formulas.CATEGORIES}
    by_province: dict[str, dict] = defaultdict(lambda: {"allocation_tco2": 0, "emissions_tco2": 0, "entities": 0})
    bins = [0] * (len(BIN_EDGES) + 1)
    capped = gas_relieved = entities = 0
    total_allocation = total_emissions = 0
    for entity_id, entity_rows in calculation.by_entity(rows).items():
        result, covered, _excluded = calculation.true_up(rules, entity_rows, basis=basis)
        if not covered:
            continue
        entities += 1
        emissions = result.verified_emissions_tco2 or 0
        # The entity top-up is shared among its units pro rata to their rounded allocation, so
        # category totals add up to the entity total.
        share_base = sum(u.allocation_tco2 for u in result.units) or 1
        for row, unit in zip(covered, result.units, strict=True):
            bucket = by_category[row["category"]]
            extra = result.entity_relief_tco2 * unit.allocation_tco2 / share_base
            bucket["allocation_tco2"] += unit.allocation_tco2 + extra
            bucket["relief_tco2"] += unit.gas_relief_tco2 + extra
            bucket["emissions_tco2"] += formulas.tonnes(Decimal(row["emissions_tco2"]))
            bucket["units"] += 1
            gas_relieved += 1 if unit.gas_relief_tco2 else 0
        province = by_province[provinces.get(entity_id, "?")]
        province["allocation_tco2"] += result.total_tco2
        province["emissions_tco2"] += emissions
        province["entities"] += 1
        total_allocation += result.total_tco2
        total_emissions += emissions
        capped += 1 if result.entity_relief_tco2 else 0
        if emissions:
            # before the cap's top-up, so the chart shows where entities would land without relief
            percent = (result.total_tco2 - result.entity_relief_tco2 - emissions) * 100 / emissions
            bins[sum(1 for edge in BIN_EDGES if percent >= edge)] += 1
    for bucket in by_category.values():
        bucket["allocation_tco2"] = formulas.tonnes(Decimal(bucket["allocation_tco2"]))
        bucket["relief_tco2"] = formulas.tonnes(Decimal(bucket["relief_tco2"]))
        bucket["surplus_tco2"] = bucket["allocation_tco2"] - bucket["emissions_tco2"]
    for bucket in by_province.values():
        bucket["surplus_tco2"] = bucket["allocation_tco2"] - bucket["emissions_tco2"]
    return {
        "entities": entities, "allocation_tco2": total_allocation, "emissions_tco2": total_emissions,
        "surplus_tco2": total_allocation - total_emissions, "entities_at_cap": capped,
        "gas_units_relieved": gas_relieved, "by_category": by_category,
        "by_province": dict(sorted(by_province.items())), "histogram": {"edges": BIN_EDGES, "counts": bins},
    }


def balance_values_for(*, plan: AllocationPlan, data_year: int) -> dict:
    """Balance values of ``plan``'s categories (power) or sector (intensity) on the confirmed verified data
    of ``data_year``."""
    year = plan.first_year if data_year not in plan.years else data_year
    if plan.sector_id != "power":
        plans = {k: v for k, v in selectors.industry_plans(year).items() if k == plan.sector_id}
        provinces = dict(KeyEntity.objects.values_list("pk", "province_id"))
        return _jsonable({"plan": plan.code, "data_year": data_year,
                          "sectors": sandbox_industry.evaluate(plans, _rows(data_year), provinces=provinces)})
    rules = selectors.plan_rules(plan, year)
    return _jsonable({"plan": plan.code, "data_year": data_year,
                      "categories": balance_values(rules, _rows(data_year), basis=plan.activity_basis)})


def scenario_evaluate(*, plan: AllocationPlan, data_year: int, overrides: dict) -> dict:
    """The scenario and the unchanged plan on the same verified rows, with balance values."""
    year = plan.first_year if data_year not in plan.years else data_year
    rows = _rows(data_year)
    provinces = dict(KeyEntity.objects.values_list("pk", "province_id"))
    base_rules = selectors.plan_rules(plan, year)
    rules = selectors.plan_rules(plan, year, overrides)
    scenario = evaluate(rules, rows, basis=plan.activity_basis, provinces=provinces)
    baseline = evaluate(base_rules, rows, basis=plan.activity_basis, provinces=provinces)
    values = balance_values(base_rules, rows, basis=plan.activity_basis)
    plans = selectors.industry_plans(year)
    industry = {"scenario": sandbox_industry.evaluate(plans, rows, provinces=provinces,
                                                      overrides=overrides.get("balance_values")),
                "baseline": sandbox_industry.evaluate(plans, rows, provinces=provinces)}
    return _jsonable({"plan": plan.code, "benchmark_year": year, "data_year": data_year, "scenario": scenario,
                      "baseline": baseline, "balance_values": values, "industry": industry,
                      "benchmarks": {"electricity": rules.electricity_benchmark, "heat": rules.heat_benchmark}})


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    return value


def histogram_svg(histogram: dict, *, width: int = 560, height: int = 220) -> str:
    """A bar chart of entities by surplus/shortfall share, as inline SVG (no script, CSP-safe)."""
    edges, counts = histogram["edges"], histogram["counts"]
    labels = [f"< {edges[0]}%"] + [f"{a}..{b}%" for a, b in zip(edges, edges[1:], strict=False)] + [
        f">= {edges[-1]}%"]
    peak = max(counts) or 1
    bar_w = (width - 40) / len(counts)
    plot_h = height - 60
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="histogram" width="{width}" height="{height}" '
             f'role="img" aria-label="{escape(_("Entities by surplus or shortfall"))}">']
    for i, (label, count) in enumerate(zip(labels, counts, strict=True)):
        h = plot_h * count / peak
        x = 30 + i * bar_w
        fill = "#c0392b" if i <= 2 else "#2e86c1"  # below -20%: what the cap tops up
        parts.append(f'<rect x="{x:.1f}" y="{20 + plot_h - h:.1f}" width="{bar_w - 2:.1f}" height="{h:.1f}" '
                     f'fill="{fill}"><title>{escape(label)}: {count}</title></rect>')
        parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{15 + plot_h - h:.1f}" font-size="10" '
                     f'text-anchor="middle">{count}</text>')
        parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{height - 25}" font-size="8" text-anchor="end" '
                     f'transform="rotate(-45 {x + bar_w / 2:.1f} {height - 25})">{escape(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)
