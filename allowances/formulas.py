"""The allocation formulas of the power-sector plans (DOMAIN.md section 4), pure Python over Decimal.

No Django import: the calculator API, the allocation runs, the portal's explanation and the policy
sandbox all call these functions, so one unit is computed the same way through every door.

Every factor returns a ``Line`` carrying the formula as published, the inputs used and the value,
so an entity and the allocation officer can follow a result line by line.

Rounding (stated once, used everywhere): factors and products keep full Decimal precision (28
significant digits); each unit's allocation is rounded to whole tonnes *once, at the end*, half up
(ROUND_HALF_UP, as the plans' annex tables round); the entity's total is the sum of its rounded
unit figures. Relief targets (a gas unit's verified emissions, 80% of an entity's verified
emissions) are rounded half up to whole tonnes the same way before the top-up is computed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

CATEGORIES = ("I", "II", "III", "IV")
COOLING = ("water", "air", "back_pressure")
GAS_CATEGORY = "IV"

# Correction schemes (AllocationPlan.correction_scheme)
SUPPLY_CORRECTIONS = "supply_corrections"  # 2019-20 and 2021-22: F_cool x F_heat x F_load
PEAK_FACTOR = "peak_factor"  # 2023-24: F_f peak-regulation factor on categories I and II

# Peak-regulation formulas (AllocationPlan.peak_formula)
PEAK_2023 = "power_2023"  # 2023-24: 1.015^(16 - 20F) below the threshold (0.65)
PEAK_GB21258 = "gb21258_2024"  # 2025-26 draft: the GB 21258-2024 curve below 0.50

# Units a 2025-26 power plan allocates their verified emissions (sectors-2025.md s. 6, S1 draft [A]).
POWER_EXEMPTIONS = ("biomass_cofiring", "secondary_energy", "biomass_and_secondary", "special_fuels", "waste_gas",
                    "coal_to_gas", "oil_igcc_ice", "emergency_backup", "green_hydrogen")

ONE = Decimal(1)
# The load-factor correction table of the 2019-20 plan (kept by 2021-22), in percent points of load.
LOAD_FULL = Decimal("0.85")
LOAD_MID = Decimal("0.80")
LOAD_LOW = Decimal("0.75")
LOAD_SLOPE_HIGH = Decimal("0.0014")  # 0.80 <= F < 0.85: 1 + 0.0014 x (85 - 100F)
LOAD_BASE_MID = Decimal("1.007")  # 0.75 <= F < 0.80: 1.007 + 0.0016 x (80 - 100F)
LOAD_SLOPE_MID = Decimal("0.0016")
LOAD_POWER_BASE = Decimal("1.015")  # F < 0.75 (and 2023-24 F < 0.65): 1.015^(16 - 20F)


class FormulaError(ValueError):
    """An input the formula cannot take; ``field`` names it (mapped to the API error shape)."""

    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class PlanRules:
    """What a plan says that the formula needs; built from an AllocationPlan row (or a scenario)."""

    code: str
    correction_scheme: str
    electricity_benchmark: dict[str, Decimal]  # category -> tCO2/MWh
    heat_benchmark: dict[str, Decimal]  # category -> tCO2/GJ
    cooling_factors: dict[str, Decimal] = field(default_factory=lambda: {
        "water": Decimal("1.00"), "air": Decimal("1.05"), "back_pressure": Decimal("1.00")})
    heat_ratio_coefficient: Decimal = Decimal("0.22")
    gas_heat_ratio_coefficient: Decimal = Decimal("0.6")
    load_factor_for_chp: bool = True
    peak_threshold: Decimal = Decimal("0.65")
    peak_categories: frozenset = frozenset({"I", "II"})
    peak_formula: str = PEAK_2023
    exemptions: tuple[str, ...] = ()  # POWER_EXEMPTIONS codes allocated A = E by this plan
    gas_relief: bool = True
    entity_relief_floor: Decimal | None = Decimal("0.80")


@dataclass(frozen=True)
class UnitData:
    """One unit's activity data for a year. Fractions are 0..1; ``is_chp`` defaults to heat ratio > 0."""

    id: str
    category: str
    electricity_mwh: Decimal
    heat_gj: Decimal = Decimal(0)
    cooling: str = "water"
    heat_supply_ratio: Decimal = Decimal(0)
    load_factor: Decimal = ONE
    verified_emissions_tco2: Decimal | None = None
    is_chp: bool | None = None
    exemption: str | None = None  # a POWER_EXEMPTIONS code: A = verified emissions (2025-26 plans)


