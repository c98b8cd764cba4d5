"""What every sector accounting module shares: the result shape, input checks and the line format.

Pure Decimal, no Django import (as ``mrv.accounting``). A line is a dict with ``kind``, ``formula``,
``calculation``, ``inputs`` (name -> {value, unit, source}) and ``emissions_tco2`` (signed: deductions are
negative), the same shape as power's lines; ``in_total`` says whether it adds to ``emissions_tco2`` (steel's
process-balance lines only feed the allocation intensity). Every bad input raises ``AccountingError`` naming
the field by its path in the body (``fuels[1].fuel``) and the rule (``code``).
"""

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from ..accounting import CO2_PER_C, AccountingError, Parameter, ParameterSet, _dec, _s, kg

__all__ = ["CO2_PER_C", "AccountingError", "ParameterSet", "SectorResult", "kg"]

INTENSITY = Decimal("0.0001")

# Fuels of the 2024 industrial guidelines (steel Table A.1): code -> (physical state, consumption unit).
# The state picks the default oxidation rate where one applies (cement); gases are in 10^4 Nm3.
TONNE, GAS = "t", "10^4 Nm3"
INDUSTRY_FUELS: dict[str, tuple[str, str]] = {
    "anthracite": ("solid", TONNE), "bituminous": ("solid", TONNE), "lignite": ("solid", TONNE),
    "washed_coking_coal": ("solid", TONNE), "coke": ("solid", TONNE), "petroleum_coke": ("solid", TONNE),
    "natural_gas": ("gas", GAS), "bf_gas": ("gas", GAS), "bof_gas": ("gas", GAS), "coke_oven_gas": ("gas", GAS),
    "fuel_oil": ("liquid", TONNE), "diesel": ("liquid", TONNE), "lng": ("liquid", TONNE),
    "coal_tar": ("liquid", TONNE),
}


@dataclass(frozen=True)
class SectorResult:
    """One calculation of a sector module (see INTERFACES.md).

    ``intensity_emissions_tco2`` / ``intensity_output_t`` feed the allocation intensity; they are ``None``
    where the body has no data for them (steel without the sintering and ironmaking balance). ``figures``
    holds further named figures (cement: ``carbide_slag_rate``).
    """

    emissions_tco2: Decimal
    lines: list[dict]
    output_t: Decimal | None
    intensity_emissions_tco2: Decimal | None
    intensity_output_t: Decimal | None
    gases: dict[str, Decimal]
    figures: dict[str, Decimal] = field(default_factory=dict)

    @property
    def intensity(self) -> Decimal | None:
        """tCO2e per tonne of the intensity output, rounded half up to 4 decimals (the plans' rule)."""
        if self.intensity_emissions_tco2 is None or not self.intensity_output_t:
            return None
        return (self.intensity_emissions_tco2 / self.intensity_output_t).quantize(INTENSITY, ROUND_HALF_UP)

    def as_dict(self) -> dict:
        """The calculator's answer: decimals as strings, ``None`` as null."""
        return {
            "emissions_tco2": str(self.emissions_tco2), "lines": self.lines,
            "output_t": _str(self.output_t), "intensity_emissions_tco2": _str(self.intensity_emissions_tco2),
            "intensity_output_t": _str(self.intensity_output_t), "intensity": _str(self.intensity),
            "gases": {gas: str(value) for gas, value in self.gases.items()},
            **{name: _str(value) for name, value in self.figures.items()},
        }


