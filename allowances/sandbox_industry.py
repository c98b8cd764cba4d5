"""The policy sandbox for the intensity sectors: balance values, surplus/deficit by sector and province,
and the facilities at the +-3% bounds, evaluated on verified rows with the same ``allowances.intensity``
functions as the true-up. Pure (no database): plans come from ``selectors.industry_plans``.

Choices: the balance value used is, in order, the scenario's override, the published value, the value
solved on these rows. A facility is "at a bound" when its alpha is the plan's cap (+3% at or beyond
X = +20%, -3% at or beyond -20%); ``entities_at_upper_bound`` / ``entities_at_lower_bound`` count the
entities with at least one such facility (a steel works is one facility, a cement group several lines).
"""

from collections import defaultdict
from decimal import Decimal

from . import industry, intensity


def _bucket() -> dict:
    return {"allocation_tco2": 0, "emissions_tco2": 0, "surplus_tco2": 0, "facilities": 0}


def sector_evaluate(plan: industry.SectorPlan, rows: list[dict], totals: dict, *, provinces: dict,
                    override: Decimal | None = None) -> dict:
    """One sector's allocations on its verified facilities under ``plan`` (or an overriding balance value)."""
    facilities = [(row, industry.facility_data(row, plan, totals.get((row["entity_id"], industry.sector_of(row)), 0)))
                  for row in rows]
    solved = None if plan.rules.all_verified else intensity.solve_balance_value(
        plan.rules, [f for _row, f in facilities])
    used = override or plan.balance_value or solved
    summary = {**_bucket(), "plan": plan.code, "balance_value_published": plan.balance_value,
               "balance_value_solved": solved, "balance_value_used": used, "exempt": 0,
               "facilities_at_upper_bound": 0, "facilities_at_lower_bound": 0}
    by_province: dict[str, dict] = defaultdict(_bucket)
    upper, lower = set(), set()
    for row, facility in facilities:
        if used is None and facility.exemption is None and not plan.rules.all_verified:
            continue  # nothing to allocate by (no balance value solvable)
        result = intensity.facility_allocation(plan.rules, used, facility)
        for bucket in (summary, by_province[provinces.get(row["entity_id"], "?")]):
            bucket["allocation_tco2"] += result.allocation_tco2
            bucket["emissions_tco2"] += result.emissions_tco2
            bucket["surplus_tco2"] += result.surplus_tco2
            bucket["facilities"] += 1
        summary["exempt"] += 1 if result.alpha is None else 0
        if result.alpha is not None and abs(result.alpha) == plan.rules.cap:
            (upper if result.alpha > 0 else lower).add(row["entity_id"])
            summary["facilities_at_upper_bound" if result.alpha > 0 else "facilities_at_lower_bound"] += 1
    summary.update(entities_at_upper_bound=len(upper), entities_at_lower_bound=len(lower),
                   by_province=dict(sorted(by_province.items())))
    return summary


def evaluate(plans: dict, rows: list[dict], *, provinces: dict, overrides: dict | None = None) -> dict:
    """Every intensity sector with a plan: ``{sector: sector_evaluate(...)}``."""
    overrides = overrides or {}
    totals = industry.entity_sector_totals(rows)
    by_sector: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        if industry.is_industrial(row):
            by_sector[industry.sector_of(row)].append(row)
    return {sector: sector_evaluate(plan, by_sector.get(sector, []), totals, provinces=provinces,
                                    override=Decimal(overrides[sector]) if sector in overrides else None)
            for sector, plan in sorted(plans.items())}
