"""The spreadsheet path: an .xlsx template pre-filled with the entity's units and months, and the reader
for filled templates (.xlsx or .csv).

Layout (one sheet ``MonthlyData``, the same columns in CSV): one row per fuel of a unit-month; a unit
burning two fuels has two rows, the unit-level figures on the first (later rows leave them blank or
repeat them). A unit that did not run has one row with zero hours and zero figures.

The template is bilingual whatever the user's language (the file travels between a plant's staff, its
consultants and the regulator): each header reads ``中文 / English (unit) [key]`` and the reader keeps the
key in brackets, so a CSV with bare keys reads the same. Row 2 is an example (unit code ``示例 EXAMPLE``)
that the reader skips; a second sheet explains every column and the rules in both languages.

A blank cell (empty, spaces, or the text NaN) means "not provided", never zero: 0 is a value. pandas reads
every cell as text (``dtype=str``) so nothing is coerced through float; values become Decimal in
``mrv.validation``. Every problem is reported by sheet, row (as numbered in Excel: the header is row 1)
and column, with the rule broken.
"""

import datetime as dt
import io
import re

import pandas as pd
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation

from . import accounting
from .validation import UNIT_FIELDS, Problem

SHEET = "MonthlyData"
INSTRUCTIONS_SHEET = "说明 Instructions"
KEY_COLUMNS = ["unit_code", "year", "month"]
UNIT_COLUMNS = list(UNIT_FIELDS)
FUEL_COLUMNS = ["fuel", "consumption", "ncv", "carbon_content", "oxidation_rate", "test_report"]
COLUMNS = KEY_COLUMNS + UNIT_COLUMNS + FUEL_COLUMNS + ["note"]
SECTOR_ITEM_COLUMNS = ["item_list", "item_code", "amount"]
# key -> (Chinese, English, unit of measure or range, example value). Deliberately not translated by gettext:
# the file carries both languages for every reader.
LABELS = {
    "unit_code": ("机组编号", "Unit code", "", "HB-WH-01"),
    "year": ("年份", "Year", "", "2024"),
    "month": ("月份", "Month", "1-12", "3"),
    "electricity_generated_mwh": ("发电量", "Electricity generated", "MWh", "300000"),
    "electricity_supplied_mwh": ("供电量", "Electricity supplied", "MWh", "282000"),
    "heat_supplied_gj": ("供热量", "Heat supplied", "GJ", "0"),
    "operating_hours": ("运行小时数", "Operating hours", "h", "700"),
    "load_factor": ("负荷率", "Load factor", "0-1", "0.82"),
    "purchased_electricity_mwh": ("购入电力", "Purchased electricity", "MWh", "0"),
    "fuel": ("燃料品种", "Fuel", "", "bituminous"),
    "consumption": ("燃料消耗量", "Fuel consumption", "t / 10^4 Nm3", "1000"),
    "ncv": ("低位发热量", "Net calorific value", "GJ/t / GJ/10^4 Nm3", "20.908"),
    "carbon_content": ("元素碳含量", "Elemental carbon", "tC/t / tC/10^4 Nm3", ""),
    "oxidation_rate": ("碳氧化率", "Oxidation rate", "0-1", ""),
    "test_report": ("检测报告编号", "Test report number", "", ""),
    "note": ("备注", "Note", "", "示例行，不会导入 / example row, ignored"),
}
HELP = {
    "unit_code": ("已登记的机组编号（已预填）", "registered unit code (pre-filled)"),
    "year": ("数据年份（已预填）", "data year (pre-filled)"),
    "month": ("数据月份（已预填）", "data month (pre-filled)"),
    "electricity_generated_mwh": ("当月发电量，兆瓦时", "electricity generated in the month, MWh"),
    "electricity_supplied_mwh": ("当月供电量，兆瓦时，不大于发电量", "electricity supplied, MWh, at most generated"),
    "heat_supplied_gj": ("当月供热量，吉焦", "heat supplied, GJ"),
    "operating_hours": ("当月运行小时数，最多744", "operating hours, at most 744"),
    "load_factor": ("负荷率，0至1之间的小数，可空", "load factor, a fraction 0-1, may stay blank"),
    "purchased_electricity_mwh": ("购入电力，兆瓦时（计入至2022年数据）",
                                  "purchased electricity, MWh (counts to 2022 data)"),
    "fuel": ("燃料品种，从下拉列表选择（已按机组预填）", "fuel, from the drop-down (pre-filled per unit)"),
    "consumption": ("燃料消耗量：煤为吨，天然气为万标立方米", "fuel burnt: t (coal) or 10^4 Nm3 (gas)"),
    "ncv": ("低位发热量；空白表示采用缺省值", "net calorific value; blank = default value"),
    "carbon_content": ("元素碳含量；空白表示未实测", "elemental carbon; blank = not measured"),
    "oxidation_rate": ("碳氧化率；空白表示采用缺省值", "oxidation rate; blank = default value"),
    "test_report": ("CMA/CNAS检测报告编号（填写元素碳时必填）", "CMA/CNAS report number (required with carbon)"),
    "note": ("备注", "note"),
}
RULES = [
    ("空白单元格表示“未填报”，不是零。已报送的月份只更新填写了数值的单元格，其余保持不变。",
     "A blank cell means \"not provided\", never zero. A month already submitted changes only where the file "
     "carries values; everything else stays as it is."),
    ("0 是一个数值：确实为零的数据请填写 0。", "0 is a value: enter 0 where a figure truly is zero."),
    ("整行空白（除预填的机组、年份、月份和燃料外）不做任何更改；全部空白的文件会被拒绝。",
     "A row with no values (beyond the pre-filled unit, year, month and fuel) changes nothing; a wholly blank "
     "file is refused."),
    ("尚未报送的月份须填写全部机组数据（负荷率除外），无数据处填 0。",
     "A month not yet submitted needs every unit figure (the load factor may stay blank); enter 0 where none."),
    ("一个机组燃用多种燃料时，每种燃料一行，机组数据填在第一行。",
     "A unit burning several fuels has one row per fuel, the unit figures on the first row."),
    ("第2行为示例（机组编号“示例 EXAMPLE”），导入时忽略。",
     "Row 2 is an example (unit code \"示例 EXAMPLE\"); it is ignored."),
    ("上传后先显示变更预览（每个机组和月份的变更前后数值），确认后才保存。",
     "After the upload you see a preview of every change (before and after, per unit and month); nothing is "
     "saved until you confirm."),
    ("正在审核中（已通过一级审核或有待答复的问询）的月份不能通过上传修改，请先请审核部门退回。",
     "A month locked for review (accepted by one tier and still in review, or with a question awaiting your "
     "answer) cannot be changed by an upload: ask the reviewing tier to return it first."),
    ("截止日期：每月结束后40个自然日内报送。", "Deadline: 40 natural days after the end of each month."),
]
EXAMPLE_CODE = "示例 EXAMPLE"
MAX_ROWS = 200_000
BLANK_TEXT = {"", "nan"}
_KEY_IN_HEADER = re.compile(r"\[([a-z0-9_]+)\]\s*$")