@dataclass(frozen=True)
class Line:
    """One step of a calculation: the formula as published, its inputs and the value it gave."""

    label: str
    formula: str
    inputs: dict
    value: str

    def as_dict(self) -> dict:
        return {"label": self.label, "formula": self.formula, "inputs": self.inputs, "value": self.value}


@dataclass
class UnitResult:
    id: str
    category: str
    exact_tco2: Decimal  # before rounding and relief
    electricity_tco2: Decimal  # A_e, exact
    heat_tco2: Decimal  # A_h, exact
    base_tco2: int  # rounded, before relief
    gas_relief_tco2: int
    lines: list[Line]

    @property
    def allocation_tco2(self) -> int:
        return self.base_tco2 + self.gas_relief_tco2


@dataclass
class EntityResult:
    units: list[UnitResult]
    base_tco2: int
    gas_relief_tco2: int
    entity_relief_tco2: int
    verified_emissions_tco2: int | None
    lines: list[Line]

    @property
    def relief_tco2(self) -> int:
        return self.gas_relief_tco2 + self.entity_relief_tco2

    @property
    def total_tco2(self) -> int:
        return self.base_tco2 + self.relief_tco2


def tonnes(value: Decimal) -> int:
    """Whole tonnes, half up: the one rounding of allocation results."""
    return int(Decimal(value).quantize(ONE, rounding=ROUND_HALF_UP))


def _s(value) -> str:
    return format(Decimal(value).normalize(), "f") if isinstance(value, Decimal) else str(value)


def dec(value, field_name: str) -> Decimal:
    """A finite Decimal from a number or numeric string; anything else names the field."""
    if isinstance(value, bool) or value is None:
        raise FormulaError(f"{field_name} must be a number.", field_name)
    try:
        result = Decimal(str(value))
    except Exception as exc:
        raise FormulaError(f"{field_name} must be a number.", field_name) from exc
    if not result.is_finite():
        raise FormulaError(f"{field_name} must be a finite number.", field_name)
    return result


def validate_unit(unit: UnitData, prefix: str = "") -> None:
    """Refuse what no plan can compute: the error names the field and the rule broken."""
    if unit.category not in CATEGORIES:
        raise FormulaError(f"Unknown unit category {unit.category!r}: must be one of I, II, III, IV.",
                           f"{prefix}category")
    if unit.cooling not in COOLING:
        raise FormulaError(f"Unknown cooling {unit.cooling!r}: must be water, air or back_pressure.",
                           f"{prefix}cooling")
    for name in ("electricity_mwh", "heat_gj"):
        if getattr(unit, name) < 0:
            raise FormulaError(f"{name} must not be negative.", f"{prefix}{name}")
    for name in ("heat_supply_ratio", "load_factor"):
        value = getattr(unit, name)
        if value < 0 or value > 1:
            raise FormulaError(f"{name} must be a fraction between 0 and 1 (got {_s(value)}).", f"{prefix}{name}")
    if unit.verified_emissions_tco2 is not None and unit.verified_emissions_tco2 < 0:
        raise FormulaError("verified_emissions_tco2 must not be negative.", f"{prefix}verified_emissions_tco2")
    if unit.exemption is not None:
        if unit.exemption not in POWER_EXEMPTIONS:
            raise FormulaError(f"Unknown exemption {unit.exemption!r}: must be one of {', '.join(POWER_EXEMPTIONS)}.",
                               f"{prefix}exemption")
        if unit.verified_emissions_tco2 is None:
            raise FormulaError("An exempt unit is allocated its verified emissions: give verified_emissions_tco2.",
                               f"{prefix}verified_emissions_tco2")


def cooling_factor(rules: PlanRules, cooling: str) -> Line:
    value = rules.cooling_factors[cooling]
    return Line("F_cool", "water-cooled 1.00, air-cooled 1.05, back-pressure no correction",
                {"cooling": cooling}, _s(value))


def heat_factor(rules: PlanRules, ratio: Decimal) -> Line:
    value = ONE - rules.heat_ratio_coefficient * ratio
    return Line("F_heat", f"1 - {_s(rules.heat_ratio_coefficient)} x heat-supply ratio",
                {"heat_supply_ratio": _s(ratio)}, _s(value))


