"""Exports neutralise text that a spreadsheet would run as a formula; numbers stay numbers."""

import csv
import io
from decimal import Decimal

from openpyxl import load_workbook

from cets.common.export import export_response

ROW = ["=1+1", "+CMD|' /C calc'!A0", "-2+3", "@SUM(A1:A2)", "\t=1", "\r=1", "-1200", "+5", "-12.50",
       -1200, Decimal("-12.50"), 3.5, "ordinary", "a=b", "", None]
SAFE = ["'=1+1", "'+CMD|' /C calc'!A0", "'-2+3", "'@SUM(A1:A2)", "'\t=1", "'\r=1", "-1200", "+5", "-12.50"]


def test_csv_cells_are_neutralised_and_numbers_kept():
    response = export_response("x", [f"c{i}" for i in range(len(ROW))], [ROW], "csv")
    _, row = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))
    assert row[:len(SAFE)] == SAFE
    assert row[len(SAFE):] == ["-1200", "-12.50", "3.5", "ordinary", "a=b", "", ""]


def test_excel_cells_are_text_not_formulas_and_numbers_numeric():
    response = export_response("x", [f"c{i}" for i in range(len(ROW))], [ROW], "xlsx")
    sheet = load_workbook(io.BytesIO(response.content)).active
    cells = list(sheet.iter_rows(min_row=2))[0]
    # XML stores a carriage return as a line feed; the quote still leads.
    assert [c.value for c in cells[:len(SAFE)]] == [v.replace("\r", "\n") for v in SAFE]
    assert all(c.data_type == "s" for c in cells[:len(SAFE)])  # no "f" (formula) cell
    assert cells[len(SAFE)].value == -1200 and cells[len(SAFE)].data_type == "n"
    assert cells[len(SAFE) + 2].value == 3.5
