"""Emission accounting of the power-generation guideline (DOMAIN.md section 5), pure Decimal arithmetic.

No Django import: the parameters come in as a ``ParameterSet`` (built from the ``AccountingParameter``
table by ``mrv.selectors.parameter_set``), so the calculator endpoint, monthly submissions, the bulk
loader, the tests and the benchmark all compute the same figure the same way.

    fuel:      E_i = FC_i x C_ar,i x OF_i x 44/12
               C_ar,i = measured elemental carbon, or NCV_ar,i x CC_i (default carbon per heat) if not measured
    purchased: E_e = MWh x grid factor of the data year (none from 2023: outside the ETS)

Calibration (conservative, nothing overstated in the entity's favour): activity data read from a meter
that was not calibrated is taken x (1 + required accuracy); out of accuracy x (1 + (found - required));
production data (electricity, heat) with minus signs.

Rounding: every line keeps full precision; the total is the sum of unrounded lines, rounded half-up to
0.001 t (one kilogram). Lines are shown rounded the same way, so the shown lines may differ from the
total by 0.001 t at most.
"""

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CO2_PER_C = Decimal(44) / Decimal(12)
KG = Decimal("0.001")

# Fuel name -> (fuel class, unit of consumption, unit of carbon content, unit of NCV).
COAL_UNITS = ("t", "tC/t", "GJ/t")
GAS_UNITS = ("10^4 Nm3", "tC/10^4 Nm3", "GJ/10^4 Nm3")
LIQUID_UNITS = ("t", "tC/t", "GJ/t")
FUELS: dict[str, tuple[str, tuple[str, str, str]]] = {
    "bituminous": ("coal", COAL_UNITS),
    "anthracite": ("coal", COAL_UNITS),
    "lignite": ("coal", COAL_UNITS),
    "sub_bituminous": ("coal", COAL_UNITS),
    "lean_coal": ("coal", COAL_UNITS),
    "coking_coal": ("coal", COAL_UNITS),
    "waste": ("coal", COAL_UNITS),
    "coal_gangue": ("coal", COAL_UNITS),
    "coal": ("coal", COAL_UNITS),
    "natural_gas": ("natural_gas", GAS_UNITS),
    "fuel_oil": ("fuel_oil", LIQUID_UNITS),  # start-up (light-off) oil of coal units
}

DEFAULT_CARBON_PER_HEAT = "default_carbon_per_heat"
DEFAULT_NCV = "default_ncv"
OXIDATION_RATE = "oxidation_rate"
GRID_FACTOR = "grid_factor"


class AccountingError(ValueError):
    """A fuel line cannot be computed: the input at fault (``field``) and the rule (``code``)."""

    def __init__(self, message: str, code: str, field: str):
        super().__init__(message)
        self.message, self.code, self.field = message, code, field


@dataclass(frozen=True)
class Parameter:
    value: Decimal
    confidence: str
    source: str


@dataclass
class ParameterSet:
    """The parameters in force for one data year: ``{(key, fuel_class or ""): Parameter}``."""

    year: int
    values: dict[tuple[str, str], Parameter] = field(default_factory=dict)

    def get(self, key: str, fuel_class: str = "") -> Parameter | None:
        return self.values.get((key, fuel_class)) or self.values.get((key, ""))


@dataclass(frozen=True)
class Calibration:
    """A meter's state for the period: ``status`` is calibrated | not_calibrated | out_of_accuracy."""

    status: str = "calibrated"
    required_accuracy: Decimal = Decimal("0")
    found_error: Decimal = Decimal("0")


def calibration_factor(cal: Calibration | None, *, production: bool = False) -> Decimal:
    """The multiplier a meter's calibration state puts on its reading (minus for production data)."""
    if cal is None or cal.status == "calibrated":
        return Decimal(1)
    if cal.status == "not_calibrated":
        delta = cal.required_accuracy
    elif cal.status == "out_of_accuracy":
        delta = cal.found_error - cal.required_accuracy
    else:
        raise AccountingError(f"Unknown calibration status {cal.status!r}.", "invalid_choice", "calibration")
    return Decimal(1) - delta if production else Decimal(1) + delta


