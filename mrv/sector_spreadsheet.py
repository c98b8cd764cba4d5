"""The monthly template of a non-power sector (steel, cement, aluminium, or one added as data) and its reader.

Layout (sheet ``MonthlyData`` as power's, bilingual headers ``中文 / English (unit) [key]``, example row 2,
instructions sheet): the keys ``unit_code, year, month``; one column per scalar key parameter of the sector
(``clinker_t``, ``aluminium_t``, ``ironmaking_output_t``...); then one list item per row: ``item_list`` (which
list: ``fuels``, ``materials``, ``products``, ``substitutes``, or a process flow such as
``sintering.inputs`` / ``ironmaking.outputs``), ``item_code`` (fuel, material or product code),
``amount`` (t or 10^4 Nm3), ``ncv``, ``carbon_content``, ``oxidation_rate``; and ``note``. A facility-month
with three fuels and a substitute has four rows, its scalar figures on the first (later rows leave them
blank or repeat them).

As for power, a blank cell is "not provided", never zero: a facility-month whose rows carry no figure (only
the pre-filled keys and list name) changes nothing; a month already recorded changes only where the file
carries values (scalars by name, list items by list and code; an item the file does not mention is kept);
a month without data needs every required parameter (the sector module refuses what is missing).
"""

import io

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from entities.models import Sector, Unit

from . import spreadsheet
from .validation import Problem

ITEM_COLUMNS = ["item_list", "item_code", "amount", "ncv", "carbon_content", "oxidation_rate"]
ITEM_VALUES = ITEM_COLUMNS[1:]
OPTIONAL_ITEM = ("ncv", "carbon_content", "oxidation_rate")
LIST_TYPES = {"fuel_list": ("fuel", "consumption"), "material_list": ("material", "consumption"),
              "product_list": ("product", "quantity")}
PROCESS_TYPE = "process_balance"
SIDES = ("inputs", "outputs")
LABELS = {
    "item_list": ("清单", "List", "fuels / materials / products / substitutes / <工序>.inputs|outputs"),
    "item_code": ("品种代码", "Fuel, material or product code", ""),
    "amount": ("消耗量或产量", "Amount", "t / 10^4 Nm3"),
    "ncv": ("低位发热量", "Net calorific value", "GJ/t / GJ/10^4 Nm3"),
    "carbon_content": ("单位热值含碳量", "Carbon per heat", "tC/GJ"),
    "oxidation_rate": ("碳氧化率", "Oxidation rate", "0-1"),
}


class Origin(list):
    """The spreadsheet rows of one facility-month (the first first), and where each list item came from."""

    def __init__(self, rows=()):
        super().__init__(rows)
        self.where: dict[str, int] = {}


def is_sector_frame(columns) -> bool:
    return "item_list" in set(columns)


def _lists(sector: Sector) -> dict[str, str]:
    return {p["code"]: p["type"] for p in sector.monthly_parameters
            if p.get("type") in LIST_TYPES or p.get("type") == PROCESS_TYPE}


def scalar_columns(sector: Sector) -> list[str]:
    """The sector's scalar key parameters, then its module's other scalar inputs (not facility attributes), the
    ``shutdown`` flag last (next to the list columns, out of the way of the figures)."""
    from .sector_data import SHUTDOWN, accepted_fields, module_for

    lists = _lists(sector)
    attributes = {a["code"] for a in sector.facility_attributes}
    try:
        module = module_for(sector, None)
    except Exception:  # a sector without a loadable module still gets its declared parameters
        module = None
    names = [name for name in accepted_fields(sector, module) if name not in lists and name not in attributes]
    return sorted(names, key=lambda name: name == SHUTDOWN)


def _label(sector: Sector, key: str) -> tuple[str, str, str]:
    if key in LABELS:
        return LABELS[key]
    if key in spreadsheet.LABELS:
        zh, en, unit, _example = spreadsheet.LABELS[key]
        return zh, en, unit
    param = next((p for p in sector.monthly_parameters if p["code"] == key), None)
    return (param.get("name", key), param.get("name_en", key), param.get("unit", "")) if param else (key, key, "")


