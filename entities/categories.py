"""ETS unit categories (2023-24 plan, Annex 1; DOMAIN.md section 2), derived with the reason why.

Pure functions over a unit's technical facts, so the admin, the API, allocation and the tests
all classify a unit the same way and can show the rule that decided it.
"""

from dataclasses import dataclass

COAL_FUELS = {"coal"}
UNCONVENTIONAL = "unconventional_coal"
GAS = "natural_gas"
RATED_POWER_SPLIT_MW = 400  # "300 MW class and above" means rated power >= 400 MW in Annex 1
EXCLUDED_TECH = {
    "igcc": "IGCC units are not covered",
    "internal_combustion": "internal combustion units are not covered",
    "coal_to_gas": "coal-to-gas conversions are not covered",
    "heat_only": "heat-only boilers are not covered",
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
        return CategoryResult(None, f"commissioned in {commissioning_year}, not before the plan year {plan_year}")
    if technology in EXCLUDED_TECH:
        return CategoryResult(None, EXCLUDED_TECH[technology])
    if biomass > 0.10:
        return CategoryResult(None, f"biomass co-firing is {biomass:.0%} of heat input (more than 10% excludes)")
    if main_fuel == GAS:
        if other > 0.10:
            return CategoryResult(None, f"gas unit burning {other:.0%} other fuels (more than 10% excludes)")
        return CategoryResult("IV", "natural gas is the main fuel, other fuels at most 10% of heat input")
    if main_fuel == UNCONVENTIONAL or (main_fuel in COAL_FUELS and unconv > 0.5):
        return CategoryResult("III", "unconventional coal is more than 50% of annual heat input")
    if main_fuel in COAL_FUELS:
        if is_cfb:
            return CategoryResult("III", "coal circulating fluidised bed (CFB) units are category III")
        if float(rated_power_mw) >= RATED_POWER_SPLIT_MW:
            return CategoryResult("I", f"conventional coal, rated power {rated_power_mw} MW >= 400 MW")
        return CategoryResult("II", f"conventional coal, rated power {rated_power_mw} MW < 400 MW")
    return CategoryResult(None, f"main fuel {main_fuel} is not covered (oil, special fuels only)")


def least_favourable(categories: list[str]) -> str:
    """Units reported together take the least favourable category (the lowest benchmark).

    Benchmarks rise I < II < III for coal; gas (IV) has the lowest figure but only applies when
    every unit is gas, so mixed coal groups take the lowest coal category present.
    """
    coal = [c for c in categories if c in ("I", "II", "III")]
    return min(coal, key=("I", "II", "III").index) if coal else "IV"