def load_factor_correction(load: Decimal) -> Line:
    """F_load of the 2019-20 table: 1 at 85% and above, rising as the load factor falls."""
    if load >= LOAD_FULL:
        return Line("F_load", "F >= 0.85: 1", {"load_factor": _s(load)}, "1")
    if load >= LOAD_MID:
        value = ONE + LOAD_SLOPE_HIGH * (85 - 100 * load)
        return Line("F_load", "0.80 <= F < 0.85: 1 + 0.0014 x (85 - 100F)", {"load_factor": _s(load)}, _s(value))
    if load >= LOAD_LOW:
        value = LOAD_BASE_MID + LOAD_SLOPE_MID * (80 - 100 * load)
        return Line("F_load", "0.75 <= F < 0.80: 1.007 + 0.0016 x (80 - 100F)", {"load_factor": _s(load)},
                    _s(value))
    value = LOAD_POWER_BASE ** (16 - 20 * load)
    return Line("F_load", "F < 0.75: 1.015^(16 - 20F)", {"load_factor": _s(load)}, _s(value))


def peak_factor(rules: PlanRules, load: Decimal) -> Line:
    """F_f below the plan's threshold, 1 above it (a jump in both plans, as published).

    2023-24: 1.015^(16 - 20F) for F < 0.65 (1.0457 just below 0.65).
    2025-26 draft (GB 21258-2024, conventional coal): for F < 50% (F in percent)
    F_f = 7.254 - 0.633 (1 - e^(-F/29.822)) - 5.643 (1 - e^(-F/6.871)). Checked: the curve is smooth and
    tends to 1.0001 at F = 100% (1.029 at 75%), so it is a coal-consumption-versus-load curve normalised at
    full load, which says the constants were extracted faithfully; the plan applies it only below 50%,
    where it gives 1.1003 at F -> 50% (1.1007 at 49.9%), 1.160 at 40%, 1.281 at 30%, 1.609 at 20%,
    2.747 at 10%, 4.24 at 5% and 7.254 at 0. The step of 10% at 50% is the published rule, as the 2023-24
    plan's step of 4.6% at 65% was: CETS applies it as written (a cap or rescaling would allocate other
    figures than the Ministry's); the threshold is plan data (``peak_threshold``) a regulator can edit.
    """
    inputs = {"load_factor": _s(load)}
    if load >= rules.peak_threshold:
        return Line("F_f", f"F >= {_s(rules.peak_threshold)}: 1", inputs, "1")
    if rules.peak_formula == PEAK_GB21258:
        percent = load * 100
        value = (Decimal("7.254") - Decimal("0.633") * (ONE - (-percent / Decimal("29.822")).exp())
                 - Decimal("5.643") * (ONE - (-percent / Decimal("6.871")).exp()))
        return Line("F_f", f"F < {_s(rules.peak_threshold)}: 7.254 - 0.633(1 - e^(-F/29.822)) "
                           f"- 5.643(1 - e^(-F/6.871)), F in %", inputs, _s(value))
    value = LOAD_POWER_BASE ** (16 - 20 * load)
    return Line("F_f", f"F < {_s(rules.peak_threshold)}: 1.015^(16 - 20F)", inputs, _s(value))


