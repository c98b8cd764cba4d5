"""From MRV's verified facility rows to the industrial plans (steel, cement, aluminium and any sector added as
data): exemptions, pre-allocation and true-up per facility. Pure (no database); ``rows`` are the dicts of
``mrv.selectors.verified_unit_data`` with the keys of INTERFACES.md (sector, unit_id, entity_id,
verified_emissions_tco2, output_t, intensity_emissions_tco2, intensity_output_t, attributes,
carbide_slag_rate, commissioned_in_year, status).

Choices where the plans are silent:

- **Which exemption** a facility gets is read from its verified data and attributes, in this order: closed
  (the facility's status is ``retired``),
  new (commissioned that year), below threshold (the entity's verified emissions in the sector below the
  sector's 26,000 t), then the sector's own (white clinker only, gypsum-to-sulphuric-acid, hydrogen-rich
  furnace, carbide slag above the plan's threshold; S1 says "> 30 %", so a rate equal to it is not exempt).
  Only codes the plan lists apply; one code is recorded per facility.
- **Pre-allocation** = share x the previous year's verified emissions of the facility, floored (the plans
  floor, [A]); a share of 0 (the 2024 plans) pre-allocates nothing.
- **Intensity** uses ``intensity_emissions_tco2 / intensity_output_t`` (steel: sintering + ironmaking over
  ironmaking output), falling back to the verified emissions and ``output_t`` when a figure is missing.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from . import intensity
from .calculation import is_power
from .formulas import Line, tonnes

POWER = "power"
CLOSED_STATUSES = ("retired",)  # entities.Unit.Status: a retired facility was closed before 核定


@dataclass(frozen=True)
class SectorPlan:
    """One sector's plan for the run's year, as the run needs it."""

    code: str
    rules: intensity.IntensityRules
    balance_value: Decimal | None = None
    carbide_slag_threshold: Decimal | None = None
    pre_allocation_share: Decimal = Decimal(0)
    threshold_tco2: int = 26000


def sector_of(row: dict) -> str:
    return row.get("sector") or POWER


def is_industrial(row: dict) -> bool:
    return not is_power(row)


def entity_sector_totals(rows: list[dict]) -> dict[tuple[int, str], int]:
    """Verified emissions per (entity, sector) in whole tonnes: the 26,000 t test of the neutral case."""
    totals: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    for row in rows:
        if is_industrial(row):
            totals[(row["entity_id"], sector_of(row))] += Decimal(row["verified_emissions_tco2"] or 0)
    return {key: tonnes(value) for key, value in totals.items()}


def exemption_of(row: dict, plan: SectorPlan, entity_total: int) -> str | None:
    """The plan's exemption code that applies to a verified facility, or None."""
    attributes = row.get("attributes") or {}
    rate = row.get("carbide_slag_rate")
    candidates = [
        ("closed", row.get("status") in CLOSED_STATUSES),
        ("new", bool(row.get("commissioned_in_year"))),
        ("below_threshold", entity_total < plan.threshold_tco2),
        ("white_clinker", attributes.get("clinker_type") == "white_portland"),
        ("gypsum_acid", bool(attributes.get("gypsum_acid"))),
        ("hydrogen_furnace", bool(attributes.get("hydrogen_furnace"))),
        ("carbide_slag", rate is not None and plan.carbide_slag_threshold is not None
         and Decimal(rate) > plan.carbide_slag_threshold),
    ]
    return next((code for code, applies in candidates if applies and code in plan.rules.exemptions), None)


def facility_data(row: dict, plan: SectorPlan, entity_total: int) -> intensity.FacilityData:
    emissions = Decimal(row["verified_emissions_tco2"] or 0)
    output = row.get("intensity_output_t")
    i_emissions = row.get("intensity_emissions_tco2")
    return intensity.FacilityData(
        id=str(row["unit_id"]), verified_emissions_tco2=emissions,
        output_t=Decimal(output if output is not None else row.get("output_t") or 0),
        intensity_emissions_tco2=None if i_emissions is None else Decimal(i_emissions),
        exemption=exemption_of(row, plan, entity_total))


def sector_facilities(plans: dict[str, SectorPlan], rows: list[dict]) -> dict[str, list[intensity.FacilityData]]:
    """Every industrial facility with a plan, grouped by sector (for solving balance values)."""
    totals = entity_sector_totals(rows)
    grouped: dict[str, list[intensity.FacilityData]] = defaultdict(list)
    for row in rows:
        sector = sector_of(row)
        if sector in plans:
            grouped[sector].append(facility_data(row, plans[sector], totals[(row["entity_id"], sector)]))
    return grouped


def solve(plans: dict[str, SectorPlan], rows: list[dict]) -> dict[str, Decimal | None]:
    """The balance value of each sector's plan solved on its verified facilities (4 dp, half up)."""
    return {sector: intensity.solve_balance_value(plans[sector].rules, facilities)
            for sector, facilities in sector_facilities(plans, rows).items()}


def _no_plan_line(row: dict) -> Line:
    return Line("excluded", "no published plan of the facility's sector for the year",
                {"unit": row.get("unit_code") or row["unit_id"], "sector": sector_of(row)}, "")


def true_up(plans: dict[str, SectorPlan], rows: list[dict], totals: dict[tuple[int, str], int]):
    """An entity's industrial facilities: ([(row, allocation, lines)], excluded lines, verified tonnes)."""
    results, excluded, verified = [], [], 0
    for row in rows:
        plan = plans.get(sector_of(row))
        if plan is None:
            excluded.append(_no_plan_line(row))
            continue
        facility = facility_data(row, plan, totals.get((row["entity_id"], sector_of(row)), 0))
        result = intensity.facility_allocation(plan.rules, plan.balance_value, facility)
        lines = [Line("plan", "the facility's sector plan", {"sector": sector_of(row)}, plan.code),
                 *([Line("BP", "published balance value of the sector", {}, str(plan.balance_value))]
                   if plan.balance_value is not None and facility.exemption is None else []),
                 *result.lines]
        results.append((row, result.allocation_tco2, lines))
        verified += result.emissions_tco2
    return results, excluded, verified


def pre_allocation(plans: dict[str, SectorPlan], rows: list[dict]):
    """Share x the previous year's verified emissions per facility, floored: ([(row, amount, lines)], excluded)."""
    results, excluded = [], []
    for row in rows:
        plan = plans.get(sector_of(row))
        if plan is None:
            excluded.append(_no_plan_line(row))
            continue
        if not plan.pre_allocation_share:
            continue
        emissions = tonnes(Decimal(row["verified_emissions_tco2"] or 0))
        amount = intensity.floor_tonnes(plan.pre_allocation_share * emissions)
        results.append((row, amount, [Line("pre-allocation", "floor(share x previous year's verified emissions)",
                                           {"plan": plan.code, "share": str(plan.pre_allocation_share),
                                            "verified_emissions_tco2": str(emissions)}, str(amount))]))
    return results, excluded
