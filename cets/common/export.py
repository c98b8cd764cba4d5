"""CSV and Excel downloads from any list of rows: admin actions, portal and API use this one."""

import csv
import io
import re

from django.http import HttpResponse
from django.utils.translation import gettext_lazy as _
from openpyxl import Workbook

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def export_response(filename: str, headers: list[str], rows, fmt: str = "csv") -> HttpResponse:
    """A download of ``rows`` (iterables of cell values) as CSV (UTF-8 with BOM for Excel) or XLSX."""
    headers = [str(h) for h in headers]
    if fmt == "xlsx":
        wb = Workbook(write_only=True)
        ws = wb.create_sheet(title=filename[:31])
        ws.append(headers)
        for row in rows:
            ws.append([_cell(v) for v in row])
        buf = io.BytesIO()
        wb.save(buf)
        response = HttpResponse(buf.getvalue(), content_type=XLSX)
        response["Content-Disposition"] = f'attachment; filename="{filename}.xlsx"'
        return response
    buf = io.StringIO()
    buf.write("\ufeff")
    writer = csv.writer(buf)
    writer.writerow(headers)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    response = HttpResponse(buf.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response


# A cell starting with one of these is read as a formula by Excel and LibreOffice (OWASP "CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def _cell(value):
    """A value as a spreadsheet cell that cannot run as a formula.

    Text from users (a retirement's beneficiary, a company name) reaches public downloads; one
    starting with = + - @ (or tab / CR) would run in the reader's spreadsheet, so it is prefixed with
    a single quote, as OWASP advises. Numbers stay numbers (a negative balance is not text), and so
    does text that is a plain number ("-1200", a Decimal's text "-12.50"), which no spreadsheet evaluates.
    """
    if value is None:
        return ""
    if isinstance(value, (int, float)):
        return value
    if hasattr(value, "tzinfo") and getattr(value, "tzinfo", None) is not None:
        return value.replace(tzinfo=None)
    text = str(value)
    if text.startswith(FORMULA_START) and not PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def _admin_rows(modeladmin, queryset, fields):
    for obj in queryset:
        yield [_admin_value(modeladmin, obj, f) for f in fields]


def _admin_value(modeladmin, obj, field):
    attr = getattr(modeladmin, field, None)
    if callable(attr):
        return attr(obj)
    value = getattr(obj, field)
    display = getattr(obj, f"get_{field}_display", None)
    return display() if callable(display) else (value() if callable(value) else value)


def _make_action(fmt: str, label):
    def action(modeladmin, request, queryset):
        fields = [f for f in modeladmin.get_list_display(request) if f != "action_checkbox"]
        headers = [_header(modeladmin, f) for f in fields]
        name = modeladmin.model._meta.model_name
        return export_response(name, headers, _admin_rows(modeladmin, queryset, fields), fmt)

    action.__name__ = f"export_{fmt}"
    action.short_description = label
    return action


def _header(modeladmin, field):
    attr = getattr(modeladmin, field, None)
    if attr is not None and hasattr(attr, "short_description"):
        return attr.short_description
    try:
        return modeladmin.model._meta.get_field(field).verbose_name
    except Exception:
        return field


export_csv = _make_action("csv", _("Export selected as CSV"))
export_xlsx = _make_action("xlsx", _("Export selected as Excel"))


class ExportMixin:
    """Admin mixin: CSV and Excel export of the selected rows, using the list's columns."""

    actions = [export_csv, export_xlsx]
