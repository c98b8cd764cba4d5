"""Monthly data of the facilities of the industrial sectors (steel, cement, aluminium, and any sector added as
data): the sector's monthly key parameters in, the sector module's figures out.

A row of such a facility carries ``inputs``: the monthly key parameters of its sector
(``Sector.monthly_parameters``) and the optional inputs its accounting module takes beyond them (its
``BODY``, e.g. a measured ``clinker_factor``). A field that belongs to another sector (power's
``electricity_generated_mwh`` for a clinker line, ``clinker_t`` for a smelter) is refused naming the field
and its sector; an unknown field is refused too. Facility attributes the module needs (a line's
``clinker_type``) come from the facility when the row leaves them out, and are stored with the inputs so the
stored month recomputes alone. Everything else (deadline of 40 natural days, versions, review, warnings) is
power's path: ``mrv.validation.prepare_rows`` hands these rows here and stores what comes back.
"""

from decimal import Decimal

from django.utils.translation import gettext as _

from entities.models import Sector, Unit

from .accounting import AccountingError

ROW_KEYS = {"unit", "unit_id", "unit_code", "year", "month", "note", "inputs"}
# Power's monthly figures are columns, not ``inputs``; purchased electricity is power's only (indirect).
POWER_COLUMNS = ("electricity_generated_mwh", "electricity_supplied_mwh", "heat_supplied_gj", "operating_hours",
                 "load_factor", "purchased_electricity_mwh")
NUMBER_LIMIT = Decimal(10) ** 12
TEXT_MAX = 500
# The yes/no monthly parameter that lets a month store zero output (a kiln, potline or works that stood still).
SHUTDOWN = "shutdown"
YES, NO = ("1", "true", "yes", "y", "是"), ("0", "false", "no", "n", "否")


def module_for(sector, year: int | None):
    """The accounting module of a sector (its row or code; ``mrv.sectors.accounting_for``), refused before the
    sector's first data year."""
    from .sectors import accounting_for

    return accounting_for(sector, year)


def accepted_fields(sector: Sector, module=None) -> list[str]:
    """The inputs a month of ``sector`` takes: its monthly key parameters, then its module's other inputs."""
    codes = [p["code"] for p in sector.monthly_parameters]
    return codes + [name for name in getattr(module, "BODY", ()) if name not in codes]


def _owners(field_name: str, sectors: list[Sector]) -> list[str]:
    owners = [s.code for s in sectors if field_name in accepted_fields(s)]
    if field_name in POWER_COLUMNS and "power" not in owners:
        owners.insert(0, "power")
    return owners


def field_problems(sector: Sector, module, inputs: dict) -> list[tuple[str, str, str]]:
    """(field, code, message) for each input that is not the sector's: another sector's, or unknown."""
    own = set(accepted_fields(sector, module))
    strangers = [name for name in inputs if name not in own]
    if not strangers:
        return []
    sectors = list(Sector.objects.all())
    out = []
    for name in strangers:
        owners = [code for code in _owners(name, sectors) if code != sector.code]
        if owners:
            out.append((name, "not_in_sector", _("%(f)s is a monthly parameter of the %(o)s sector, not of %(s)s.")
                        % {"f": name, "o": ", ".join(owners), "s": sector.code}))
        else:
            out.append((name, "unknown_field", _("%(f)s is not a monthly parameter of %(s)s; its parameters are "
                                                 "%(k)s.") % {"f": name, "s": sector.code,
                                                             "k": ", ".join(sorted(own))}))
    return out


