"""Iron and steel: the enterprise carbon balance and the sintering + ironmaking process balance.

CETS-AG-03.01-V01-2024 (sectors-2025.md 1.2), pure Decimal:

    E_ent  = sum FC x NCV x CC x 44/12 (fuels, Table A.1; no oxidation factor)
           + sum Q x EF (carbonates, electrodes, carbon-bearing materials, Table A.2)
           - sum Q x EF (crude steel and sold pig iron, tar, crude benzene, Table A.2)
    E_proc = sum_in FC x NCV x CC x 44/12 (or Q x EF) - sum_out (the same), per process
    I      = (E_sintering + E_ironmaking) / ironmaking output   (the allocation intensity)

Measured NCV where given (guideline 6.2), except coke, whose NCV is always the default; carbon per heat
is always the default, so a ``carbon_content`` is refused. Materials not in Table A.2 are not counted
(an unknown code is refused rather than silently dropped). Crude steel output is required and above zero:
it is the enterprise's output. The process balance is optional; sent, it needs ``ironmaking_output_t``.
"""

from decimal import ROUND_HALF_UP, Decimal

from .base import (
    INTENSITY,
    AccountingError,
    SectorResult,
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
    reported,
)

SECTOR = "steel"
BODY = ("fuels", "materials", "products", "processes", "ironmaking_output_t")
FUEL_FIELDS = ("fuel", "consumption", "ncv")
MATERIAL_FIELDS = ("material", "consumption")
PRODUCT_FIELDS = ("product", "quantity")
PROCESS_ITEM_FIELDS = ("fuel", "material", "consumption", "ncv")

MATERIALS = ("limestone", "dolomite", "electrode", "ni_fe", "mo_fe", "fe_si", "si_mn", "low_c_si_mn",
             "high_c_fe_mn", "micro_c_fe_mn", "high_c_fe_cr", "pig_iron", "dri", "scrap")
PRODUCTS = ("crude_steel", "pig_iron", "tar", "crude_benzene")
OUTPUT_PRODUCT = "crude_steel"
# Processes with a balance (eq. 2); the allocation intensity uses the first two.
INTENSITY_PROCESSES = ("sintering", "ironmaking")
PROCESSES = INTENSITY_PROCESSES + ("coking", "pelletising", "bof", "eaf")
DEFAULT_NCV_ONLY = ("coke",)

NCV_KEY, CC_KEY, MATERIAL_KEY, PRODUCT_KEY = "steel_ncv", "steel_carbon_per_heat", "material_ef", "product_ef"


def _fuel(params, item: dict, path: str, **extra) -> dict:
    if item.get("fuel") in DEFAULT_NCV_ONLY and item.get("ncv") is not None:
        raise AccountingError("Coke NCV is always the guideline default (CETS-AG-03.01 6.2); leave ncv out.",
                              "default_only", f"{path}.ncv")
    return fuel_carbon_line(params, item, path, ncv_key=NCV_KEY, cc_key=CC_KEY, **extra)


def _material(params, item: dict, path: str, **extra) -> dict:
    return factor_line(params, item, path, code_field="material", amount_field="consumption", key=MATERIAL_KEY,
                       known=MATERIALS, what="material", symbol="EF", **extra)


def _process_item(params, item: dict, path: str, process: str, sign: int) -> dict:
    extra = {"kind": "process_output" if sign < 0 else "process_input", "process": process, "sign": sign,
             "in_total": False}
    if ("fuel" in item) == ("material" in item):
        raise AccountingError("Each process input or output names either a fuel or a material.", "invalid",
                              f"{path}.fuel")
    if "material" in item:
        if "ncv" in item:
            raise AccountingError("ncv is for fuels only.", "not_in_sector", f"{path}.ncv")
        return _material(params, item, path, **extra)
    return _fuel(params, item, path, **extra)


