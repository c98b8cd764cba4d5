"""The spreadsheet template per sector and its upload (preview, then confirm) for a clinker line, an aluminium
process and a steel enterprise: the same figures as through the API, blank months never stored as zero,
blank cells keep the recorded values, problems by row and column with nothing saved, refusals."""

import csv
import io

import pytest
from openpyxl import load_workbook

from mrv.models import MonthlySubmission, SubmissionUpload

from .conftest import ALUMINIUM_MONTH

pytestmark = pytest.mark.django_db

ITEMS = ["item_list", "item_code", "amount", "ncv", "carbon_content", "oxidation_rate"]


def _csv(columns: list[str], rows: list[dict]) -> io.BytesIO:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns)
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    out = io.BytesIO(buf.getvalue().encode())
    out.name = "months.csv"
    return out


def _upload(api, user, content) -> dict:
    response = api(user).post("/api/v1/mrv/uploads/", {"file": content}, format="multipart")
    return response


def _cement_rows(month=3, **first):
    key = {"unit_code": "HB-CEM-L1", "year": "2025", "month": str(month)}
    return [{**key, "clinker_t": "100000", "item_list": "fuels", "item_code": "bituminous", "amount": "12500",
             "ncv": "22.0", **first},
            {**key, "item_list": "substitutes", "item_code": "carbide_slag", "amount": "5000"}]


CEMENT_COLUMNS = ["unit_code", "year", "month", "clinker_t", "clinker_factor", *ITEMS, "note"]


def test_cement_template_filled_and_uploaded(api, cement_entity, facility_user, hubei):
    user = facility_user(cement_entity)
    response = api(user).get("/api/v1/mrv/submissions/template/?year=2025")
    assert response.status_code == 200 and "-cement.xlsx" in response["Content-Disposition"]
    ws = load_workbook(io.BytesIO(response.content))["MonthlyData"]
    headers = [c.value for c in ws[1]]
    assert headers[3] == "熟料产量 / Clinker output (t) [clinker_t]" and "[item_list]" in headers[6]
    assert headers[5] == "全月停产 / Shut down the whole month [shutdown]"  # a month the kiln stood still
    assert [ws.cell(row=r, column=3).value for r in range(3, 15)] == list(range(1, 13))  # every month pre-filled
    assert ws.cell(row=5, column=headers.index("清单 / List (fuels / materials / products / substitutes / "
                                               "<工序>.inputs|outputs) [item_list]") + 1).value == "fuels"
    # Fill March only (two rows: the fuel and the substitute); the other eleven months stay blank.
    col = {h.split("[")[-1].rstrip("]"): i + 1 for i, h in enumerate(headers)}
    for name, value in (("clinker_t", 100000), ("item_code", "bituminous"), ("amount", 12500), ("ncv", 22.0)):
        ws.cell(row=5, column=col[name], value=value)
    ws.insert_rows(6)
    for name, value in (("unit_code", "HB-CEM-L1"), ("year", 2025), ("month", 3), ("item_list", "substitutes"),
                        ("item_code", "carbide_slag"), ("amount", 5000)):
        ws.cell(row=6, column=col[name], value=value)
    buf = io.BytesIO()
    ws.parent.save(buf)
    buf.seek(0)
    buf.name = "cement.xlsx"
    response = _upload(api, user, buf)
    assert response.status_code == 201, response.json()
    preview = response.json()
    assert preview["summary"] == {"rows": 12, "blank_rows": 11, "unchanged": 0, "created": 1, "updated": 0,
                                  "warnings": 0}
    change = preview["changes"][0]
    assert (change["unit"], change["month"], change["action"], change["on_time_after"]) == ("HB-CEM-L1", 3, "create",
                                                                                            False)
    assert {f["field"]: f["after"] for f in change["fields"]}["substitutes.carbide_slag.consumption"] == "5000"
    assert not MonthlySubmission.objects.exists()  # a preview stores nothing
    assert api(hubei).post(f"/api/v1/mrv/uploads/{preview['id']}/confirm/").status_code == 404
    response = api(user).post(f"/api/v1/mrv/uploads/{preview['id']}/confirm/")
    assert response.status_code == 200, response.json()
    sub = MonthlySubmission.objects.get()
    assert (sub.month, str(sub.emissions_tco2), str(sub.output_t)) == (3, "77234.185", "100000.000")
    assert MonthlySubmission.objects.count() == 1  # blank months never become zero months


