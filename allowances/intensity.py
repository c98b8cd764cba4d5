"""The intensity-coefficient method of the industrial plans (steel, cement, aluminium; sectors-2025.md s. 4).

Pure Python over Decimal, no Django import: the calculator, the allocation runs and the sandbox call the
same functions, so a facility is allocated the same way through every door. Every figure is a
``formulas.Line`` (formula, inputs, value).

    I = intensity emissions / intensity output, rounded half up to 4 decimals (S4 s. 6.2: intensity 4 dp)
    X = (BP - I) / BP                          (full precision)
    alpha = 0.15 X for -20% < X < 20%; +0.03 for X >= 20%; -0.03 for X <= -20%  (continuous at +-20%)
    A = floor(E x (1 + alpha))                 (floored: 向下取整)

Choices where the plan is silent or the reference is inconsistent:

- **E is whole tonnes.** Verified emissions are rounded half up to whole tonnes before anything else
  (S4 rounds the enterprise total to an integer; mrv reports verified totals the same way), so an exempt
  facility's A = E equals exactly what it must surrender, and the balance value is solved on the same E.
- **Intensity is rounded first** (4 dp, as the issue and S4 say). The worked examples of sectors-2025.md
  (steel 7,158,546; cement 776,347; aluminium 851,334) were computed with the UNROUNDED intensity; with
  the rounded one they come out at 7,158,465, 776,353 and 851,336. The tests show both.
- **Exempt facilities** (A = E) are left out of the balance-value solve (the neutral reading, [C]).
- **Output** must be positive for a facility that is allocated by intensity; an exempt facility may report
  zero output (a closed line), never a negative one.
- **The balance value** is solved by bisection on the exact sum (S(BP) = sum E_i alpha_i(BP) is continuous and
  non-decreasing in BP), then published rounded half up to 4 decimals; allocations use the published value,
  so the sector total lands within rounding of the sector's emissions, not exactly on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

from .formulas import FormulaError, Line, _s, dec, tonnes

EXEMPTIONS = ("white_clinker", "carbide_slag", "gypsum_acid", "hydrogen_furnace", "new", "closed",
              "below_threshold")
COMMON_EXEMPTIONS = ("new", "closed", "below_threshold")
FOUR_DP = Decimal("0.0001")
ZERO = Decimal(0)
ONE = Decimal(1)
BISECTION_STEPS = 80  # halves the bracket 80 times: far below the 4th decimal published


@dataclass(frozen=True)
class IntensityRules:
    """What an industrial plan says for one sector and year (built from an AllocationPlan row)."""

    code: str
    band: Decimal = Decimal("0.20")  # |X| at which alpha stops growing
    slope: Decimal = Decimal("0.15")  # alpha = slope x X inside the band
    exemptions: tuple[str, ...] = EXEMPTIONS  # the codes this sector's plan allows
    all_verified: bool = False  # the first year (2024): every facility gets A = E, no balance value

    @property
    def cap(self) -> Decimal:
        return self.slope * self.band  # 0.03: continuity at +-band


@dataclass(frozen=True)
class FacilityData:
    """One allocation unit's verified year: E for allocation, intensity emissions and output for I."""

    id: str
    verified_emissions_tco2: Decimal
    output_t: Decimal
    intensity_emissions_tco2: Decimal | None = None  # defaults to verified emissions
    exemption: str | None = None


@dataclass
class FacilityResult:
    id: str
    emissions_tco2: int  # E, whole tonnes
    intensity: Decimal | None
    x: Decimal | None
    alpha: Decimal | None
    allocation_tco2: int
    exemption: str | None
    lines: list[Line] = field(default_factory=list)

    @property
    def surplus_tco2(self) -> int:
        return self.allocation_tco2 - self.emissions_tco2


