"""ETS unit categories (2023-24 plan, Annex 1; DOMAIN.md section 2), derived with the reason why.

Pure functions over a unit's technical facts, so the admin, the API, allocation and the tests
all classify a unit the same way and can show the rule that decided it.
"""

from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

COAL_FUELS = {"coal"}
UNCONVENTIONAL = "unconventional_coal"
GAS = "natural_gas"
RATED_POWER_SPLIT_MW = 400  # "300 MW class and above" means rated power >= 400 MW in Annex 1
EXCLUDED_TECH = {
    "igcc": gettext_noop("IGCC units are not covered"),
    "internal_combustion": gettext_noop("internal combustion units are not covered"),
    "coal_to_gas": gettext_noop("coal-to-gas conversions are not covered"),
    "heat_only": gettext_noop("heat-only boilers are not covered"),
}


@dataclass(frozen=True)
class CategoryResult:
    category: str | None  # "I" | "II" | "III" | "IV" | None (not covered)
    reason: str


def unit_category(*, main_fuel: str, rated_power_mw, is_cfb: bool = False, technology: str = "conventional",
                  biomass_share=0, other_fuel_share=0, unconventional_share=0,
                  commissioning_year: int | None = None, plan_year: int | None = None) -> CategoryResult:
    """Classify one unit. Shares are fractions of annual heat input (0.0-1.0)."""
    biomass, other, unconv = float(biomass_share or 0), float(other_fuel_share or 0), float(unconventional_share or 0)
    if plan_year and commissioning_year and commissioning_year >= plan_year:
        return CategoryResult(None, _("commissioned in %(year)s, not before the plan year %(plan)s")
                              % {"year": commissioning_year, "plan": plan_year})
    if technology in EXCLUDED_TECH:
        return CategoryResult(None, _(EXCLUDED_TECH[technology]))
    if biomass > 0.10:
        return CategoryResult(None, _("biomass co-firing is %(share)s of heat input (more than 10%% excludes)")
                              % {"share": f"{biomass:.0%}"})
    if main_fuel == GAS:
        if other > 0.10:
            return CategoryResult(None, _("gas unit burning %(share)s other fuels (more than 10%% excludes)")
                                  % {"share": f"{other:.0%}"})
        return CategoryResult("IV", _("natural gas is the main fuel, other fuels at most a tenth of heat input"))
    if main_fuel == UNCONVENTIONAL or (main_fuel in COAL_FUELS and unconv > 0.5):
        return CategoryResult("III", _("unconventional coal supplies more than half of annual heat input"))
    if main_fuel in COAL_FUELS:
        if is_cfb:
            return CategoryResult("III", _("coal circulating fluidised bed (CFB) units are category III"))
        if float(rated_power_mw) >= RATED_POWER_SPLIT_MW:
            return CategoryResult("I", _("conventional coal, rated power %(mw)s MW >= 400 MW") % {"mw": rated_power_mw})
        return CategoryResult("II", _("conventional coal, rated power %(mw)s MW < 400 MW") % {"mw": rated_power_mw})
    return CategoryResult(None, _("main fuel %(fuel)s is not covered (oil, special fuels only)") % {"fuel": main_fuel})


def least_favourable(categories: list[str]) -> str:
    """Units reported together take the least favourable category (the lowest benchmark).

    Benchmarks rise I < II < III for coal; gas (IV) has the lowest figure but only applies when
    every unit is gas, so mixed coal groups take the lowest coal category present.
    """
    coal = [c for c in categories if c in ("I", "II", "III")]
    return min(coal, key=("I", "II", "III").index) if coal else "IV"