def test_upload_changes_only_what_the_file_carries(api, cement_entity, facility_user):
    user = facility_user(cement_entity)
    first = _upload(api, user, _csv(CEMENT_COLUMNS, _cement_rows())).json()
    api(user).post(f"/api/v1/mrv/uploads/{first['id']}/confirm/")
    # Second file: clinker only; the fuel and the substitute are kept from the recorded month.
    row = {"unit_code": "HB-CEM-L1", "year": "2025", "month": "3", "clinker_t": "110000", "item_list": "fuels"}
    preview = _upload(api, user, _csv(CEMENT_COLUMNS, [row])).json()
    fields = {f["field"]: (f["before"], f["after"]) for f in preview["changes"][0]["fields"]}
    # 26,134.185 + 110,000 x 0.535 - 2,400 = 82,584.185
    assert fields == {"clinker_t": ("100000", "110000"), "emissions_tco2": ("77234.185", "82584.185")}
    api(user).post(f"/api/v1/mrv/uploads/{preview['id']}/confirm/")
    current = MonthlySubmission.objects.get(is_current=True)
    assert (current.version, str(current.emissions_tco2)) == (2, "82584.185")
    assert current.inputs["substitutes"] == [{"material": "carbide_slag", "consumption": "5000"}]
    same = _upload(api, user, _csv(CEMENT_COLUMNS, [row]))
    assert same.status_code == 400 and same.json()["error"]["code"] == "no_changes"


@pytest.mark.parametrize("rows, row, column, rule", [
    (_cement_rows(item_code="peat"), 2, "item_code", "invalid_choice"),
    (_cement_rows(amount="-3"), 2, "amount", "negative"),
    (_cement_rows(clinker_t="0"), 2, "clinker_t", "not_positive"),
    (_cement_rows(item_list="lubricants"), 2, "item_list", "invalid_choice"),
])
def test_bad_rows_are_reported_by_row_and_column(api, cement_entity, facility_user, rows, row, column, rule):
    response = _upload(api, facility_user(cement_entity), _csv(CEMENT_COLUMNS, rows))
    assert response.status_code == 400
    found = [(d["row"], d["column"], d["rule"]) for d in response.json()["error"]["details"]]
    assert (row, column, rule) in found
    assert not SubmissionUpload.objects.exists() and not MonthlySubmission.objects.exists()


def test_another_sectors_column_is_refused(api, cement_entity, facility_user):
    rows = _cement_rows(aluminium_t="50")
    response = _upload(api, facility_user(cement_entity), _csv(CEMENT_COLUMNS + ["aluminium_t"], rows))
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["column"] == "aluminium_t"
    assert response.json()["error"]["details"][0]["rule"] == "not_in_sector"


def test_other_organisation_cannot_upload_for_the_line(api, cement_entity, other_entity_user):
    response = _upload(api, other_entity_user, _csv(CEMENT_COLUMNS, _cement_rows()))
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["column"] == "unit_code"
    assert not SubmissionUpload.objects.exists()


def test_aluminium_and_steel_uploads_store_the_api_figures(api, aluminium_entity, steel_entity, facility_user):
    columns = ["unit_code", "year", "month", *ALUMINIUM_MONTH, "anode_effect_minutes", *ITEMS, "note"]
    rows = [{"unit_code": "HB-AL-P1", "year": "2025", "month": "3", **ALUMINIUM_MONTH}]
    preview = _upload(api, facility_user(aluminium_entity), _csv(columns, rows)).json()
    api(facility_user(aluminium_entity)).post(f"/api/v1/mrv/uploads/{preview['id']}/confirm/")
    key = {"unit_code": "HB-ST-01", "year": "2025", "month": "3"}
    steel = [{**key, "ironmaking_output_t": "370000", "sinter_t": "500000", "item_list": "fuels",
              "item_code": "washed_coking_coal", "amount": "220000"},
             {**key, "item_list": "fuels", "item_code": "anthracite", "amount": "70000"},
             {**key, "item_list": "materials", "item_code": "limestone", "amount": "30000"},
             {**key, "item_list": "products", "item_code": "crude_steel", "amount": "400000"},
             {**key, "item_list": "products", "item_code": "tar", "amount": "5000"},
             {**key, "item_list": "sintering.inputs", "item_code": "coke", "amount": "20000"},
             {**key, "item_list": "ironmaking.inputs", "item_code": "coke", "amount": "150000"},
             {**key, "item_list": "ironmaking.outputs", "item_code": "bf_gas", "amount": "20000"}]
    steel_columns = ["unit_code", "year", "month", "ironmaking_output_t", "sinter_t", *ITEMS, "note"]
    response = _upload(api, facility_user(steel_entity), _csv(steel_columns, steel))
    assert response.status_code == 201, response.json()
    api(facility_user(steel_entity)).post(f"/api/v1/mrv/uploads/{response.json()['id']}/confirm/")
    stored = {s.unit.code: s for s in MonthlySubmission.objects.select_related("unit")}
    assert str(stored["HB-AL-P1"].emissions_tco2) == "84731.333"
    assert stored["HB-AL-P1"].gases == {"CO2": "71573.333", "CF4": "11271.000", "C2F6": "1887.000"}
    assert (str(stored["HB-ST-01"].emissions_tco2), str(stored["HB-ST-01"].intensity_emissions_tco2)) == (
        "701452.011", "350118.300")


def test_template_refusals(api, cement_entity, facility_user, hubei):
    assert api(hubei).get("/api/v1/mrv/submissions/template/?year=2025").status_code == 404
    response = api(facility_user(cement_entity)).get("/api/v1/mrv/submissions/template/?year=2025&sector=glass")
    assert response.status_code == 400 and response.json()["error"]["field"] == "sector"
