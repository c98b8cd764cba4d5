"""From MRV's verified rows to the plan formula: one mapping used by runs, sandbox and balance values.

Pure (no database): ``rows`` are the dicts of ``mrv.selectors.verified_unit_data``.
"""

from collections import defaultdict
from decimal import Decimal

from . import formulas

# Pre-allocation bases (AllocationPlan.pre_allocation_basis)
PREVIOUS_OUTPUT = "previous_output"
PREVIOUS_EMISSIONS = "previous_emissions"


def unit_data(row: dict, *, basis: str) -> formulas.UnitData:
    """The formula's input for one verified unit: supply or generation as the plan's basis says."""
    electricity = row["electricity_generated_mwh"] if basis == "generation" else row["electricity_supplied_mwh"]
    return formulas.UnitData(
        id=str(row["unit_id"]), category=row["category"], electricity_mwh=Decimal(electricity),
        heat_gj=Decimal(row["heat_supplied_gj"]), cooling=row["cooling"],
        heat_supply_ratio=Decimal(row["heat_supply_ratio"]), load_factor=Decimal(row["load_factor"]),
        verified_emissions_tco2=None if row["emissions_tco2"] is None else Decimal(row["emissions_tco2"]),
        is_chp=row["is_chp"],
    )


def by_entity(rows: list[dict]) -> dict[int, list[dict]]:
    grouped: dict[int, list[dict]] = defaultdict(list)
    for row in rows:
        grouped[row["entity_id"]].append(row)
    return grouped


def excluded_line(row: dict) -> formulas.Line:
    return formulas.Line("excluded", "unit not covered by the plan", {"unit": row["unit_code"]},
                         row.get("category_reason") or "")


def is_power(row: dict) -> bool:
    """A generating unit's row (the rows of other sectors name theirs; ``allowances.industry``)."""
    return (row.get("sector") or "power") == "power"


def is_covered(row: dict) -> bool:
    """Whether a plan covers a verified facility: a power unit with a category, or a facility of another
    sector (its sector's plan allocates it). The true-up allocates only these, and an obligation counts only
    their emissions (``selectors.covered_emissions_by_entity``)."""
    return bool(row.get("category")) or not is_power(row)


def emissions_of(row: dict) -> Decimal:
    """A facility's verified emissions (power rows say ``emissions_tco2``, the others
    ``verified_emissions_tco2``)."""
    value = row.get("emissions_tco2") if is_power(row) else row.get("verified_emissions_tco2")
    return Decimal(value or 0)


def true_up(rules: formulas.PlanRules, rows: list[dict], *, basis: str):
    """An entity's final allocation from its verified year: (EntityResult, rows used, excluded lines)."""
    rows = [r for r in rows if is_power(r)]
    covered = [r for r in rows if is_covered(r)]
    excluded = [excluded_line(r) for r in rows if not is_covered(r)]
    result = formulas.entity_allocation(rules, [unit_data(r, basis=basis) for r in covered])
    return result, covered, excluded


def pre_allocation(rules: formulas.PlanRules, rows: list[dict], *, basis: str, pre_basis: str,
                   share: Decimal) -> tuple[list[tuple[dict, int, list[formulas.Line]]], list[formulas.Line]]:
    """Each covered unit's pre-allocation from the previous year's verified data (no relief).

    ``previous_emissions`` (2023-24): share x the unit's verified emissions; ``previous_output``
    (earlier plans): share x the plan formula on the previous year's output. Rounded half up per unit.
    """
    results = []
    for row in rows:
        if not row["category"]:
            continue
        if pre_basis == PREVIOUS_EMISSIONS:
            emissions = Decimal(row["emissions_tco2"])
            exact = emissions * share
            lines = [formulas.Line("pre-allocation", "share x previous year's verified emissions",
                                   {"share": str(share), "verified_emissions_tco2": str(emissions)},
                                   str(formulas.tonnes(exact)))]
        else:
            unit_result = formulas.unit_allocation(rules, unit_data({**row, "emissions_tco2": None}, basis=basis))
            exact = unit_result.exact_tco2 * share
            lines = [*unit_result.lines, formulas.Line(
                "pre-allocation", "share x A (previous year's output x benchmark x corrections)",
                {"share": str(share), "A": str(unit_result.exact_tco2)}, str(formulas.tonnes(exact)))]
        results.append((row, formulas.tonnes(exact), lines))
    return results, [excluded_line(r) for r in rows if not r["category"]]
