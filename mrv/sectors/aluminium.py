"""Aluminium smelting: one electrolysis process = anode carbon CO2 + anode-effect PFCs (CF4, C2F6).

CETS-AG-04.01-V01-2024 (sectors-2025.md 3.2; formula [B], default values [C]), pure Decimal:

    E_anode = P_Al x NC x (1 - S - A) x 44/12
    EF_CF4  = 0.143 x AEM kg/t Al when anode-effect minutes per cell-day are given, else the default 0.034
    EF_C2F6 = 0.1 x EF_CF4
    E_gas   = P_Al x EF_gas x GWP_gas / 1000           (tCO2e; GWPs are the sector's gases)
    E       = E_anode + E_CF4 + E_C2F6                 (intensity = E / P_Al, aluminium liquid)

S and A are the measured anode sulphur and ash fractions or the defaults. AEM = 0 (measured, no anode
effects) gives no PFC, which is what the measurement says; the default applies only when none is given.
"""

from decimal import Decimal

from .base import (
    CO2_PER_C,
    AccountingError,
    SectorResult,
    default,
    exact_sum,
    fields_only,
    finish,
    fmt,
    kg,
    line,
    number,
    output_amount,
    parameter,
    reported,
    shutdown_line,
)

SECTOR = "aluminium"
BODY = ("aluminium_t", "net_anode_consumption", "anode_sulphur", "anode_ash", "anode_effect_minutes")
PFC_GASES = ("CF4", "C2F6")
KG_PER_T = Decimal(1000)


def _fraction(params, body: dict, name: str) -> tuple[Decimal, dict]:
    measured = number(body.get(name), name, required=False, fraction=True)
    if measured is not None:
        return measured, reported(measured, "", "measured")
    p = parameter(params, name, "", name)
    return p.value, default(p, "")


def _cf4_factor(params, body: dict) -> tuple[Decimal, dict, str]:
    """EF_CF4 in kg/t Al, the inputs that gave it, and how."""
    aem = number(body.get("anode_effect_minutes"), "anode_effect_minutes", required=False)
    if aem is None:
        p = parameter(params, "pfc_default", "CF4", "anode_effect_minutes")
        return p.value, {"EF_CF4": default(p, "kg/t Al")}, "EF_CF4 default (no anode-effect minutes)"
    slope = parameter(params, "pfc_aem_slope", "CF4", "anode_effect_minutes")
    how = f"EF_CF4 = {fmt(slope.value)} x AEM"
    ef = slope.value * aem
    return ef, {"AEM": reported(aem, "min/cell-day"), "slope": default(slope, "kg/t Al per min/cell-day"),
                "EF_CF4": reported(ef, "kg/t Al", how)}, how


def calculate(body: dict, params, *, shutdown: bool = False) -> SectorResult:
    """One electrolysis process's emissions for the period with every line; see the module docstring.

    ``shutdown`` (a monthly report of a potline that stood still, never the calculator): no aluminium, so no
    anode carbon and no anode effects; zero emissions (the process burns no fuel of its own)."""
    fields_only(body, BODY, "", SECTOR)
    aluminium = output_amount(body.get("aluminium_t"), "aluminium_t", shutdown)
    if shutdown:
        return SectorResult(emissions_tco2=Decimal(0), lines=finish([shutdown_line("P_Al")]), output_t=aluminium,
                            intensity_emissions_tco2=Decimal(0), intensity_output_t=aluminium,
                            gases={"CO2": Decimal(0)})
    nc = number(body.get("net_anode_consumption"), "net_anode_consumption", positive=True)
    sulphur, s_input = _fraction(params, body, "anode_sulphur")
    ash, a_input = _fraction(params, body, "anode_ash")
    if sulphur + ash >= 1:
        raise AccountingError("Anode sulphur and ash together must stay below 1.", "out_of_range", "anode_ash")
    anode = aluminium * nc * (1 - sulphur - ash) * CO2_PER_C
    lines = [line("anode", "E = P_Al x NC x (1 - S - A) x 44/12",
                  f"{fmt(aluminium)} x {fmt(nc)} x (1 - {fmt(sulphur)} - {fmt(ash)}) x 44/12",
                  {"P_Al": reported(aluminium, "t"), "NC": reported(nc, "t/t Al"), "S": s_input, "A": a_input},
                  anode, gas="CO2")]
    ef_cf4, cf4_inputs, cf4_how = _cf4_factor(params, body)
    ratio = parameter(params, "pfc_c2f6_ratio", "C2F6", "anode_effect_minutes")
    ef_c2f6 = ef_cf4 * ratio.value
    c2f6_how = f"EF_C2F6 = {fmt(ratio.value)} x EF_CF4"
    pfc = {"CF4": (ef_cf4, cf4_inputs, cf4_how),
           "C2F6": (ef_c2f6, {"EF_CF4": cf4_inputs["EF_CF4"], "ratio": default(ratio, ""),
                              "EF_C2F6": reported(ef_c2f6, "kg/t Al", c2f6_how)}, c2f6_how)}
    gases = {"CO2": kg(anode)}
    for gas in PFC_GASES:
        ef, ef_inputs, how = pfc[gas]
        gwp = parameter(params, "gwp", gas, "sector")
        exact = aluminium * ef * gwp.value / KG_PER_T
        lines.append(line("pfc", f"E = P_Al x EF_{gas} x GWP_{gas} / 1000; {how}",
                          f"{fmt(aluminium)} x {fmt(ef)} x {fmt(gwp.value)} / 1000",
                          {"P_Al": reported(aluminium, "t"), **ef_inputs, f"GWP_{gas}": default(gwp, "")},
                          exact, gas=gas))
        gases[gas] = kg(exact)
    emissions = kg(exact_sum(lines))
    return SectorResult(emissions_tco2=emissions, lines=finish(lines), output_t=aluminium,
                        intensity_emissions_tco2=emissions, intensity_output_t=aluminium, gases=gases)
