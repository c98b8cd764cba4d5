"""The allocation calculator (POST /api/v1/allowances/calculate/): a plan's formula on facilities a caller
describes, line by line; nothing is stored.

A body without ``sector`` (or with ``"power"``) is a power body, unchanged: {plan, units[{category,
electricity_mwh, ...}]} (plans 2019-20 to 2026; 2025-26 add an optional ``exemption`` per unit). An
industrial sector's body is {plan, sector, balance_value?, units[{id, verified_emissions_tco2, output_t,
intensity_emissions_tco2?, exemption?}]}: ``plan`` is the plan's code (cement-2025) or its year (2025);
without ``balance_value`` the balance value is solved from the units given and returned. A field of one
sector sent for another is refused naming it, so a mistaken body never computes silently.
"""

from decimal import Decimal

from django.utils.translation import gettext as _

from cets.common.errors import DomainError
from entities.models import Sector

from . import formulas, intensity, selectors
from .models import AllocationPlan

INDUSTRY_UNIT_FIELDS = {"id", "verified_emissions_tco2", "output_t", "intensity_emissions_tco2", "exemption"}
POWER_UNIT_FIELDS = {"id", "category", "electricity_mwh", "heat_gj", "cooling", "heat_supply_ratio", "load_factor",
                     "verified_emissions_tco2", "is_chp", "exemption"}


def calculate(data: dict) -> dict:
    """Dispatch on the body's sector; a bad value raises DomainError naming the field."""
    sector_code = data.get("sector") or "power"
    sector = Sector.objects.filter(code=str(sector_code), is_active=True).first()
    if sector is None:
        raise DomainError(_("Unknown sector %(s)s.") % {"s": sector_code}, "unknown_sector", "sector")
    units = data.get("units")
    if sector.allocation_method == Sector.AllocationMethod.BENCHMARK:
        _refuse(units, INDUSTRY_UNIT_FIELDS - POWER_UNIT_FIELDS, sector.code)  # other keys: ignored, as before
        if data.get("balance_value") is not None:
            raise DomainError(_("balance_value belongs to the intensity method, not to %(s)s.") % {"s": sector.code},
                              "field_not_in_sector", "balance_value")
        plan = data.get("plan")
        if AllocationPlan.objects.filter(code=str(plan)).exclude(sector_id=sector.code).exists():
            raise DomainError(_("Plan %(code)s is not a %(s)s plan.") % {"code": plan, "s": sector.code},
                              "unknown_plan", "plan")
        return selectors.calculate(plan_code=plan, units=units)
    return _intensity(sector, data, units)


def _refuse(units, refused: set[str] | None, sector: str, allowed: set[str] = frozenset()) -> None:
    """Name the first field of a unit that is not one of ``sector``'s (``refused``, or all but ``allowed``)."""
    for index, raw in enumerate(units if isinstance(units, list) else []):
        keys = set(raw) if isinstance(raw, dict) else set()
        for name in sorted(keys & refused if refused is not None else keys - allowed):
            raise DomainError(_("%(f)s is not a field of a %(s)s facility.") % {"f": name, "s": sector},
                              "field_not_in_sector", f"units[{index}].{name}")


def _intensity(sector: Sector, data: dict, units) -> dict:
    if data.get("plan") in (None, ""):
        raise DomainError(_("Name the plan (e.g. 2025 or %(s)s-2025).") % {"s": sector.code}, "required", "plan")
    plan = selectors.sector_plan(sector.code, data["plan"])
    if not isinstance(units, list) or not units:
        raise DomainError(_("Give at least one facility."), "required", "units")
    _refuse(units, None, sector.code, INDUSTRY_UNIT_FIELDS)
    rules = selectors.intensity_rules(plan)
    try:
        balance_value = None
        if data.get("balance_value") is not None:
            balance_value = formulas.dec(data["balance_value"], "balance_value")
            if balance_value <= 0:
                raise formulas.FormulaError("balance_value must be positive.", "balance_value")
        facilities = []
        for index, raw in enumerate(units):
            if not isinstance(raw, dict):
                raise formulas.FormulaError(_("Each facility must be an object."), f"units[{index}]")
            facilities.append(intensity.facility_from({"id": index, **raw}, f"units[{index}]."))
        result = intensity.sector_allocation(rules, facilities, balance_value)
    except formulas.FormulaError as exc:
        raise DomainError(str(exc), "invalid", exc.field) from exc
    return {
        "plan": plan.code, "sector": sector.code, "method": plan.method,
        "consultation_draft": plan.consultation_draft,
        "balance_value": _str(result.balance_value), "balance_value_solved": result.solved,
        "units": [{"id": f.id, "intensity": _str(f.intensity), "x": _norm(f.x), "alpha": _norm(f.alpha),
                   "exemption": f.exemption, "verified_emissions_tco2": f.emissions_tco2,
                   "allocation_tco2": f.allocation_tco2, "lines": [line.as_dict() for line in f.lines]}
                  for f in result.facilities],
        "sector_total_tco2": result.total_tco2,
        "emissions_total_tco2": result.emissions_tco2,
        "lines": [line.as_dict() for line in result.lines],
    }


def _str(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def _norm(value: Decimal | None) -> str | None:
    return None if value is None else format(value.normalize(), "f")