@dataclass
class SectorResult:
    balance_value: Decimal | None
    solved: bool  # True when the balance value was solved from these facilities
    facilities: list[FacilityResult]
    lines: list[Line]

    @property
    def total_tco2(self) -> int:
        return sum(f.allocation_tco2 for f in self.facilities)

    @property
    def emissions_tco2(self) -> int:
        return sum(f.emissions_tco2 for f in self.facilities)


def validate(rules: IntensityRules, facility: FacilityData, prefix: str = "") -> None:
    """Refuse what the method cannot compute; the error names the field and the rule broken."""
    if facility.exemption is not None:
        if facility.exemption not in EXEMPTIONS:
            raise FormulaError(f"Unknown exemption {facility.exemption!r}: must be one of {', '.join(EXEMPTIONS)}.",
                               f"{prefix}exemption")
        if facility.exemption not in rules.exemptions:
            raise FormulaError(f"Exemption {facility.exemption!r} does not apply in plan {rules.code} "
                               f"(allowed: {', '.join(rules.exemptions)}).", f"{prefix}exemption")
    if facility.verified_emissions_tco2 < 0:
        raise FormulaError("verified_emissions_tco2 must not be negative.", f"{prefix}verified_emissions_tco2")
    if facility.intensity_emissions_tco2 is not None and facility.intensity_emissions_tco2 < 0:
        raise FormulaError("intensity_emissions_tco2 must not be negative.", f"{prefix}intensity_emissions_tco2")
    if facility.output_t < 0 or (facility.output_t == 0 and facility.exemption is None and not rules.all_verified):
        raise FormulaError("output_t must be positive (only an exempt facility may report zero output).",
                           f"{prefix}output_t")


def facility_from(raw: dict, prefix: str = "") -> FacilityData:
    """A facility from the calculator's or a run's dict (numbers or numeric strings)."""
    intensity_emissions = raw.get("intensity_emissions_tco2")
    return FacilityData(
        id=str(raw.get("id", "")),
        verified_emissions_tco2=dec(raw.get("verified_emissions_tco2"), f"{prefix}verified_emissions_tco2"),
        output_t=dec(raw.get("output_t"), f"{prefix}output_t"),
        intensity_emissions_tco2=None if intensity_emissions is None else dec(
            intensity_emissions, f"{prefix}intensity_emissions_tco2"),
        exemption=raw.get("exemption") or None)


def intensity(emissions: Decimal, output: Decimal) -> Decimal:
    """I = emissions / output, rounded half up to 4 decimals."""
    return (Decimal(emissions) / Decimal(output)).quantize(FOUR_DP, rounding=ROUND_HALF_UP)


def deviation(balance_value: Decimal, value: Decimal) -> Decimal:
    """X = (BP - I) / BP."""
    return (balance_value - value) / balance_value


def alpha(rules: IntensityRules, x: Decimal) -> Decimal:
    """alpha = slope x X within the band, +-cap beyond (so never more than +-3% of E)."""
    if x >= rules.band:
        return rules.cap
    if x <= -rules.band:
        return -rules.cap
    return rules.slope * x


def floor_tonnes(value: Decimal) -> int:
    """Whole tonnes, rounded down (the plans floor allocations)."""
    return int(Decimal(value).to_integral_value(rounding=ROUND_FLOOR))


def _intensity_of(facility: FacilityData) -> Decimal:
    emissions = facility.intensity_emissions_tco2
    return intensity(facility.verified_emissions_tco2 if emissions is None else emissions, facility.output_t)


def _alpha_sum(rules: IntensityRules, points: list[tuple[Decimal, Decimal]], bp: Decimal) -> Decimal:
    return sum((e * alpha(rules, deviation(bp, i)) for e, i in points), ZERO)


