"""Validate and compute monthly rows before anything is stored: every problem found, none saved.

Both doors (one submission from a form or the API, thousands from a spreadsheet) go through
``prepare_rows``: it checks each row, runs the accounting and returns the prepared rows plus the full
list of problems (row index, field, rule, message). The caller stores only if the list is empty, which
is how "nothing is saved unless the whole file is valid" holds.
"""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

from entities.models import KeyEntity, Sector, Unit

from . import accounting
from .models import Meter, QualityControlPlan, TestReport
from .selectors import month_deadline, parameter_set

# name -> (max_digits, decimal_places): the storage limits of the columns.
UNIT_FIELDS = {
    "electricity_generated_mwh": (15, 3),
    "electricity_supplied_mwh": (15, 3),
    "heat_supplied_gj": (15, 3),
    "operating_hours": (7, 2),
    "load_factor": (6, 4),
    "purchased_electricity_mwh": (15, 3),
}
FUEL_FIELDS = {"consumption": (15, 4), "ncv": (10, 4), "carbon_content": (10, 6), "oxidation_rate": (5, 4)}
HOURS_IN_MONTH_MAX = Decimal(744)


@dataclass
class Problem:
    index: int
    field: str
    code: str
    message: str

    def as_dict(self) -> dict:
        return {"index": self.index, "field": self.field, "code": self.code, "message": str(self.message)}


@dataclass
class PreparedRow:
    unit: Unit
    year: int
    month: int
    values: dict
    fuels: list[dict]
    result: accounting.AccountingResult
    deadline: dt.date
    on_time: bool
    note: str = ""
    extra: dict = field(default_factory=dict)
    inputs: dict | None = None  # a non-power facility's clean monthly parameters (``result`` is a SectorResult)


def parse_decimal(value, name: str, limits: tuple[int, int], problems: list, index: int, *,
                  required: bool = False) -> Decimal | None:
    """A Decimal from a string or number, within the column's digits; problems appended, None returned."""
    if value is None or (isinstance(value, str) and value.strip() == ""):
        if required:
            problems.append(Problem(index, name, "required", _("This value is required.")))
        return None
    if isinstance(value, bool):
        problems.append(Problem(index, name, "invalid_number", _("Must be a number.")))
        return None
    try:
        dec = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        problems.append(Problem(index, name, "invalid_number", _("%(v)r is not a number.") % {"v": value}))
        return None
    if not dec.is_finite():
        problems.append(Problem(index, name, "invalid_number", _("Must be a finite number.")))
        return None
    digits, places = limits
    if dec.as_tuple().exponent < -places and dec != dec.quantize(Decimal(1).scaleb(-places)):
        problems.append(Problem(index, name, "too_many_decimals",
                                _("At most %(p)d decimal places.") % {"p": places}))
        return None
    if abs(dec) >= Decimal(10) ** (digits - places):
        problems.append(Problem(index, name, "too_large", _("The value is implausibly large.")))
        return None
    if dec < 0:
        problems.append(Problem(index, name, "negative", _("May not be negative.")))
        return None
    return dec.quantize(Decimal(1).scaleb(-places))


def _int(value, name: str, problems: list, index: int) -> int | None:
    try:
        text = str(value).strip()
        number = Decimal(text)
        if number != number.to_integral_value():
            raise ValueError
        return int(number)
    except (InvalidOperation, ValueError, TypeError):
        problems.append(Problem(index, name, "invalid_integer", _("%(v)r is not a whole number.") % {"v": value}))
        return None


def _meter_calibrations(entity_ids: set[int], years: set[int]) -> dict:
    """Meters of the approved quality control plans: {(unit_id, measures, year): Meter}."""
    meters = Meter.objects.filter(plan__entity_id__in=entity_ids, plan__year__in=years,
                                  plan__status=QualityControlPlan.Status.APPROVED).select_related("plan")
    return {(m.unit_id, m.measures, m.plan.year): m for m in meters}


def _calibration(meter: Meter | None, month_end: dt.date) -> accounting.Calibration | None:
    """A meter whose calibration lapsed before the month ended counts as not calibrated."""
    if meter is None:
        return None
    if meter.calibrated_on is None or (meter.calibration_due is not None and meter.calibration_due < month_end):
        return accounting.Calibration("not_calibrated", meter.required_accuracy)
    return None


def _units(**lookup) -> dict[int, Unit]:
    """Units with their entity (where review starts) and their sector (which decides the path), no query per
    row: sectors and entities are read once each and shared by their units (a join would build one entity per
    unit, five times the objects for a national month of power)."""
    sectors = {s.pk: s for s in Sector.objects.all()}
    units = list(Unit.objects.filter(**lookup))
    entities = KeyEntity.objects.in_bulk({u.entity_id for u in units})
    for unit in units:
        unit.sector, unit.entity = sectors[unit.sector_id], entities[unit.entity_id]
    return {unit.pk: unit for unit in units}