def _str(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def fields_only(obj, allowed: tuple[str, ...], path: str, sector: str) -> dict:
    """``obj`` as a dict whose keys are all in ``allowed``: a field of another sector (or a typo) is refused."""
    if not isinstance(obj, dict):
        raise AccountingError(f"{path or 'The body'} must be an object.", "invalid", path or "body")
    for name in obj:
        if name not in allowed:
            raise AccountingError(
                f"{name} is not an input of the {sector} calculation; its inputs here are {', '.join(allowed)}.",
                "not_in_sector", f"{path}.{name}" if path else name)
    return obj


def items(body: dict, key: str, allowed: tuple[str, ...], sector: str, *, required: bool = False) -> list[dict]:
    """The list ``body[key]`` of objects, each checked with ``fields_only`` (paths ``key[i].name``)."""
    value = body.get(key)
    if value is None:
        if required:
            raise AccountingError(f"{key} is required.", "required", key)
        return []
    if not isinstance(value, list):
        raise AccountingError(f"{key} must be a list.", "invalid", key)
    return [fields_only(item, allowed, f"{key}[{i}]", sector) for i, item in enumerate(value)]


def number(value, name: str, *, required: bool = True, positive: bool = False,
           fraction: bool = False) -> Decimal | None:
    """A decimal input: never negative; ``positive`` refuses zero; ``fraction`` keeps it within 0-1."""
    dec = _dec(value, name, allow_none=not required)
    if dec is None:
        return None
    if fraction and not (0 <= dec <= 1):
        raise AccountingError(f"{name} is a fraction from 0 to 1.", "out_of_range", name)
    if dec < 0:
        raise AccountingError(f"{name} may not be negative.", "negative", name)
    if positive and dec == 0:
        raise AccountingError(f"{name} must be greater than zero.", "not_positive", name)
    return dec


def output_amount(value, name: str, shutdown: bool) -> Decimal:
    """A month's output: above zero, or zero (or left out) in a month declared shut down, which is the only
    way a monthly report stores zero output (the calculator never passes ``shutdown``, so it refuses zero)."""
    if not shutdown:
        return number(value, name, positive=True)
    dec = number(value, name, required=False)
    if dec:
        raise AccountingError(f"{name}: the month is declared shut down, so its output is zero; enter 0 or "
                              f"leave it out, or remove the shutdown.", "shutdown_with_output", name)
    return Decimal(0)


def shutdown_line(output_name: str, unit: str = "t") -> dict:
    """The line of a month declared shut down: zero output, so no process emissions."""
    return line("shutdown", "E_process = 0: the month was declared shut down (no output)", "0",
                {output_name: reported(Decimal(0), unit, "shutdown")}, Decimal(0))


def choice(value, known, name: str, what: str) -> str:
    """``value`` if it is one of ``known``; otherwise an ``invalid_choice`` error listing them."""
    if not isinstance(value, str) or value not in known:
        if value is None:
            raise AccountingError(f"{name} is required.", "required", name)
        raise AccountingError(f"Unknown {what} {value!r}; known: {', '.join(sorted(known))}.", "invalid_choice",
                              name)
    return value


def parameter(params: ParameterSet, key: str, code: str, name: str) -> Parameter:
    """The default ``key`` for ``code`` in force for the data year, or an error naming the input it feeds."""
    found = params.values.get((key, code))
    if found is None:
        raise AccountingError(f"No default {key} for {code} in {params.year}.", "missing_parameter", name)
    return found


def default(p: Parameter, unit: str) -> dict:
    return {"value": _s(p.value), "unit": unit, "source": f"default [{p.confidence}] {p.source}"}


def reported(value: Decimal, unit: str, source: str = "reported") -> dict:
    return {"value": _s(value), "unit": unit, "source": source}


def line(kind: str, formula: str, calculation: str, inputs: dict, exact: Decimal, *, in_total: bool = True,
         **extra) -> dict:
    """One figure as the calculator shows it; ``_exact`` keeps full precision until ``finish`` drops it."""
    return {"kind": kind, **extra, "formula": formula, "calculation": calculation, "inputs": inputs,
            "emissions_tco2": str(kg(exact)), "in_total": in_total, "_exact": exact}


def exact_sum(lines: list[dict]) -> Decimal:
    """Sum of the unrounded lines that count (``in_total``)."""
    return sum((ln["_exact"] for ln in lines if ln["in_total"]), Decimal(0))


def finish(lines: list[dict]) -> list[dict]:
    """The lines as shown: their private unrounded ``_exact`` removed."""
    for ln in lines:
        del ln["_exact"]
    return lines


fmt = _s


def _measured_or_default(params: ParameterSet, key: str, code: str, value, name: str, unit: str,
                         **checks) -> tuple[Decimal, dict]:
    measured = number(value, name, required=False, **checks)
    if measured is not None:
        return measured, reported(measured, unit, "measured")
    p = parameter(params, key, code, name)
    return p.value, default(p, unit)


def fuel_carbon_line(params: ParameterSet, item: dict, path: str, *, ncv_key: str, cc_key: str,
                     of_key: str | None = None, sign: int = 1, in_total: bool = True, **extra) -> dict:
    """E = FC x NCV x CC [x OF] x 44/12 for one fuel of ``INDUSTRY_FUELS``, measured values where given.

    Only the inputs present in ``item`` are read; the sector module decides which it accepts. ``of_key``
    None: no oxidation factor (the steel carbon balance). ``sign`` -1 for a process output.
    """
    fuel = choice(item.get("fuel"), INDUSTRY_FUELS, f"{path}.fuel", "fuel")
    state, unit = INDUSTRY_FUELS[fuel]
    fc = number(item.get("consumption"), f"{path}.consumption")
    ncv, ncv_in = _measured_or_default(params, ncv_key, fuel, item.get("ncv"), f"{path}.ncv", f"GJ/{unit}",
                                       positive=True)
    cc, cc_in = _measured_or_default(params, cc_key, fuel, item.get("carbon_content"),
                                     f"{path}.carbon_content", "tC/GJ", positive=True)
    inputs = {"FC": reported(fc, unit), "NCV": ncv_in, "CC": cc_in}
    factors = [fc, ncv, cc]
    formula = "E = FC x NCV x CC x 44/12"
    if of_key is not None:
        of, inputs["OF"] = _measured_or_default(params, of_key, state, item.get("oxidation_rate"),
                                                f"{path}.oxidation_rate", "", positive=True, fraction=True)
        factors.append(of)
        formula = "E = FC x NCV x CC x OF x 44/12"
    exact = Decimal(sign) * CO2_PER_C
    for factor in factors:
        exact *= factor
    calculation = ("- " if sign < 0 else "") + " x ".join(fmt(f) for f in factors) + " x 44/12"
    return line(extra.pop("kind", "fuel"), formula, calculation, inputs, exact, in_total=in_total, fuel=fuel,
                heat_gj=str(kg(fc * ncv)), **extra)


def factor_line(params: ParameterSet, item: dict, path: str, *, code_field: str, amount_field: str, key: str,
                known, what: str, symbol: str, sign: int = 1, in_total: bool = True, **extra) -> dict:
    """E = amount x EF (sign -1: a deduction) for a material, product or substitute with a default factor."""
    code = choice(item.get(code_field), known, f"{path}.{code_field}", what)
    amount = number(item.get(amount_field), f"{path}.{amount_field}")
    ef = parameter(params, key, code, f"{path}.{code_field}")
    exact = sign * amount * ef.value
    calculation = ("- " if sign < 0 else "") + f"{fmt(amount)} x {fmt(ef.value)}"
    return line(extra.pop("kind", code_field), f"E = {'-' if sign < 0 else ''}Q x {symbol}", calculation,
                {"Q": reported(amount, "t"), symbol: default(ef, "tCO2/t")}, exact, in_total=in_total,
                **{code_field: code}, **extra)
