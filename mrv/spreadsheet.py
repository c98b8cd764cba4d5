"""The spreadsheet path: an .xlsx template pre-filled with the entity's units and months, and the reader
for filled templates (.xlsx or .csv).

Layout (one sheet ``MonthlyData``, the same columns in CSV): one row per fuel of a unit-month; a unit
burning two fuels has two rows, the unit-level figures on the first (later rows leave them blank or
repeat them). A unit that did not run has one row with blank fuel columns and zero hours.

pandas reads every cell as text (``dtype=str``) so nothing is coerced through float; values become
Decimal in ``mrv.validation``. Every problem is reported by sheet, row (as numbered in Excel: the header
is row 1) and column, with the rule broken.
"""

import datetime as dt
import io

import pandas as pd
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.worksheet.datavalidation import DataValidation

from . import accounting
from .validation import UNIT_FIELDS, Problem

SHEET = "MonthlyData"
KEY_COLUMNS = ["unit_code", "year", "month"]
UNIT_COLUMNS = list(UNIT_FIELDS)
FUEL_COLUMNS = ["fuel", "consumption", "ncv", "carbon_content", "oxidation_rate", "test_report"]
COLUMNS = KEY_COLUMNS + UNIT_COLUMNS + FUEL_COLUMNS + ["note"]
HELP = {
    "unit_code": "registered unit code", "year": "data year", "month": "1-12",
    "electricity_generated_mwh": "MWh", "electricity_supplied_mwh": "MWh", "heat_supplied_gj": "GJ",
    "operating_hours": "h", "load_factor": "fraction 0-1", "purchased_electricity_mwh": "MWh (counts to 2022 data)",
    "fuel": "e.g. bituminous, natural_gas", "consumption": "t (coal) or 10^4 Nm3 (gas)",
    "ncv": "GJ/t or GJ/10^4 Nm3; blank = default", "carbon_content": "tC/t or tC/10^4 Nm3; blank = not measured",
    "oxidation_rate": "fraction; blank = default", "test_report": "report number (required with carbon)",
    "note": "",
}
MAX_ROWS = 200_000


class SpreadsheetInvalid(Exception):
    """The file cannot be read at all (wrong format, missing sheet or columns)."""

    def __init__(self, errors: list[dict]):
        super().__init__(errors[0]["message"])
        self.errors = errors