def prepare_rows(actor, rows: list[dict], *, today: dt.date | None = None) -> tuple[list[PreparedRow], list[Problem]]:
    """Validate ``rows`` (dicts with ``unit`` or ``unit_id`` or ``unit_code``, ``year``, ``month``, the
    unit-level figures, and ``fuels``) for ``actor`` and compute their emissions.

    Entity users and integrators may submit only their own entity's units; the national regulator (or a
    superuser) may load on an entity's behalf (legacy data, replay), which the audit entry records.
    """
    today = today or dt.date.today()
    problems: list[Problem] = []
    unit_ids = {r["unit_id"] for r in rows if r.get("unit_id") is not None}
    unit_codes = {str(r["unit_code"]).strip() for r in rows if r.get("unit_code")}
    units_by_id = _units(pk__in=unit_ids) if unit_ids else {}
    units_by_code = {u.code: u for u in _units(code__in=unit_codes).values()} if unit_codes else {}
    any_entity = actor.is_superuser or actor.role == actor.Role.NATIONAL_REGULATOR
    own_entity = actor.acting_entity_id

    resolved: list[Unit | None] = []
    for index, row in enumerate(rows):
        unit = row.get("unit") or units_by_id.get(row.get("unit_id")) or units_by_code.get(
            str(row.get("unit_code") or "").strip())
        if unit is None or not (any_entity or (own_entity and unit.entity_id == own_entity)):
            field_name = "unit_code" if row.get("unit_code") else "unit"
            problems.append(Problem(index, field_name, "unknown_unit",
                                    _("No such unit among the units you may submit for.")))
            unit = None
        resolved.append(unit)

    entity_ids = {u.entity_id for u in resolved if u}
    report_numbers = {str(f.get("test_report")).strip() for r in rows for f in r.get("fuels") or []
                      if isinstance(f, dict) and f.get("test_report") not in (None, "")}
    report_ids = {f.get("test_report_id") for r in rows for f in r.get("fuels") or []
                  if isinstance(f, dict) and f.get("test_report_id")}
    reports = list(TestReport.objects.filter(entity_id__in=entity_ids).filter(
        number__in=report_numbers)) if report_numbers else []
    reports += list(TestReport.objects.filter(entity_id__in=entity_ids, pk__in=report_ids)) if report_ids else []
    reports_by_number = {(r.entity_id, r.number): r for r in reports}
    reports_by_id = {r.pk: r for r in reports}

    params: dict[int, accounting.ParameterSet] = {}
    years = set()
    prepared: list[PreparedRow] = []
    seen: set[tuple] = set()
    parsed = []
    for index, row in enumerate(rows):
        year = _int(row.get("year"), "year", problems, index)
        month = _int(row.get("month"), "month", problems, index)
        if month is not None and not 1 <= month <= 12:
            problems.append(Problem(index, "month", "out_of_range", _("Month is 1 to 12.")))
            month = None
        if year is not None and not 2013 <= year <= 2100:
            problems.append(Problem(index, "year", "out_of_range", _("Year is out of range.")))
            year = None
        if year and month:
            month_end = month_deadline(year, month) - dt.timedelta(days=40)
            if month_end >= today:
                problems.append(Problem(index, "month", "month_in_future",
                                        _("%(y)d-%(m)02d has not ended yet; data are recorded after the month.")
                                        % {"y": year, "m": month}))
                year = None
            else:
                years.add(year)
        parsed.append((year, month))
    meters = _meter_calibrations(entity_ids, years) if entity_ids and years else {}

    modules: dict = {}
    for index, row in enumerate(rows):
        unit = resolved[index]
        year, month = parsed[index]
        if unit is not None and not unit.is_generating_unit:
            _prepare_facility(index, row, unit, year, month, today=today, problems=problems, seen=seen,
                              params=params, modules=modules, prepared=prepared)
            continue
        before = len(problems)
        values = {name: parse_decimal(row.get(name), name, limits, problems, index)
                  for name, limits in UNIT_FIELDS.items()}
        if values["load_factor"] is not None and values["load_factor"] > 1:
            problems.append(Problem(index, "load_factor", "out_of_range",
                                    _("The load factor is a fraction between 0 and 1.")))
        if values["operating_hours"] is not None and values["operating_hours"] > HOURS_IN_MONTH_MAX:
            problems.append(Problem(index, "operating_hours", "out_of_range",
                                    _("A month has at most 744 hours.")))
        if (values["electricity_supplied_mwh"] or 0) > (values["electricity_generated_mwh"] or 0) > 0:
            problems.append(Problem(index, "electricity_supplied_mwh", "supplied_above_generated",
                                    _("Electricity supplied cannot exceed electricity generated.")))
        fuels = []
        for f_index, item in enumerate(row.get("fuels") or []):
            prefix = f"fuels[{f_index}]."
            fuel = {"fuel": str(item.get("fuel") or "").strip()}
            for name, limits in FUEL_FIELDS.items():
                fuel[name] = parse_decimal(item.get(name), prefix + name, limits, problems, index,
                                           required=name == "consumption")
            if fuel["oxidation_rate"] is not None and not 0 < fuel["oxidation_rate"] <= 1:
                problems.append(Problem(index, prefix + "oxidation_rate", "out_of_range",
                                        _("The oxidation rate is a fraction above 0 and at most 1.")))
            report = None
            if item.get("test_report_id"):
                report = reports_by_id.get(item["test_report_id"])
            elif item.get("test_report") not in (None, "") and unit is not None:
                report = reports_by_number.get((unit.entity_id, str(item["test_report"]).strip()))
            if (item.get("test_report_id") or item.get("test_report") not in (None, "")) and (
                    report is None or (unit is not None and report.entity_id != unit.entity_id)):
                problems.append(Problem(index, prefix + "test_report", "unknown_test_report",
                                        _("No such test report of this entity.")))
                report = None
            elif fuel["carbon_content"] is not None and report is None:
                problems.append(Problem(index, prefix + "carbon_content", "test_report_required",
                                        _("A measured carbon content needs its CMA/CNAS test report.")))
            fuel["test_report"] = report
            fuels.append(fuel)
        if not fuels and (values["operating_hours"] or 0) > 0:
            problems.append(Problem(index, "fuels", "required", _("A unit that operated must report its fuels.")))
        _check_duplicate(index, unit, year, month, seen, problems)
        if len(problems) > before or unit is None or not (year and month):
            continue
        if year not in params:
            params[year] = parameter_set(year)
        month_end = month_deadline(year, month) - dt.timedelta(days=40)
        for fuel in fuels:
            fuel["calibration"] = _calibration(meters.get((unit.pk, "fuel", year)), month_end)
        try:
            result = accounting.compute(
                params[year], fuels=fuels, purchased_electricity_mwh=values["purchased_electricity_mwh"] or 0,
                electricity_calibration=_calibration(meters.get((unit.pk, "purchased_electricity", year)), month_end))
        except accounting.AccountingError as exc:
            problems.append(Problem(index, exc.field, exc.code, exc.message))
            continue
        deadline = month_deadline(year, month)
        prepared.append(PreparedRow(unit=unit, year=year, month=month, values=values, fuels=fuels, result=result,
                                    deadline=deadline, on_time=today <= deadline,
                                    note=str(row.get("note") or "")[:500]))
    return prepared, problems


