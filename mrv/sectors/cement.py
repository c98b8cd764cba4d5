"""Cement: one clinker line = fuel combustion + clinker process emissions - non-carbonate substitutes.

CETS-AG-02.01-V01-2024 (sectors-2025.md 2.2; structure [A], default values [C]), pure Decimal:

    E_fuel = sum FC x NCV x CC x OF x 44/12      (measured where given, else the cement defaults)
    E_proc = Q_clinker x EF_clinker - sum Q_sub,k x D_k
    E      = E_fuel + E_proc                      (intensity = E / Q_clinker)

EF_clinker is the default of the line's clinker type unless a measured ``clinker_factor`` is given (the
2024 guideline appears to use type defaults; a measured factor is kept for lines that test CaO/MgO, and
the line says which was used). The carbide-slag substitution rate of plan S1 Table 2-3 note 5,
(carbide slag x D) / (Q_clinker x EF_clinker), is returned as a figure for the exemption test, with the
fuel heat (GJ) for the heat-per-clinker plausibility check.
"""

from decimal import ROUND_HALF_UP, Decimal

from .base import (
    AccountingError,
    SectorResult,
    choice,
    default,
    exact_sum,
    factor_line,
    fields_only,
    finish,
    fmt,
    fuel_carbon_line,
    items,
    kg,
    line,
    number,
    output_amount,
    parameter,
    reported,
)

SECTOR = "cement"
BODY = ("fuels", "clinker_t", "clinker_type", "clinker_factor", "substitutes")
FUEL_FIELDS = ("fuel", "consumption", "ncv", "carbon_content", "oxidation_rate")
SUBSTITUTE_FIELDS = ("material", "consumption")
CLINKER_TYPES = ("portland", "white_portland", "sulphoaluminate", "aluminate")
# Deduction table of sectors-2025.md 2.2 (codes; the factors are AccountingParameter rows).
SUBSTITUTES = (
    "desulph_ca_oh2", "slaked_lime", "carbide_slag", "magnesium_slag", "paper_white_mud", "caf2_sludge",
    "phosphorus_slag", "v_ti_slag", "incineration_fly_ash", "ferroalloy_slag", "desulph_gypsum",
    "phosphogypsum", "titanogypsum", "fluorogypsum", "borogypsum", "model_gypsum", "citric_acid_residue",
    "steel_slag", "nickel_slag", "manganese_slag", "zinc_slag", "tin_slag", "sewage_sludge", "aluminium_slag",
    "pyrite_cinder", "copper_slag", "lead_zinc_slag", "fly_ash", "red_mud",
)
CARBIDE_SLAG = "carbide_slag"
RATE = Decimal("0.0001")
NCV_KEY, CC_KEY, OF_KEY = "cement_ncv", "cement_carbon_per_heat", "cement_oxidation_rate"
CLINKER_KEY, SUBSTITUTE_KEY = "clinker_ef", "substitute_deduction"


def calculate(body: dict, params, *, shutdown: bool = False) -> SectorResult:
    """One clinker line's emissions for the period with every line; see the module docstring.

    ``shutdown`` (a monthly report of a kiln that stood still, never the calculator): zero clinker, fuels
    only if some were burnt (kiln kept warm), no substitutes (no raw meal went in)."""
    fields_only(body, BODY, "", SECTOR)
    lines = [fuel_carbon_line(params, item, f"fuels[{i}]", ncv_key=NCV_KEY, cc_key=CC_KEY, of_key=OF_KEY)
             for i, item in enumerate(items(body, "fuels", FUEL_FIELDS, SECTOR, required=not shutdown))]
    heat = sum((Decimal(ln["heat_gj"]) for ln in lines), Decimal(0))
    clinker = output_amount(body.get("clinker_t"), "clinker_t", shutdown)
    if shutdown and body.get("substitutes"):
        raise AccountingError("A kiln that stood still took no substitutes; leave them out or remove the shutdown.",
                              "shutdown_with_output", "substitutes")
    clinker_type = choice(body.get("clinker_type"), CLINKER_TYPES, "clinker_type", "clinker type")
    measured = number(body.get("clinker_factor"), "clinker_factor", required=False, positive=True, fraction=True)
    if measured is None:
        p = parameter(params, CLINKER_KEY, clinker_type, "clinker_type")
        ef, ef_input = p.value, default(p, "tCO2/t clinker")
    else:
        ef, ef_input = measured, reported(measured, "tCO2/t clinker", "measured")
    process_exact = clinker * ef
    lines.append(line("clinker", "E = Q_clinker x EF_clinker", f"{fmt(clinker)} x {fmt(ef)}",
                      {"Q_clinker": reported(clinker, "t"), "EF_clinker": ef_input}, process_exact,
                      clinker_type=clinker_type))
    carbide_deduction = Decimal(0)
    for i, item in enumerate(items(body, "substitutes", SUBSTITUTE_FIELDS, SECTOR)):
        ln = factor_line(params, item, f"substitutes[{i}]", code_field="material", amount_field="consumption",
                         key=SUBSTITUTE_KEY, known=SUBSTITUTES, what="substitute", symbol="D", sign=-1,
                         kind="substitute")
        if ln["material"] == CARBIDE_SLAG:
            carbide_deduction -= ln["_exact"]
        lines.append(ln)
    rate = (carbide_deduction / process_exact).quantize(RATE, ROUND_HALF_UP) if process_exact else Decimal(0)
    lines.append(line("carbide_slag_rate", "rate = (Q_carbide_slag x D) / (Q_clinker x EF_clinker)",
                      f"{kg(carbide_deduction)} / {kg(process_exact)}", {}, Decimal(0), in_total=False,
                      value=str(rate)))
    emissions = kg(exact_sum(lines))
    return SectorResult(emissions_tco2=emissions, lines=finish(lines), output_t=clinker,
                        intensity_emissions_tco2=emissions, intensity_output_t=clinker, gases={"CO2": emissions},
                        figures={"carbide_slag_rate": rate, "fuel_heat_gj": heat})