def solve_balance_value(rules: IntensityRules, facilities: list[FacilityData]) -> Decimal | None:
    """BP at which the non-exempt facilities' unrounded allocations sum to their emissions, 4 dp half up.

    S(BP) = sum E_i alpha_i(BP) is -0.03 sum E at BP <= min I / 1.2 and +0.03 sum E at BP >= max I / 0.8,
    continuous and non-decreasing in between, so bisection on that bracket finds the root. None when
    there is nothing to solve (no non-exempt facility with emissions, or every intensity zero).
    """
    points = [(Decimal(tonnes(f.verified_emissions_tco2)), _intensity_of(f))
              for f in facilities if f.exemption is None]
    points = [(e, i) for e, i in points if e > 0]
    positive = [i for _e, i in points if i > 0]
    if not points or not positive:
        return None
    low, high = min(positive) / (ONE + rules.band), max(positive) / (ONE - rules.band)
    for _step in range(BISECTION_STEPS):
        middle = (low + high) / 2
        if _alpha_sum(rules, points, middle) < 0:
            low = middle
        else:
            high = middle
    return ((low + high) / 2).quantize(FOUR_DP, rounding=ROUND_HALF_UP)


def facility_allocation(rules: IntensityRules, balance_value: Decimal | None, facility: FacilityData,
                        prefix: str = "") -> FacilityResult:
    """One facility: A = E when exempt, else floor(E x (1 + alpha)) with the published balance value."""
    validate(rules, facility, prefix)
    e = tonnes(facility.verified_emissions_tco2)
    lines = [Line("E", "verified emissions, rounded half up to whole tonnes",
                  {"verified_emissions_tco2": _s(facility.verified_emissions_tco2)}, str(e))]
    if facility.exemption is not None or rules.all_verified:
        reason = facility.exemption or f"plan {rules.code}: allocation = verified emissions"
        lines.append(Line("A", "exempt facility: allocation = verified emissions", {"exemption": reason,
                                                                                    "E": str(e)}, str(e)))
        return FacilityResult(facility.id, e, None, None, None, e, facility.exemption, lines)
    if balance_value is None or balance_value <= 0:
        raise FormulaError("The balance value must be a positive number (or left out to be solved).",
                           "balance_value")
    i_emissions = (facility.verified_emissions_tco2 if facility.intensity_emissions_tco2 is None
                   else facility.intensity_emissions_tco2)
    i = intensity(i_emissions, facility.output_t)
    x = deviation(balance_value, i)
    a = alpha(rules, x)
    allocation = floor_tonnes(Decimal(e) * (ONE + a))
    band = _s(rules.band * 100)
    lines += [
        Line("I", "intensity emissions / output, rounded half up to 4 decimals",
             {"intensity_emissions_tco2": _s(i_emissions), "output_t": _s(facility.output_t)}, _s(i)),
        Line("X", "(BP - I) / BP", {"BP": _s(balance_value), "I": _s(i)}, _s(x)),
        Line("alpha", f"-{band}% < X < {band}%: {_s(rules.slope)} x X; X >= {band}%: +{_s(rules.cap)}; "
                      f"X <= -{band}%: -{_s(rules.cap)}", {"X": _s(x)}, _s(a)),
        Line("A", "floor(E x (1 + alpha))", {"E": str(e), "alpha": _s(a)}, str(allocation)),
    ]
    return FacilityResult(facility.id, e, i, x, a, allocation, None, lines)


def sector_allocation(rules: IntensityRules, facilities: list[FacilityData],
                      balance_value: Decimal | None = None) -> SectorResult:
    """Every facility of a sector; the balance value is solved from them when not given."""
    for index, facility in enumerate(facilities):
        validate(rules, facility, f"units[{index}].")
    if rules.all_verified:
        balance_value = None
    solved = balance_value is None and not rules.all_verified
    lines = []
    if solved:
        balance_value = solve_balance_value(rules, facilities)
        lines.append(Line("BP", "solved: sum over non-exempt facilities of E x alpha(BP) = 0 (bisection), "
                                "rounded half up to 4 decimals",
                          {"facilities": sum(1 for f in facilities if f.exemption is None)},
                          "" if balance_value is None else _s(balance_value)))
    results = [facility_allocation(rules, balance_value, f, f"units[{index}].")
               for index, f in enumerate(facilities)]
    return SectorResult(balance_value, solved, results, lines)