def _check_duplicate(index: int, unit, year, month, seen: set, problems: list) -> None:
    if unit is not None and year and month:
        key = (unit.pk, year, month)
        if key in seen:
            problems.append(Problem(index, "month", "duplicate",
                                    _("The same unit and month appear twice in this submission.")))
        seen.add(key)


def _prepare_facility(index: int, row: dict, unit: Unit, year, month, *, today, problems, seen, params, modules,
                      prepared) -> None:
    """A month of a non-power facility: its sector's key parameters in ``row["inputs"]``, computed by the
    sector module (``mrv.sector_data``); power's figures and fuels of the row are refused as another
    sector's fields."""
    from . import sector_data

    before = len(problems)
    _check_duplicate(index, unit, year, month, seen, problems)
    inputs = row.get("inputs")
    stray = {name: row[name] for name in row if name not in sector_data.ROW_KEYS and row[name] not in (None, "", [])}
    if stray and isinstance(inputs, dict):
        inputs = {**stray, **inputs}
    elif stray or inputs is None:
        inputs = stray
    if len(problems) > before or not (year and month):
        return
    if year not in params:
        params[year] = parameter_set(year)
    clean, result, found = sector_data.compute(unit, year, inputs, params[year], modules)
    for name, code, message in found:
        problems.append(Problem(index, name, code, message))
    if result is None:
        return
    deadline = month_deadline(year, month)
    prepared.append(PreparedRow(unit=unit, year=year, month=month, values={}, fuels=[], result=result,
                                deadline=deadline, on_time=today <= deadline, note=str(row.get("note") or "")[:500],
                                inputs=clean))