def _processes(params, body: dict, shutdown: bool) -> tuple[list[dict], Decimal | None, Decimal | None]:
    """The process-balance lines, the intensity emissions (sintering + ironmaking) and ironmaking output."""
    raw = body.get("processes")
    if shutdown:  # a list here is the facility's process attribute the monthly path fills in, not a balance
        if raw and isinstance(raw, dict):
            raise AccountingError("A works that stood still has no sintering or ironmaking balance; leave the "
                                  "processes out or remove the shutdown.", "shutdown_with_output", "processes")
        output_amount(body.get("ironmaking_output_t"), "ironmaking_output_t", shutdown)
        return [], None, None
    output = number(body.get("ironmaking_output_t"), "ironmaking_output_t", required=False, positive=True)
    if raw is None:
        if output is not None:
            raise AccountingError("ironmaking_output_t needs the sintering and ironmaking balance (processes).",
                                  "required", "processes")
        return [], None, None
    fields_only(raw, PROCESSES, "processes", SECTOR)
    if output is None:
        raise AccountingError("The process balance needs the ironmaking output.", "required", "ironmaking_output_t")
    lines, process_totals = [], {}
    for process, flows in raw.items():
        path = f"processes.{process}"
        fields_only(flows, ("inputs", "outputs"), path, SECTOR)
        own = [_process_item(params, item, f"{path}.{side}[{i}]", process, sign)
               for side, sign in (("inputs", 1), ("outputs", -1))
               for i, item in enumerate(items(flows, side, PROCESS_ITEM_FIELDS, SECTOR))]
        exact = sum((ln["_exact"] for ln in own), Decimal(0))
        process_totals[process] = exact
        lines += own
        lines.append(line("process_balance", "E_proc = sum inputs - sum outputs",
                          " ".join(f"{'-' if ln['_exact'] < 0 else '+'} {ln['emissions_tco2'].lstrip('-')}"
                                   for ln in own) or "0", {}, exact, in_total=False, process=process))
    counted = [p for p in INTENSITY_PROCESSES if p in process_totals]
    intensity_exact = sum((process_totals[p] for p in counted), Decimal(0))
    lines.append(line("intensity", "I = (E_sintering + E_ironmaking) / Q_ironmaking",
                      f"({' + '.join(str(kg(process_totals[p])) for p in counted) or '0'}) / {fmt(output)}",
                      {"Q_ironmaking": reported(output, "t")}, intensity_exact, in_total=False,
                      intensity=str((kg(intensity_exact) / output).quantize(INTENSITY, ROUND_HALF_UP))))
    return lines, kg(intensity_exact), output


def calculate(body: dict, params, *, shutdown: bool = False) -> SectorResult:
    """The enterprise's emissions for the period with every line; see the module docstring.

    ``shutdown`` (a monthly report of a works that stood still, never the calculator): no crude steel and no
    process balance; fuels and materials still count when some were used (ovens kept hot)."""
    fields_only(body, BODY, "", SECTOR)
    lines = [_fuel(params, item, f"fuels[{i}]")
             for i, item in enumerate(items(body, "fuels", FUEL_FIELDS, SECTOR, required=not shutdown))]
    lines += [_material(params, item, f"materials[{i}]")
              for i, item in enumerate(items(body, "materials", MATERIAL_FIELDS, SECTOR))]
    crude_steel = Decimal(0)
    for i, item in enumerate(items(body, "products", PRODUCT_FIELDS, SECTOR, required=not shutdown)):
        path = f"products[{i}]"
        ln = factor_line(params, item, path, code_field="product", amount_field="quantity", key=PRODUCT_KEY,
                         known=PRODUCTS, what="product", symbol="EF", sign=-1)
        if ln["product"] == OUTPUT_PRODUCT:
            crude_steel += output_amount(item["quantity"], f"{path}.quantity", shutdown)
        lines.append(ln)
    if crude_steel == 0 and not shutdown:
        raise AccountingError("products must include the crude steel output (product crude_steel).", "required",
                              "products")
    process_lines, intensity_emissions, ironmaking_output = _processes(params, body, shutdown)
    emissions = kg(exact_sum(lines))
    return SectorResult(emissions_tco2=emissions, lines=finish(lines + process_lines), output_t=crude_steel,
                        intensity_emissions_tco2=intensity_emissions, intensity_output_t=ironmaking_output,
                        gases={"CO2": emissions})
