"""Power generation: the sector interface over ``mrv.accounting`` (the power guideline), unchanged figures.

Body: ``fuels`` [{fuel, consumption, carbon_content?, ncv?, oxidation_rate?}] and
``purchased_electricity_mwh`` (counted only for data years with a grid factor, to 2022). The calculator
without a ``sector`` keeps its own path and answers; this adapter lets power be called like any sector
(``accounting_for("power")``), refusing fields of other sectors.
"""

from .. import accounting
from .base import SectorResult, fields_only, items

SECTOR = "power"
BODY = ("fuels", "purchased_electricity_mwh")
FUEL_FIELDS = ("fuel", "consumption", "carbon_content", "ncv", "oxidation_rate")


def calculate(body: dict, params: accounting.ParameterSet) -> SectorResult:
    """One unit's emissions for the period; output and intensity are not part of the power calculator."""
    fields_only(body, BODY, "", SECTOR)
    fuels = items(body, "fuels", FUEL_FIELDS, SECTOR, required=True)
    result = accounting.compute(params, fuels=fuels,
                                purchased_electricity_mwh=body.get("purchased_electricity_mwh", 0))
    return SectorResult(emissions_tco2=result.emissions_tco2, lines=result.lines, output_t=None,
                        intensity_emissions_tco2=result.emissions_tco2, intensity_output_t=None,
                        gases={"CO2": result.emissions_tco2})
