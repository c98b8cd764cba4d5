"""Methodology arithmetic, in pure Python: applicability tests, the grid baseline, vintages.

No Django import: every function takes plain values (the methodology's JSON data and a project's
stated facts) so the rules are tested directly and the services only fetch and store.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal, InvalidOperation

OPS = {
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
    "eq": lambda a, b: a == b,
}
_OP_TEXT = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<=", "eq": "="}


def _value(raw):
    """Booleans stay booleans; numbers (JSON numbers or numeric strings) become Decimal."""
    if isinstance(raw, bool) or raw is None:
        return raw
    try:
        return Decimal(str(raw))
    except (InvalidOperation, ValueError):
        return str(raw)


def _holds(condition: dict, facts: dict) -> bool:
    actual = _value(facts.get(condition["field"]))
    expected = _value(condition["value"])
    if actual is None or type(actual) is not type(expected):
        return False
    return OPS[condition["op"]](actual, expected)


def describe(condition: dict) -> str:
    return f"{condition['field']} {_OP_TEXT[condition['op']]} {condition['value']}"


def applicability_failures(applicability: list[list[dict]], facts: dict) -> list[str]:
    """The clauses a project's facts do not satisfy (empty: applicable).

    Every clause must hold; a clause holds when any one of its conditions does.
    """
    failures = []
    for clause in applicability:
        if not any(_holds(condition, facts) for condition in clause):
            failures.append(" or ".join(describe(c) for c in clause))
    return failures


def combined_margin(ef_om: Decimal, ef_bm: Decimal, w_om: Decimal, w_bm: Decimal) -> Decimal:
    """EF_grid,CM = w_OM x EF_grid,OM + w_BM x EF_grid,BM (tCO2/MWh), kept to 6 decimals."""
    return (w_om * ef_om + w_bm * ef_bm).quantize(Decimal("0.000001"))


@dataclass(frozen=True)
class GridBaseline:
    grid: str
    ef_om: Decimal
    ef_bm: Decimal
    w_om: Decimal
    w_bm: Decimal
    ef_cm: Decimal
    net_export_mwh: Decimal
    baseline: Decimal
    reductions: int

    def as_dict(self) -> dict:
        return {"grid": self.grid, "ef_om": str(self.ef_om), "ef_bm": str(self.ef_bm), "w_om": str(self.w_om),
                "w_bm": str(self.w_bm), "ef_cm": str(self.ef_cm), "net_export_mwh": str(self.net_export_mwh),
                "baseline_t": str(self.baseline), "reductions_t": self.reductions}


class RuleError(ValueError):
    """A methodology's data cannot answer for this project (e.g. no grid factor for its province)."""

    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.field = field


def grid_of(parameters: dict, province_code: str) -> str:
    grid = parameters.get("province_grid", {}).get(province_code)
    if not grid:
        raise RuleError(f"The methodology has no regional grid for province {province_code}.", "province")
    return grid


def grid_baseline(parameters: dict, province_code: str, net_export_mwh: Decimal) -> GridBaseline:
    """BE_y = EG_PJ,y x EF_grid,CM,y; PE and LE are zero for wind and solar thermal, so ER = BE.

    Rounded down to whole tonnes: a fraction of a tonne is never credited (conservativeness).
    """
    grid = grid_of(parameters, province_code)
    factors = parameters["grid_factors"][grid]
    ef_om, ef_bm = Decimal(str(factors["ef_om"])), Decimal(str(factors["ef_bm"]))
    w_om, w_bm = Decimal(str(parameters["w_om"])), Decimal(str(parameters["w_bm"]))
    ef_cm = combined_margin(ef_om, ef_bm, w_om, w_bm)
    baseline = (net_export_mwh * ef_cm).quantize(Decimal("0.001"))
    reductions = int(baseline.to_integral_value(rounding=ROUND_FLOOR))
    return GridBaseline(grid, ef_om, ef_bm, w_om, w_bm, ef_cm, net_export_mwh, baseline, reductions)


def reported_ceiling(parameters: dict, capacity: Decimal, start: dt.date, end: dt.date) -> int:
    """The most a reported-figure methodology may credit for a period: capacity x ceiling x years."""
    per_unit_year = Decimal(str(parameters["max_t_per_unit_year"]))
    years = Decimal((end - start).days + 1) / Decimal("365")
    return int((capacity * per_unit_year * years).to_integral_value(rounding=ROUND_FLOOR))


def add_years(day: dt.date, years: int) -> dt.date:
    """The same calendar day ``years`` later (29 February falls back to 28 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def vintage_split(start: dt.date, end: dt.date, quantity: int) -> list[tuple[int, int]]:
    """Split a period's tonnes into calendar-year vintages in proportion to days, summing exactly.

    Largest remainder: each year gets the floor of its share, the leftover tonnes go to the years
    with the largest fractions (the earlier year on a tie), so nothing is created or lost.
    """
    total_days = (end - start).days + 1
    shares = []
    for year in range(start.year, end.year + 1):
        lo, hi = max(start, dt.date(year, 1, 1)), min(end, dt.date(year, 12, 31))
        exact = Decimal(quantity) * Decimal((hi - lo).days + 1) / Decimal(total_days)
        shares.append([year, int(exact), exact - int(exact)])
    leftover = quantity - sum(s[1] for s in shares)
    for share in sorted(shares, key=lambda s: (-s[2], s[0]))[:leftover]:
        share[1] += 1
    return [(year, qty) for year, qty, _ in shares if qty > 0]