def template_workbook(units, year: int, months: list[int]) -> bytes:
    """An .xlsx with one row per unit and month, the keys filled, fuel names offered in a drop-down."""
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    ws.append(COLUMNS)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for unit in units:
        default_fuel = unit.coal_type or ("natural_gas" if unit.main_fuel == "natural_gas" else "")
        for month in months:
            ws.append([unit.code, year, month] + [None] * len(UNIT_COLUMNS) + [default_fuel] +
                      [None] * (len(FUEL_COLUMNS) - 1) + [None])
    fuel_col = COLUMNS.index("fuel") + 1
    letter = ws.cell(row=1, column=fuel_col).column_letter
    check = DataValidation(type="list", formula1='"' + ",".join(sorted(accounting.FUELS)) + '"', allow_blank=True)
    ws.add_data_validation(check)
    check.add(f"{letter}2:{letter}{max(ws.max_row, 2) + 500}")
    for index, name in enumerate(COLUMNS, start=1):
        ws.column_dimensions[ws.cell(row=1, column=index).column_letter].width = max(12, len(name) + 2)
    info = wb.create_sheet("Instructions")
    info.append(["column", "meaning / unit"])
    for name in COLUMNS:
        info.append([name, HELP.get(name, "")])
    info.append([])
    info.append(["deadline", "40 natural days after the end of each month"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def read_frame(content: bytes, filename: str) -> tuple[pd.DataFrame, str]:
    """The data sheet as text cells; raises SpreadsheetInvalid when the file or its columns are wrong."""
    name = (filename or "").lower()
    try:
        if name.endswith(".csv"):
            frame = pd.read_csv(io.BytesIO(content), dtype=str, keep_default_na=False, encoding="utf-8-sig")
            sheet = "csv"
        elif name.endswith(".xlsx"):
            frame = pd.read_excel(io.BytesIO(content), sheet_name=SHEET, dtype=str, keep_default_na=False,
                                  engine="openpyxl")
            sheet = SHEET
        else:
            raise SpreadsheetInvalid([{"sheet": None, "row": None, "column": None, "rule": "file_type",
                                       "message": _("Upload an .xlsx template or a .csv file.")}])
    except SpreadsheetInvalid:
        raise
    except ValueError as exc:
        raise SpreadsheetInvalid([{"sheet": SHEET, "row": None, "column": None, "rule": "sheet_missing",
                                   "message": _("The workbook has no sheet %(s)s (%(e)s).") % {"s": SHEET, "e": exc}}])
    except Exception as exc:
        raise SpreadsheetInvalid([{"sheet": None, "row": None, "column": None, "rule": "unreadable",
                                   "message": _("The file cannot be read: %(e)s") % {"e": exc}}])
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in KEY_COLUMNS + UNIT_COLUMNS + FUEL_COLUMNS if c not in frame.columns]
    if missing:
        raise SpreadsheetInvalid([{"sheet": sheet, "row": 1, "column": c, "rule": "column_missing",
                                   "message": _("Column %(c)s is missing.") % {"c": c}} for c in missing])
    if len(frame) > MAX_ROWS:
        raise SpreadsheetInvalid([{"sheet": sheet, "row": None, "column": None, "rule": "too_many_rows",
                                   "message": _("At most %(n)d rows per file.") % {"n": MAX_ROWS}}])
    frame = frame.apply(lambda col: col.str.strip())
    blank = (frame[KEY_COLUMNS + UNIT_COLUMNS + FUEL_COLUMNS] == "").all(axis=1)
    return frame[~blank], sheet


def frame_rows(frame: pd.DataFrame) -> tuple[list[dict], list[list[int]], list[dict]]:
    """Group the fuel rows into unit-month rows for ``prepare_rows``.

    Returns (rows, excel_rows_per_row, errors): ``excel_rows_per_row[i]`` lists the spreadsheet rows
    that make up ``rows[i]`` (to report problems where they are); errors found while grouping are
    already in sheet/row/column form.
    """
    errors: list[dict] = []
    rows: list[dict] = []
    origin: list[list[int]] = []
    index_of: dict[tuple, int] = {}
    records = frame.to_dict("records")
    excel_rows = [int(i) + 2 for i in frame.index]
    for record, excel_row in zip(records, excel_rows, strict=True):
        key = (record["unit_code"], record["year"], record["month"])
        position = index_of.get(key)
        if position is None:
            position = index_of[key] = len(rows)
            rows.append({"unit_code": record["unit_code"], "year": record["year"], "month": record["month"],
                         "note": record.get("note", ""), "fuels": [],
                         **{c: record[c] for c in UNIT_COLUMNS}})
            origin.append([])
        else:
            for column in UNIT_COLUMNS:
                if record[column] not in ("", rows[position][column]):
                    errors.append({"row": excel_row, "column": column, "rule": "conflicting_unit_value",
                                   "message": _("Differs from the first row of this unit and month (row %(r)d).")
                                   % {"r": origin[position][0]}})
        origin[position].append(excel_row)
        if any(record[c] for c in FUEL_COLUMNS[1:]) or (record["fuel"] and record["consumption"]):
            rows[position]["fuels"].append({c: record[c] or None for c in FUEL_COLUMNS})
    return rows, origin, errors


def problems_to_errors(problems: list[Problem], origin: list[list[int]], sheet: str) -> list[dict]:
    """Map ``prepare_rows`` problems (row index, field like ``fuels[1].ncv``) to sheet, row and column."""
    out = []
    for p in problems:
        rows = origin[p.index]
        column, excel_row = p.field, rows[0]
        if p.field.startswith("fuels["):
            number = int(p.field[6:p.field.index("]")])
            column = p.field.split(".", 1)[1] if "." in p.field else "fuel"
            excel_row = rows[min(number, len(rows) - 1)]
        elif p.field == "unit":
            column = "unit_code"
        out.append({"sheet": sheet, "row": excel_row, "column": column, "rule": p.code, "message": str(p.message)})
    return out


def template_months(year: int, today: dt.date) -> list[int]:
    """The months of ``year`` that have ended by ``today`` (all twelve for a past year)."""
    if year < today.year:
        return list(range(1, 13))
    return list(range(1, today.month)) if year == today.year else []