class SpreadsheetInvalid(Exception):
    """The file cannot be read at all (wrong format, missing sheet or columns)."""

    def __init__(self, errors: list[dict]):
        super().__init__(errors[0]["message"])
        self.errors = errors


def header(key: str) -> str:
    """The bilingual header of a column: ``中文 / English (unit) [key]``."""
    zh, en, unit, _example = LABELS[key]
    return f"{zh} / {en}{f' ({unit})' if unit else ''} [{key}]"


def column_key(text) -> str:
    """The column key a header names: the key in brackets of a template header, or the bare key of a CSV."""
    text = str(text).strip()
    found = _KEY_IN_HEADER.search(text)
    return found.group(1) if found else text


def template_workbook(units, year: int, months: list[int]) -> bytes:
    """An .xlsx with bilingual headers, an example row, then one row per unit and month with the keys (and
    the unit's usual fuel) filled, fuel names offered in a drop-down, and a bilingual instructions sheet."""
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    ws.append([header(name) for name in COLUMNS])
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.append([EXAMPLE_CODE if name == "unit_code" else LABELS[name][3] or None for name in COLUMNS])
    for cell in ws[2]:
        cell.font = Font(italic=True, color="808080")
        cell.fill = PatternFill("solid", fgColor="EEEEEE")
    for unit in units:
        default_fuel = unit.coal_type or ("natural_gas" if unit.main_fuel == "natural_gas" else "")
        for month in months:
            ws.append([unit.code, year, month] + [None] * len(UNIT_COLUMNS) + [default_fuel] +
                      [None] * (len(FUEL_COLUMNS) - 1) + [None])
    ws.freeze_panes = "D3"
    fuel_col = COLUMNS.index("fuel") + 1
    letter = ws.cell(row=1, column=fuel_col).column_letter
    check = DataValidation(type="list", formula1='"' + ",".join(sorted(accounting.FUELS)) + '"', allow_blank=True)
    ws.add_data_validation(check)
    check.add(f"{letter}3:{letter}{max(ws.max_row, 3) + 500}")
    for index in range(1, len(COLUMNS) + 1):
        ws.column_dimensions[ws.cell(row=1, column=index).column_letter].width = 22
    info = wb.create_sheet(INSTRUCTIONS_SHEET)
    info.append(["列 / Column", "中文说明", "English", "单位 / Unit"])
    for name in COLUMNS:
        info.append([name, HELP[name][0], HELP[name][1], LABELS[name][2]])
    info.append([])
    info.append(["规则 / Rules", "中文", "English"])
    for number, (zh, en) in enumerate(RULES, start=1):
        info.append([number, zh, en])
    for row in (1, len(COLUMNS) + 3):
        for cell in info[row]:
            cell.font = Font(bold=True)
    for letter, width in (("A", 28), ("B", 60), ("C", 80), ("D", 20)):
        info.column_dimensions[letter].width = width
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
    frame.columns = [column_key(c) for c in frame.columns]
    # A non-power sector's template (mrv.sector_spreadsheet) lists its items in rows named by ``item_list``.
    sector_layout = "item_list" in frame.columns
    figures = SECTOR_ITEM_COLUMNS if sector_layout else UNIT_COLUMNS + FUEL_COLUMNS
    missing = [c for c in KEY_COLUMNS + figures if c not in frame.columns]
    if missing:
        raise SpreadsheetInvalid([{"sheet": sheet, "row": 1, "column": c, "rule": "column_missing",
                                   "message": _("Column %(c)s is missing.") % {"c": c}} for c in missing])
    if len(frame) > MAX_ROWS:
        raise SpreadsheetInvalid([{"sheet": sheet, "row": None, "column": None, "rule": "too_many_rows",
                                   "message": _("At most %(n)d rows per file.") % {"n": MAX_ROWS}}])
    frame = frame.apply(lambda col: col.str.strip().where(~col.str.strip().str.lower().isin(BLANK_TEXT), ""))
    values = [c for c in frame.columns if c not in ("note", "item_list")] if sector_layout else KEY_COLUMNS + figures
    blank = (frame[values] == "").all(axis=1)
    example = frame["unit_code"] == EXAMPLE_CODE
    return frame[~blank & ~example], sheet


def frame_rows(frame: pd.DataFrame) -> tuple[list[dict], list[list[int]], list[dict], list[int]]:
    """Group the fuel rows into unit-month rows for ``prepare_rows``.

    Returns (rows, excel_rows_per_row, errors, blank): ``excel_rows_per_row[i]`` lists the spreadsheet rows
    that make up ``rows[i]`` (to report problems where they are); errors found while grouping are already
    in sheet/row/column form. A blank cell stays ``""`` in ``rows`` (a fuel's, ``None``): not provided. A
    unit-month that carries no figure at all (its keys, a pre-filled fuel name or a note only) changes
    nothing: it is left out of ``rows`` and its first spreadsheet row listed in ``blank``.
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
        if any(record[c] for c in FUEL_COLUMNS[1:]):
            rows[position]["fuels"].append({c: record[c] or None for c in FUEL_COLUMNS})
    keep = [i for i, row in enumerate(rows) if row["fuels"] or any(row[c] for c in UNIT_COLUMNS)]
    kept = set(keep)
    blank = [origin[i][0] for i in range(len(rows)) if i not in kept]
    return [rows[i] for i in keep], [origin[i] for i in keep], errors, blank


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