def columns(sector: Sector) -> list[str]:
    return spreadsheet.KEY_COLUMNS + scalar_columns(sector) + ITEM_COLUMNS + ["note"]


def header(sector: Sector, key: str) -> str:
    zh, en, unit = _label(sector, key)
    return f"{zh} / {en}{f' ({unit})' if unit else ''} [{key}]"


def template_workbook(sector: Sector, units, year: int, months: list[int]) -> bytes:
    """The sector's .xlsx: bilingual headers, an example row, one row per facility and month (keys and the
    first list pre-filled), and the instructions sheet listing the lists and codes the sector takes."""
    names = columns(sector)
    first_list = next(iter(_lists(sector)), "")
    wb = Workbook()
    ws = wb.active
    ws.title = spreadsheet.SHEET
    ws.append([header(sector, n) for n in names])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.append([spreadsheet.EXAMPLE_CODE if n == "unit_code" else (first_list if n == "item_list" else None)
               for n in names])
    for unit in units:
        for month in months:
            ws.append([{"unit_code": unit.code, "year": year, "month": month, "item_list": first_list}.get(n)
                       for n in names])
    ws.freeze_panes = "D3"
    info = wb.create_sheet(spreadsheet.INSTRUCTIONS_SHEET)
    info.append(["列 / Column", "中文", "English", "单位 / Unit"])
    for n in names:
        info.append([n, *_label(sector, n)])
    info.append([])
    info.append(["清单 / Lists", ", ".join(list_names(sector))])
    for number, (zh, en) in enumerate(spreadsheet.RULES[:3], start=1):
        info.append([number, zh, en])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def list_names(sector: Sector) -> list[str]:
    names = []
    processes = [p["code"] for p in sector.processes] or ["sintering", "ironmaking"]
    for code, kind in _lists(sector).items():
        names += [f"{p}.{side}" for p in processes for side in SIDES] if kind == PROCESS_TYPE else [code]
    return names


def frame_rows(frame) -> tuple[list[dict], list[Origin], list[dict], list[int]]:
    """Group the item rows into facility-month rows ``{unit_code, year, month, note, inputs}`` (as
    ``spreadsheet.frame_rows`` does for power): blank cells left out, blank facility-months left out."""
    units = {u.code: u for u in Unit.objects.filter(code__in=set(frame["unit_code"])).select_related("sector")}
    scalars = [c for c in frame.columns if c not in spreadsheet.KEY_COLUMNS + ITEM_COLUMNS + ["note"]]
    rows, origin, errors, index_of = [], [], [], {}
    for record, excel_row in zip(frame.to_dict("records"), [int(i) + 2 for i in frame.index], strict=True):
        key = (record["unit_code"], record["year"], record["month"])
        if key not in index_of:
            index_of[key] = len(rows)
            rows.append({"unit_code": record["unit_code"], "year": record["year"], "month": record["month"],
                         "note": record.get("note", ""), "inputs": {}})
            origin.append(Origin())
        position = index_of[key]
        row, where = rows[position], origin[position]
        where.append(excel_row)
        for column in scalars:
            if record[column] == "":
                continue
            if row["inputs"].get(column, record[column]) != record[column]:
                errors.append({"row": excel_row, "column": column, "rule": "conflicting_unit_value",
                               "message": _("Differs from the first row of this facility and month (row %(r)d).")
                               % {"r": where[0]}})
            row["inputs"][column] = record[column]
        if any(record[c] for c in ITEM_VALUES):
            unit = units.get(record["unit_code"])
            problem = add_item(row["inputs"], where, record, excel_row, unit.sector if unit else None)
            if problem:
                errors.append(problem)
    keep = [i for i, row in enumerate(rows) if row["inputs"]]
    blank = [origin[i][0] for i in range(len(rows)) if i not in set(keep)]
    return [rows[i] for i in keep], [origin[i] for i in keep], errors, blank


