"""A toy flat-glass accounting module, as docs/adding-a-sector.md adds one: carbonates x their factor.

    E = sum Q_carbonate x EF (material_ef rows)   output: glass_t (> 0)
"""

from mrv.sectors.base import SectorResult, exact_sum, factor_line, fields_only, finish, items, kg, number

SECTOR = "flat_glass"
CARBONATES = ("limestone", "dolomite")


def calculate(body: dict, params) -> SectorResult:
    fields_only(body, ("glass_t", "carbonates"), "", SECTOR)
    glass = number(body.get("glass_t"), "glass_t", positive=True)
    lines = [factor_line(params, item, f"carbonates[{i}]", code_field="material", amount_field="consumption",
                         key="material_ef", known=CARBONATES, what="carbonate", symbol="EF")
             for i, item in enumerate(items(body, "carbonates", ("material", "consumption"), SECTOR, required=True))]
    emissions = kg(exact_sum(lines))
    return SectorResult(emissions_tco2=emissions, lines=finish(lines), output_t=glass,
                        intensity_emissions_tco2=emissions, intensity_output_t=glass, gases={"CO2": emissions})