def _scalar(param: dict, value) -> tuple[object, tuple[str, str] | None]:
    """A quantity (>= 0), fraction (0-1), yes/no or text parameter checked; lists are left to the sector
    module."""
    kind = param.get("type")
    if kind == "boolean":
        text = str(value).strip().lower()
        if isinstance(value, bool) or text in YES + NO:
            return value if isinstance(value, bool) else text in YES, None
        return None, ("invalid_choice", _("Yes or no (1/0, true/false)."))
    if kind == "text":
        text = str(value)
        return (text, None) if len(text) <= TEXT_MAX else (None, ("too_long", _("At most 500 characters.")))
    if kind not in ("quantity", "fraction"):
        return value, None
    try:
        number = Decimal(str(value).strip().replace(",", "")) if not isinstance(value, bool) else None
    except ArithmeticError:
        number = None
    if number is None or not number.is_finite():
        return None, ("invalid_number", _("%(v)r is not a number.") % {"v": value})
    if number < 0:
        return None, ("negative", _("May not be negative."))
    if number >= NUMBER_LIMIT:
        return None, ("too_large", _("The value is implausibly large."))
    if kind == "fraction" and number > 1:
        return None, ("out_of_range", _("A fraction between 0 and 1."))
    return format(number.normalize(), "f") if number else "0", None


def clean_inputs(unit: Unit, module, inputs) -> tuple[dict, list[tuple[str, str, str]]]:
    """The month's inputs checked against the sector's parameters (required, types), with the facility's
    attributes the module needs filled in. Returns (clean inputs, problems as (field, code, message))."""
    if not isinstance(inputs, dict):
        return {}, [("inputs", "invalid", _("The monthly parameters must be an object."))]
    sector = unit.sector
    problems = field_problems(sector, module, inputs)
    clean = {}
    params = {p["code"]: p for p in sector.monthly_parameters}
    shutdown = _scalar(params.get(SHUTDOWN, {}), inputs.get(SHUTDOWN, False))[0] is True
    for name in accepted_fields(sector, module):
        value = inputs.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            # a month shut down needs no output figures; the sector module says what it still takes
            if params.get(name, {}).get("required") and not shutdown:
                problems.append((name, "required", _("This value is required.")))
            continue
        value, problem = _scalar(params.get(name, {}), value)
        if problem:
            problems.append((name, *problem))
        elif value is not False:  # "not shut down" is the default and is not stored
            clean[name] = value
    for attribute in sector.facility_attributes:
        code = attribute["code"]
        if code in getattr(module, "BODY", ()) and code not in clean and unit.attributes.get(code) is not None:
            clean[code] = unit.attributes[code]
    return clean, problems


def compute(unit: Unit, year: int, inputs, params, modules: dict):
    """Check and compute one month of a non-power facility: (clean inputs, SectorResult or None, problems)."""
    code = unit.sector_id
    if (code, year) not in modules:
        try:
            modules[(code, year)] = module_for(unit.sector, year)
        except AccountingError as exc:
            modules[(code, year)] = exc
    module = modules[(code, year)]
    if isinstance(module, AccountingError):
        return {}, None, [(module.field, module.code, module.message)]
    clean, problems = clean_inputs(unit, module, inputs)
    if problems:
        return clean, None, problems
    body = {k: v for k, v in clean.items() if k in getattr(module, "BODY", clean)}
    try:
        if clean.get(SHUTDOWN) is True:  # only the monthly path passes it: the calculator refuses zero output
            return clean, module.calculate(body, params, shutdown=True), []
        return clean, module.calculate(body, params), []
    except AccountingError as exc:
        return clean, None, [(exc.field, exc.code, exc.message)]


def stored_fields(inputs: dict, result) -> dict:
    """The MonthlySubmission columns of a computed month: all direct emissions, no power figures."""
    return {"fuel_emissions_tco2": result.emissions_tco2, "indirect_emissions_tco2": Decimal(0),
            "emissions_tco2": result.emissions_tco2,
            "fuel_heat_gj": result.figures.get("fuel_heat_gj", Decimal(0)), "calculation": result.lines,
            "inputs": inputs, "output_t": result.output_t, "intensity_emissions_tco2": result.intensity_emissions_tco2,
            "intensity_output_t": result.intensity_output_t,
            "gases": {gas: str(value) for gas, value in result.gases.items()}}