def add_item(inputs: dict, where: Origin, record: dict, excel_row: int, sector: Sector | None) -> dict | None:
    name = record["item_list"]
    lists = _lists(sector) if sector else {}
    base, _dot, side = name.partition(".")
    process = side in SIDES and any(kind == PROCESS_TYPE for kind in lists.values())
    if name not in lists and not process:
        return {"row": excel_row, "column": "item_list", "rule": "invalid_choice",
                "message": _("Unknown list %(n)r; this sector's lists: %(k)s.")
                % {"n": name, "k": ", ".join(list_names(sector)) if sector else ""}}
    if process:
        from .sectors.base import INDUSTRY_FUELS

        code_key, amount_key = ("fuel" if record["item_code"] in INDUSTRY_FUELS else "material"), "consumption"
        key = next(code for code, kind in lists.items() if kind == PROCESS_TYPE)
        target = inputs.setdefault(key, {}).setdefault(base, {}).setdefault(side, [])
        path = f"{key}.{base}.{side}[{len(target)}]"
    else:
        code_key, amount_key = LIST_TYPES[lists[name]]
        target = inputs.setdefault(name, [])
        path = f"{name}[{len(target)}]"
    item = {code_key: record["item_code"] or None, amount_key: record["amount"] or None}
    item.update({c: record[c] for c in OPTIONAL_ITEM if record.get(c)})
    target.append(item)
    where.where[path] = excel_row
    return None


def item_key(item: dict) -> str:
    return str(item.get("fuel") or item.get("material") or item.get("product") or "")


def merge(row: dict, sub) -> dict:
    """The file's facility-month over the current version: blank keeps current; items merge by list and code."""
    merged = {k: v for k, v in (sub.inputs or {}).items()}
    for name, value in row["inputs"].items():
        if isinstance(value, list):
            merged[name] = _merge_items(merged.get(name) or [], value)
        elif isinstance(value, dict):
            current = dict(merged.get(name) or {})
            for process, flows in value.items():
                now = dict(current.get(process) or {})
                for side, items in flows.items():
                    now[side] = _merge_items(now.get(side) or [], items)
                current[process] = now
            merged[name] = current
        else:
            merged[name] = value
    return {**{k: row[k] for k in ("unit_code", "year", "month")}, "note": row["note"] or sub.note,
            "inputs": merged}


def _merge_items(current: list, incoming: list) -> list:
    kept = [dict(item) for item in current]
    out = []
    for item in incoming:
        match = next((c for c in kept if item_key(c) == item_key(item)), None)
        if match is None:
            out.append(item)
            continue
        kept.remove(match)
        match.update({k: v for k, v in item.items() if v is not None})
        out.append(match)
    return out + kept


def flatten(inputs: dict, prefix: str = "") -> dict[str, str]:
    """Every figure of the inputs by path (``clinker_t``, ``fuels.bituminous.consumption``), for before/after."""
    out = {}
    for name, value in (inputs or {}).items():
        path = f"{prefix}{name}"
        if isinstance(value, dict):
            out.update(flatten(value, path + "."))
        elif isinstance(value, list):
            for item in value:
                code = item_key(item)
                out.update({f"{path}.{code}.{k}": str(v) for k, v in item.items() if v is not None and v != code})
        else:
            out[path] = str(value)
    return out


def differences(before: dict, after: dict) -> list[dict]:
    old, new = flatten(before), flatten(after)
    return [{"field": k, "before": old.get(k), "after": new.get(k)} for k in sorted(set(old) | set(new))
            if old.get(k) != new.get(k)]


ITEM_FIELD_COLUMN = {"fuel": "item_code", "material": "item_code", "product": "item_code", "consumption": "amount",
                     "quantity": "amount"}


def problems_to_errors(problems: list[Problem], origin: list[Origin], sheet: str) -> list[dict]:
    """``prepare_rows`` problems (``fuels[1].fuel``, ``processes.sintering.inputs[0].ncv``, ``clinker_t``) by
    sheet, row and column of the file."""
    out = []
    for p in problems:
        rows = origin[p.index]
        item, _dot, leaf = p.field.rpartition(".") if "]" in p.field else ("", "", p.field)
        excel_row = rows.where.get(item, rows[0]) if item else rows[0]
        column = ITEM_FIELD_COLUMN.get(leaf, leaf) if item else ("unit_code" if p.field == "unit" else p.field)
        out.append({"sheet": sheet, "row": excel_row, "column": column, "rule": p.code, "message": str(p.message)})
    return out