def _dec(value, name: str, *, allow_none: bool = True) -> Decimal | None:
    if value is None:
        if allow_none:
            return None
        raise AccountingError(f"{name} is required.", "required", name)
    if isinstance(value, bool):
        raise AccountingError(f"{name} must be a number.", "invalid_number", name)
    try:
        dec = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise AccountingError(f"{name} must be a number, not {value!r}.", "invalid_number", name)
    if not dec.is_finite():
        raise AccountingError(f"{name} must be a finite number.", "invalid_number", name)
    return dec


def kg(value: Decimal) -> Decimal:
    """Round tonnes half-up to the kilogram (three decimals)."""
    return value.quantize(KG, rounding=ROUND_HALF_UP)


def _s(value: Decimal | None) -> str | None:
    """A decimal as plain text without trailing zeros (0.990000 -> 0.99, 1E+3 -> 1000)."""
    return None if value is None else format(value.normalize(), "f")


def fuel_line(params: ParameterSet, *, fuel: str, consumption, carbon_content=None, ncv=None, oxidation_rate=None,
              calibration: Calibration | None = None, prefix: str = "") -> dict:
    """One fuel's emissions with the formula and every input (value, unit, source).

    ``prefix`` (e.g. ``fuels[0].``) is put before the field names of errors so the caller can point at
    the exact input.
    """
    if fuel not in FUELS:
        raise AccountingError(f"Unknown fuel {fuel!r}; known: {', '.join(sorted(FUELS))}.", "invalid_choice",
                              f"{prefix}fuel")
    fuel_class, (fc_unit, c_unit, ncv_unit) = FUELS[fuel]
    fc = _dec(consumption, f"{prefix}consumption", allow_none=False)
    if fc < 0:
        raise AccountingError("Fuel consumption may not be negative.", "negative", f"{prefix}consumption")
    carbon = _dec(carbon_content, f"{prefix}carbon_content")
    ncv_value = _dec(ncv, f"{prefix}ncv")
    ox = _dec(oxidation_rate, f"{prefix}oxidation_rate")
    if carbon is not None and carbon <= 0:
        raise AccountingError("Carbon content must be greater than zero.", "not_positive", f"{prefix}carbon_content")
    if ncv_value is not None and ncv_value <= 0:
        raise AccountingError("NCV must be greater than zero.", "not_positive", f"{prefix}ncv")
    if ox is not None and not (0 < ox <= 1):
        raise AccountingError("The oxidation rate is a fraction above 0 and at most 1.", "out_of_range",
                              f"{prefix}oxidation_rate")

    inputs: dict[str, dict] = {}
    factor = calibration_factor(calibration)
    fc_used = fc * factor
    inputs["FC"] = {"value": _s(fc), "unit": fc_unit, "source": "reported"}
    if factor != 1:
        inputs["calibration_factor"] = {"value": _s(factor), "unit": "", "source": f"meter {calibration.status}"}

    if carbon is not None:
        c_ar = carbon
        inputs["C_ar"] = {"value": _s(carbon), "unit": c_unit, "source": "measured (test report)"}
        carbon_formula = "C_ar measured"
    else:
        if ncv_value is None:
            default_ncv = params.get(DEFAULT_NCV, fuel_class)
            if default_ncv is None:
                raise AccountingError(
                    f"Carbon content is not measured and there is no default NCV for {fuel_class} in "
                    f"{params.year}: give the measured NCV.", "required", f"{prefix}ncv")
            ncv_value = default_ncv.value
            inputs["NCV"] = {"value": _s(ncv_value), "unit": ncv_unit,
                             "source": f"default [{default_ncv.confidence}] {default_ncv.source}"}
        else:
            inputs["NCV"] = {"value": _s(ncv_value), "unit": ncv_unit, "source": "measured"}
        cc = params.get(DEFAULT_CARBON_PER_HEAT, fuel_class)
        if cc is None:
            raise AccountingError(f"No default carbon per heat for {fuel_class} in {params.year}.",
                                  "missing_parameter", f"{prefix}carbon_content")
        inputs["CC"] = {"value": _s(cc.value), "unit": "tC/GJ", "source": f"default [{cc.confidence}] {cc.source}"}
        c_ar = ncv_value * cc.value
        carbon_formula = "C_ar = NCV x CC"

    if ox is None:
        default_ox = params.get(OXIDATION_RATE, fuel_class)
        if default_ox is None:
            raise AccountingError(f"No default oxidation rate for {fuel_class} in {params.year}: give the value.",
                                  "required", f"{prefix}oxidation_rate")
        ox = default_ox.value
        inputs["OF"] = {"value": _s(ox), "unit": "", "source": f"default [{default_ox.confidence}] {default_ox.source}"}
    else:
        inputs["OF"] = {"value": _s(ox), "unit": "", "source": "reported"}

    emissions = fc_used * c_ar * ox * CO2_PER_C
    fc_text = f"{_s(fc)} x {_s(factor)}" if factor != 1 else _s(fc)
    return {
        "kind": "fuel",
        "fuel": fuel,
        "fuel_class": fuel_class,
        "formula": f"E = FC x C_ar x OF x 44/12; {carbon_formula}",
        "calculation": f"{fc_text} x {_s(c_ar)} x {_s(ox)} x 44/12",
        "inputs": inputs,
        "carbon_content_used": _s(c_ar),
        "heat_gj": _s(fc_used * ncv_value) if ncv_value is not None else None,
        "emissions_tco2": str(kg(emissions)),
        "_exact": emissions,
    }


