"""The MRV API: the calculator, submissions (JSON and spreadsheet), templates, and who sees what."""

import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from mrv.models import MonthlySubmission
from mrv.spreadsheet import COLUMNS, column_key

from .conftest import month_row

pytestmark = pytest.mark.django_db
CALC = "/api/v1/mrv/calculate/"


def test_calculator_shape_and_figures(api, integrator):
    body = {"year": 2021, "fuels": [
        {"fuel": "bituminous", "consumption": 1000, "carbon_content": None, "ncv": 20.908, "oxidation_rate": None},
        {"fuel": "natural_gas", "consumption": 100, "carbon_content": None, "ncv": None, "oxidation_rate": None}],
        "purchased_electricity_mwh": 1000}
    response = api(integrator).post(CALC, body, format="json")
    assert response.status_code == 200, response.json()
    data = response.json()
    assert set(data) == {"emissions_tco2", "lines"}
    # 2547.071 (coal, 2021 default 0.03356) + 2165.015 (gas defaults) + 581.000 (1000 MWh x 0.5810)
    assert data["emissions_tco2"] == "5293.086"
    assert [line["emissions_tco2"] for line in data["lines"]] == ["2547.071", "2165.015", "581.000"]
    assert all(line["formula"] and line["inputs"] for line in data["lines"])
    assert data["lines"][2]["inputs"]["EF_grid"]["value"] == "0.581"