def unit_allocation(rules: PlanRules, unit: UnitData) -> UnitResult:
    """One unit's allocation under ``rules``, rounded half up to whole tonnes, gas relief applied."""
    validate_unit(unit)
    if unit.exemption is not None:
        return _exempt_unit(rules, unit)
    b_e = rules.electricity_benchmark[unit.category]
    b_h = rules.heat_benchmark[unit.category]
    q, q_h = unit.electricity_mwh, unit.heat_gj
    lines: list[Line] = [
        Line("B_e", "electricity benchmark of the category (tCO2/MWh)", {"category": unit.category}, _s(b_e)),
        Line("B_h", "heat benchmark of the category (tCO2/GJ)", {"category": unit.category}, _s(b_h)),
    ]
    factors: list[Line] = []
    gas = unit.category == GAS_CATEGORY
    if rules.correction_scheme == SUPPLY_CORRECTIONS:
        if gas:
            value = ONE - rules.gas_heat_ratio_coefficient * unit.heat_supply_ratio
            factors.append(Line("F_heat", f"1 - {_s(rules.gas_heat_ratio_coefficient)} x heat-supply ratio",
                                {"heat_supply_ratio": _s(unit.heat_supply_ratio)}, _s(value)))
        else:
            factors.append(cooling_factor(rules, unit.cooling))
            factors.append(heat_factor(rules, unit.heat_supply_ratio))
            chp = unit.is_chp if unit.is_chp is not None else unit.heat_supply_ratio > 0
            if not chp or rules.load_factor_for_chp:
                factors.append(load_factor_correction(unit.load_factor))
            else:
                factors.append(Line("F_load", "this plan corrects load only for pure-condensing units: 1",
                                    {"chp": "yes"}, "1"))
        q_label = "Q_supply"
    else:
        if unit.category in rules.peak_categories:
            factors.append(peak_factor(rules, unit.load_factor))
        q_label = "Q_gen"
    product = ONE
    for line in factors:
        product *= Decimal(line.value)
    lines.extend(factors)
    electricity = q * b_e * product
    heat = q_h * b_h
    names = " x ".join(line.label for line in factors)
    lines.append(Line("A_e", f"{q_label} x B_e" + (f" x {names}" if names else ""),
                      {q_label: _s(q), "B_e": _s(b_e), **{line.label: line.value for line in factors}},
                      _s(electricity)))
    lines.append(Line("A_h", "Q_heat x B_h", {"Q_heat": _s(q_h), "B_h": _s(b_h)}, _s(heat)))
    exact = electricity + heat
    base = tonnes(exact)
    lines.append(Line("A", "A_e + A_h, rounded half up to whole tonnes", {"A_e": _s(electricity), "A_h": _s(heat)},
                      str(base)))
    relief = 0
    if gas and rules.gas_relief and unit.verified_emissions_tco2 is not None:
        target = tonnes(unit.verified_emissions_tco2)
        if base < target:
            relief = target - base
            lines.append(Line("gas relief", "gas unit below its verified emissions: topped up to them",
                              {"A": str(base), "verified_emissions_tco2": str(target)}, str(relief)))
    return UnitResult(unit.id, unit.category, exact, electricity, heat, base, relief, lines)


def _exempt_unit(rules: PlanRules, unit: UnitData) -> UnitResult:
    """A = verified emissions (half up, the relief rounding) for a unit the plan exempts (2025-26)."""
    if unit.exemption not in rules.exemptions:
        raise FormulaError(f"Plan {rules.code} does not allocate verified emissions to {unit.exemption!r} units.",
                           "exemption")
    emissions = tonnes(unit.verified_emissions_tco2)
    line = Line("A", "exempt unit: allocation = verified emissions, rounded half up",
                {"exemption": unit.exemption, "verified_emissions_tco2": _s(unit.verified_emissions_tco2)},
                str(emissions))
    return UnitResult(unit.id, unit.category, Decimal(emissions), Decimal(0), Decimal(0), emissions, 0, [line])


def entity_allocation(rules: PlanRules, units: list[UnitData]) -> EntityResult:
    """Per-unit allocations summed per entity, then the 20% shortfall cap.

    The entity top-up needs verified emissions for every unit (otherwise "80% of verified
    emissions" is not known); gas relief is per unit and applies wherever a figure is given.
    """
    results = [unit_allocation(rules, unit) for unit in units]
    base = sum(r.base_tco2 for r in results)
    gas_relief = sum(r.gas_relief_tco2 for r in results)
    lines: list[Line] = []
    verified = None
    entity_relief = 0
    if units and all(u.verified_emissions_tco2 is not None for u in units):
        verified = tonnes(sum(u.verified_emissions_tco2 for u in units))
        if rules.entity_relief_floor is not None:
            floor = tonnes(Decimal(verified) * rules.entity_relief_floor)
            allocated = base + gas_relief
            if allocated < floor:
                entity_relief = floor - allocated
                lines.append(Line(
                    "entity relief",
                    f"entity allocation below {_s(rules.entity_relief_floor * 100)}% of verified emissions: "
                    f"topped up to it",
                    {"allocation_tco2": str(allocated), "verified_emissions_tco2": str(verified),
                     "floor_tco2": str(floor)}, str(entity_relief)))
    return EntityResult(results, base, gas_relief, entity_relief, verified, lines)