def electricity_line(params: ParameterSet, *, purchased_mwh, calibration: Calibration | None = None) -> dict:
    """Indirect emissions of purchased electricity, or a zero line saying why it does not count."""
    mwh = _dec(purchased_mwh if purchased_mwh is not None else 0, "purchased_electricity_mwh", allow_none=False)
    if mwh < 0:
        raise AccountingError("Purchased electricity may not be negative.", "negative", "purchased_electricity_mwh")
    grid = params.get(GRID_FACTOR)
    inputs = {"MWh": {"value": _s(mwh), "unit": "MWh", "source": "reported"}}
    if grid is None:
        return {"kind": "purchased_electricity", "formula": "not counted",
                "calculation": f"indirect emissions are outside the ETS for {params.year} data (no grid factor)",
                "inputs": inputs, "emissions_tco2": "0.000", "_exact": Decimal(0)}
    factor = calibration_factor(calibration)
    inputs["EF_grid"] = {"value": _s(grid.value), "unit": "tCO2/MWh",
                         "source": f"[{grid.confidence}] {grid.source}"}
    if factor != 1:
        inputs["calibration_factor"] = {"value": _s(factor), "unit": "", "source": f"meter {calibration.status}"}
    emissions = mwh * factor * grid.value
    return {"kind": "purchased_electricity", "formula": "E = MWh x EF_grid",
            "calculation": f"{_s(mwh)} x {_s(grid.value)}" + (f" x {_s(factor)}" if factor != 1 else ""),
            "inputs": inputs, "emissions_tco2": str(kg(emissions)), "_exact": emissions}


@dataclass
class AccountingResult:
    emissions_tco2: Decimal
    fuel_emissions_tco2: Decimal
    indirect_emissions_tco2: Decimal
    fuel_heat_gj: Decimal
    lines: list[dict]

    def as_dict(self) -> dict:
        return {"emissions_tco2": str(self.emissions_tco2), "lines": self.lines}


def compute(params: ParameterSet, *, fuels: list[dict], purchased_electricity_mwh=0,
            electricity_calibration: Calibration | None = None) -> AccountingResult:
    """The emissions of one unit-month (or any set of fuels): fuel lines, then purchased electricity.

    Each fuel dict has ``fuel``, ``consumption`` and optional ``carbon_content``, ``ncv``,
    ``oxidation_rate``, ``calibration`` (a ``Calibration``).
    """
    lines = []
    fuel_total = Decimal(0)
    heat = Decimal(0)
    for index, item in enumerate(fuels):
        line = fuel_line(params, fuel=item.get("fuel"), consumption=item.get("consumption"),
                         carbon_content=item.get("carbon_content"), ncv=item.get("ncv"),
                         oxidation_rate=item.get("oxidation_rate"), calibration=item.get("calibration"),
                         prefix=f"fuels[{index}].")
        fuel_total += line.pop("_exact")
        if line["heat_gj"] is not None:
            heat += Decimal(line["heat_gj"])
        lines.append(line)
    elec = electricity_line(params, purchased_mwh=purchased_electricity_mwh, calibration=electricity_calibration)
    indirect = elec.pop("_exact")
    lines.append(elec)
    return AccountingResult(emissions_tco2=kg(fuel_total + indirect), fuel_emissions_tco2=kg(fuel_total),
                            indirect_emissions_tco2=kg(indirect), fuel_heat_gj=kg(heat), lines=lines)