@pytest.mark.parametrize(("fuel", "field"), [
    ({"fuel": "bituminous", "consumption": -1, "ncv": 20}, "fuels[0].consumption"),
    ({"fuel": "bituminous", "consumption": 1, "ncv": 20, "oxidation_rate": 1.5}, "fuels[0].oxidation_rate"),
    ({"fuel": "diesel", "consumption": 1}, "fuels[0].fuel"),
    ({"fuel": "bituminous", "consumption": "abc"}, "fuels[0].consumption"),
])
def test_calculator_bad_input(api, integrator, fuel, field):
    response = api(integrator).post(CALC, {"year": 2022, "fuels": [fuel]}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["field"] in (field, "fuels")
    assert error["message"]


def test_calculator_needs_login(api):
    assert api().post(CALC, {"year": 2022, "fuels": []}, format="json").status_code in (401, 403)


def _json_row(unit, **over):
    row = month_row(unit, **over)
    row["unit"] = unit.pk
    return row


def test_submit_via_api_and_scoping(api, entity_user, other_entity_user, wuhan, guangdong, unit):
    response = api(entity_user).post("/api/v1/mrv/submissions/", _json_row(unit), format="json")
    assert response.status_code == 201, response.json()
    sub_id = response.json()["id"]
    assert response.json()["emissions_tco2"] == "2341.393"
    assert api(entity_user).get(f"/api/v1/mrv/submissions/{sub_id}/").json()["calculation"][0]["formula"]
    assert api(wuhan).get("/api/v1/mrv/submissions/").json()["count"] == 1
    assert api(guangdong).get("/api/v1/mrv/submissions/").json()["count"] == 0
    assert api(other_entity_user).get(f"/api/v1/mrv/submissions/{sub_id}/").status_code == 404
    # another entity's unit: refused, nothing stored
    response = api(other_entity_user).post("/api/v1/mrv/submissions/", _json_row(unit, month=5), format="json")
    assert response.status_code == 404
    assert MonthlySubmission.objects.count() == 1


def test_submit_bad_input_lists_problems(api, entity_user, unit):
    response = api(entity_user).post("/api/v1/mrv/submissions/", _json_row(unit, load_factor="1.5"), format="json")
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "load_factor"
    assert response.json()["error"]["details"][0]["code"] == "out_of_range"
    assert MonthlySubmission.objects.count() == 0


def _filled_template(api, user, year=2024, fill=None):
    response = api(user).get(f"/api/v1/mrv/submissions/template/?year={year}")
    assert response.status_code == 200
    wb = load_workbook(io.BytesIO(response.content))
    ws = wb["MonthlyData"]
    header = [column_key(c.value) for c in ws[1]]
    assert header == COLUMNS
    for row in ws.iter_rows(min_row=3):  # row 2 is the example the reader skips
        values = {"electricity_generated_mwh": "300000", "electricity_supplied_mwh": "282000",
                  "heat_supplied_gj": "0", "operating_hours": "700", "load_factor": "0.82",
                  "purchased_electricity_mwh": "0", "consumption": "1000", "ncv": "20.908"}
        if fill:
            values.update(fill(row))
        for cell in row:
            name = header[cell.column - 1]
            if name in values:
                cell.value = values[name]
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    buf.name = "data.xlsx"
    return buf, ws.max_row - 2


def test_template_upload_round_trip(api, entity_user, entity):
    buf, rows = _filled_template(api, entity_user)
    assert rows == 2 * 12  # two units, twelve months of 2024
    response = api(entity_user).post("/api/v1/mrv/submissions/upload/", {"file": buf}, format="multipart")
    assert response.status_code == 201, response.json()
    assert response.json()["status"] == "previewed" and response.json()["summary"]["created"] == 24
    assert MonthlySubmission.objects.count() == 0  # a preview stores nothing
    response = api(entity_user).post(f"/api/v1/mrv/uploads/{response.json()['id']}/confirm/")
    assert response.status_code == 200, response.json()
    assert response.json()["result"]["created"] == 24
    assert Decimal(response.json()["result"]["emissions_tco2"]) == Decimal("2341.393") * 24


def test_upload_errors_by_sheet_row_column_and_nothing_saved(api, entity_user, entity):
    def fill(row):
        if row[0].row == 3:
            return {"consumption": "-3"}
        if row[0].row == 5:
            return {"load_factor": "eighty", "carbon_content": "0.6"}
        return {}

    buf, _rows = _filled_template(api, entity_user, fill=fill)
    response = api(entity_user).post("/api/v1/mrv/submissions/upload/", {"file": buf}, format="multipart")
    assert response.status_code == 400
    details = response.json()["error"]["details"]
    found = {(d["sheet"], d["row"], d["column"], d["rule"]) for d in details}
    assert ("MonthlyData", 3, "consumption", "negative") in found
    assert ("MonthlyData", 5, "load_factor", "invalid_number") in found
    assert ("MonthlyData", 5, "carbon_content", "test_report_required") in found
    assert MonthlySubmission.objects.count() == 0


def test_csv_upload_and_wrong_file(api, entity_user, unit):
    header = ",".join(COLUMNS)
    line = f"{unit.code},2024,3,300000,282000,0,700,0.82,0,bituminous,1000,20.908,,,,"
    buf = io.BytesIO(f"{header}\n{line}\n".encode())
    buf.name = "march.csv"
    response = api(entity_user).post("/api/v1/mrv/submissions/upload/", {"file": buf}, format="multipart")
    assert response.status_code == 201, response.json()
    assert api(entity_user).post(f"/api/v1/mrv/uploads/{response.json()['id']}/confirm/").status_code == 200
    bad = io.BytesIO(b"hello")
    bad.name = "x.pdf"
    response = api(entity_user).post("/api/v1/mrv/submissions/upload/", {"file": bad}, format="multipart")
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_file"
    assert MonthlySubmission.objects.count() == 1


def test_template_only_for_entity_users(api, hubei):
    assert api(hubei).get("/api/v1/mrv/submissions/template/").status_code == 404


def test_supporting_file_only_by_own_entity(api, entity_user, other_entity_user, wuhan, unit, settings, tmp_path):
    from mrv.models import SupportingFile

    settings.MEDIA_ROOT = tmp_path
    sub_id = api(entity_user).post("/api/v1/mrv/submissions/", _json_row(unit), format="json").json()["id"]
    ledger = io.BytesIO(b"%PDF-1.4 stamped ledger")
    ledger.name = "ledger-2024-04.pdf"
    url = f"/api/v1/mrv/submissions/{sub_id}/files/"
    assert api(other_entity_user).post(url, {"file": ledger}, format="multipart").status_code == 404
    ledger.seek(0)
    assert api(wuhan).post(url, {"file": ledger}, format="multipart").status_code == 404
    ledger.seek(0)
    response = api(entity_user).post(url, {"file": ledger}, format="multipart")
    assert response.status_code == 201
    assert SupportingFile.objects.get().description == "ledger-2024-04.pdf"
