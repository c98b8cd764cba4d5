"""ETS unit categories (DOMAIN.md section 2), derived per plan year with the reason why.

Pure functions over a unit's technical facts, so the admin, the API, allocation and the tests
all classify a unit the same way and can show the rule that decided it.

Two rule sets:
- plans up to 2024 (2023-24 plan, Annex 1; earlier plans the same): IGCC, internal combustion, coal-to-gas
  conversions, heat-only boilers, oil and special fuels, biomass co-firing above 10% and gas units burning
  more than 10% other fuels are not covered.
- plans from 2025 (S1 draft, sectors-2025.md section 6): those units (and a few new cases) are covered and
  allocated their verified emissions (A = E). The result carries the plan's exemption code
  (``allowances.formulas.POWER_EXEMPTIONS``) and, where the fuel gives one, the category the unit would
  otherwise have. Heat-only boilers stay out (not generating units) and so do gas units burning more than
  10% other fuels: S1 lists neither among the A = E cases, and its category IV is still "gas, other
  fuels at most a tenth" (our reading; a plan edit would change it).
"""

from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

COAL_FUELS = {"coal"}
UNCONVENTIONAL = "unconventional_coal"
GAS = "natural_gas"
OIL = "oil"
SPECIAL = "other"
WASTE_GAS = "waste_gas"
RATED_POWER_SPLIT_MW = 400  # "300 MW class and above" means rated power >= 400 MW in Annex 1
EXCLUDED_TECH = {
    "igcc": gettext_noop("IGCC units are not covered"),
    "internal_combustion": gettext_noop("internal combustion units are not covered"),
    "coal_to_gas": gettext_noop("coal-to-gas conversions are not covered"),
    "heat_only": gettext_noop("heat-only boilers are not covered"),
}
A_EQUALS_E_FROM = 2025  # first plan year whose power plan allocates the special cases their emissions
TENTH, FIFTH = Decimal("0.10"), Decimal("0.20")
# 2025+ technologies allocated A = E, with the plan's exemption code
EXEMPT_TECH = {"igcc": ("oil_igcc_ice", gettext_noop("IGCC unit")),
               "internal_combustion": ("oil_igcc_ice", gettext_noop("internal combustion unit")),
               "coal_to_gas": ("coal_to_gas", gettext_noop("coal-to-gas boiler conversion"))}
EXEMPT_FUEL = {OIL: ("oil_igcc_ice", gettext_noop("oil-fired unit")),
               SPECIAL: ("special_fuels", gettext_noop("burns special fuels only")),
               WASTE_GAS: ("waste_gas", gettext_noop("burns its own waste gas only"))}


@dataclass(frozen=True)
class CategoryResult:
    category: str | None  # "I" | "II" | "III" | "IV" | None (no benchmark category)
    reason: str
    exemption: str | None = None  # 2025+ plans: the A = E code; the unit is covered, allocated its emissions

    @property
    def is_covered(self) -> bool:
        return self.category is not None or self.exemption is not None


def _pct(value: Decimal) -> str:
    return f"{float(value):.0%}"


def _exemption(*, main_fuel, technology, biomass: Decimal, secondary: Decimal, hydrogen: Decimal,
               emergency_backup: bool) -> tuple[str, str] | None:
    """The 2025+ A = E case of a unit and the reason, or None (the first that applies, in S1's order of gravity:
    the unit's role, its technology, its fuel, then its fuel shares)."""
    if emergency_backup:
        return "emergency_backup", _("emergency-backup unit")
    if technology in EXEMPT_TECH:
        code, reason = EXEMPT_TECH[technology]
        return code, _(reason)
    if main_fuel in EXEMPT_FUEL:
        code, reason = EXEMPT_FUEL[main_fuel]
        return code, _(reason)
    if biomass > FIFTH:
        return "biomass_cofiring", _("biomass co-firing %(share)s of heat input (more than 20%%)") % {
            "share": _pct(biomass)}
    if secondary > TENTH:
        return "secondary_energy", _("own secondary energy %(share)s of heat input (more than 10%%)") % {
            "share": _pct(secondary)}
    if biomass + secondary > FIFTH:
        return "biomass_and_secondary", _("biomass and own secondary energy together %(share)s of heat input "
                                          "(more than 20%%)") % {"share": _pct(biomass + secondary)}
    if hydrogen > FIFTH:
        return "green_hydrogen", _("green hydrogen / ammonia %(share)s of heat input (more than 20%%)") % {
            "share": _pct(hydrogen)}
    return None


def unit_category(*, main_fuel: str, rated_power_mw, is_cfb: bool = False, technology: str = "conventional",
                  biomass_share=0, other_fuel_share=0, unconventional_share=0,
                  commissioning_year: int | None = None, plan_year: int | None = None,
                  secondary_energy_share=0, green_hydrogen_share=0, is_emergency_backup: bool = False,
                  rules_year: int | None = None) -> CategoryResult:
    """Classify one unit for a plan year (None: the 2023-24 rules). Shares are fractions of annual heat input.

    ``rules_year`` (default ``plan_year``) picks the rule set when they differ: a 2025 pre-allocation reads the
    2024 data (units commissioned in 2024 wait for their first full year, as before) under the 2025 rules."""
    rules_year = rules_year or plan_year
    if plan_year and commissioning_year and commissioning_year >= plan_year:
        return CategoryResult(None, _("commissioned in %(year)s, not before the plan year %(plan)s")
                              % {"year": commissioning_year, "plan": plan_year})
    if rules_year and rules_year >= A_EQUALS_E_FROM and technology != "heat_only":
        case = _exemption(main_fuel=main_fuel, technology=technology, biomass=Decimal(str(biomass_share or 0)),
                          secondary=Decimal(str(secondary_energy_share or 0)),
                          hydrogen=Decimal(str(green_hydrogen_share or 0)), emergency_backup=is_emergency_backup)
        if case is not None:
            code, why = case
            base = _benchmark_category(main_fuel, rated_power_mw, is_cfb, other_fuel_share, unconventional_share)
            return CategoryResult(base.category, _("%(why)s: allocation = verified emissions (plan %(plan)s)")
                                  % {"why": why, "plan": rules_year}, code)
        return _benchmark_category(main_fuel, rated_power_mw, is_cfb, other_fuel_share, unconventional_share)
    if technology in EXCLUDED_TECH:
        return CategoryResult(None, _(EXCLUDED_TECH[technology]))
    biomass = float(biomass_share or 0)
    if biomass > 0.10:
        return CategoryResult(None, _("biomass co-firing is %(share)s of heat input (more than 10%% excludes)")
                              % {"share": f"{biomass:.0%}"})
    return _benchmark_category(main_fuel, rated_power_mw, is_cfb, other_fuel_share, unconventional_share)


def _benchmark_category(main_fuel, rated_power_mw, is_cfb, other_fuel_share, unconventional_share) -> CategoryResult:
    """The benchmark category by fuel, technology and size (the same in every plan year)."""
    other, unconv = float(other_fuel_share or 0), float(unconventional_share or 0)
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
