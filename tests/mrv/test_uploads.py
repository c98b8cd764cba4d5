"""Uploads never destroy data: blank is not zero, a preview shows every change, confirm stores exactly that
or refuses when the data moved; the bilingual template; the generation-without-emissions warning; refusals
at every new door (issue 14 point 4)."""

import datetime as dt
import io
from decimal import Decimal

import pandas as pd
import pytest
from openpyxl import load_workbook

from cets.common.errors import Conflict, DomainError, NotFound
from cets.common.models import AuditEntry
from entities.models import Unit
from mrv import early_warnings, reviews, rules, services, spreadsheet, uploads
from mrv.models import EarlyWarning, MonthlySubmission, SubmissionUpload
from mrv.spreadsheet import COLUMNS, column_key

from ..conftest import otp_login
from .conftest import month_row

pytestmark = pytest.mark.django_db

FULL = {"electricity_generated_mwh": "300000", "electricity_supplied_mwh": "282000", "heat_supplied_gj": "0",
        "operating_hours": "700", "load_factor": "0.82", "purchased_electricity_mwh": "0", "consumption": "1000",
        "ncv": "20.908"}
SNAPSHOT = ["pk", "version", "is_current", "status", "on_time", "deadline", "submitted_at",
            "electricity_generated_mwh", "electricity_supplied_mwh", "heat_supplied_gj", "operating_hours",
            "load_factor", "purchased_electricity_mwh", "emissions_tco2", "note"]


def template_bytes(entity, year=2024) -> bytes:
    units = Unit.objects.filter(entity=entity).order_by("code")
    return spreadsheet.template_workbook(units, year, list(range(1, 13)))


def filled(content: bytes, cells: dict) -> bytes:
    """The template with ``cells[(unit_code, month)] = {column: value}`` written in; other rows left blank."""
    wb = load_workbook(io.BytesIO(content))
    ws = wb[spreadsheet.SHEET]
    keys = [column_key(c.value) for c in ws[1]]
    for row in ws.iter_rows(min_row=3):
        record = dict(zip(keys, row, strict=True))
        for column, value in cells.get((record["unit_code"].value, int(record["month"].value)), {}).items():
            record[column].value = value
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def snapshot(unit, year=2024) -> list[tuple]:
    return list(MonthlySubmission.objects.filter(unit=unit, year=year).order_by("month", "version")
                .values_list("month", *SNAPSHOT))


@pytest.fixture
def eleven(entity_user, unit, wuhan):
    """HB-WH-01 submitted January to November 2024, each on time (Wuhan reviews first)."""
    for month in range(1, 12):
        services.submissions_bulk_load(actor=entity_user, rows=[month_row(unit, month=month, year=2024)],
                                       today=dt.date(2024, month + 1, 1))
    subs = MonthlySubmission.objects.filter(unit=unit, year=2024)
    assert subs.count() == 11 and all(s.on_time and s.status == "municipal_review" for s in subs)
    return subs


def preview(user, content, name="data.xlsx"):
    return uploads.upload_preview(actor=user, content=content, filename=name)


# ---- blank is not zero ----------------------------------------------------------------------------------

def test_blank_rows_leave_eleven_submitted_months_exactly_as_they_were(entity_user, entity, unit, eleven):
    before = snapshot(unit)
    content = filled(template_bytes(entity), {("HB-WH-01", 12): FULL})  # only December carries values
    staged = preview(entity_user, content)
    assert staged.summary == {"rows": 24, "blank_rows": 23, "unchanged": 0, "created": 1, "updated": 0,
                              "warnings": 0}
    assert [(c["unit"], c["month"], c["action"]) for c in staged.changes] == [("HB-WH-01", 12, "create")]
    uploads.upload_confirm(actor=entity_user, upload=staged)
    assert snapshot(unit)[:11] == before  # same rows, versions, statuses, on-time flags, figures
    december = MonthlySubmission.objects.get(unit=unit, year=2024, month=12)
    assert (december.version, december.emissions_tco2) == (1, Decimal("2341.393"))
    assert MonthlySubmission.objects.filter(unit=unit, year=2024, is_current=True).count() == 12
    assert MonthlySubmission.objects.filter(unit=unit, year=2024, on_time=False).count() == 1  # December only
    early_warnings.warnings_run(year=2024)
    late = EarlyWarning.objects.filter(rule__code="late_submission", unit=unit)
    assert list(late.values_list("month", flat=True)) == [12]
    assert not EarlyWarning.objects.filter(rule__code="missing_month", unit=unit, month__lte=11).exists()


def test_whitespace_and_nan_cells_are_blank_and_a_blank_file_is_refused(entity_user, entity, unit, eleven):
    before = snapshot(unit)
    with pytest.raises(services.UploadInvalid) as exc:
        preview(entity_user, template_bytes(entity))  # the untouched template: the example row is ignored
    assert exc.value.errors[0]["rule"] == "empty" and "blank" in exc.value.errors[0]["message"]
    content = filled(template_bytes(entity), {("HB-WH-01", 3): {"electricity_generated_mwh": "   ",
                                                                 "consumption": "NaN", "note": "checked"}})
    with pytest.raises(services.UploadInvalid) as exc:
        preview(entity_user, content)
    assert exc.value.errors[0]["rule"] == "empty"
    assert snapshot(unit) == before and SubmissionUpload.objects.count() == 0


def test_zero_is_a_value(entity_user, entity, unit, eleven):
    content = filled(template_bytes(entity), {("HB-WH-01", 5): {"heat_supplied_gj": "0",
                                                                 "purchased_electricity_mwh": "12"}})
    staged = preview(entity_user, content)
    # heat 0 equals the recorded 0: no change; purchased electricity is outside the ETS from 2023 data
    assert staged.changes[0]["fields"] == [{"field": "purchased_electricity_mwh", "before": "0.000",
                                            "after": "12.000"}]
    content = filled(template_bytes(entity), {("HB-WH-01", 5): {"electricity_generated_mwh": 0,
                                                                 "electricity_supplied_mwh": "0"}})
    fields = {f["field"]: (f["before"], f["after"]) for f in preview(entity_user, content).changes[0]["fields"]}
    assert fields == {"electricity_generated_mwh": ("300000.000", "0.000"),
                      "electricity_supplied_mwh": ("282000.000", "0.000")}


def test_same_values_change_nothing(entity_user, entity, unit, eleven):
    content = filled(template_bytes(entity), {("HB-WH-01", 2): dict(FULL)})
    with pytest.raises(DomainError) as exc:
        preview(entity_user, content)
    assert exc.value.code == "no_changes"


def test_new_month_needs_every_figure(entity_user, entity, unit, chp_unit, eleven):
    cells = {k: v for k, v in FULL.items() if k != "heat_supplied_gj"}
    content = filled(template_bytes(entity), {("HB-WH-02", 1): cells})
    with pytest.raises(services.UploadInvalid) as exc:
        preview(entity_user, content)
    assert [(e["row"], e["column"], e["rule"]) for e in exc.value.errors] == [(15, "heat_supplied_gj", "required")]
    assert "0" in exc.value.errors[0]["message"]


# ---- preview, then confirm ------------------------------------------------------------------------------

def test_one_changed_cell_changes_only_that_field_after_a_preview_that_saved_nothing(entity_user, entity, unit,
                                                                                      eleven):
    before = snapshot(unit)
    audits = AuditEntry.objects.count()
    content = filled(template_bytes(entity), {("HB-WH-01", 3): {"consumption": "1100"}})
    staged = preview(entity_user, content)
    [change] = staged.changes
    assert (change["unit"], change["year"], change["month"], change["action"]) == ("HB-WH-01", 2024, 3, "update")
    assert (change["version_before"], change["status_before"], change["status_after"]) == (
        1, "municipal_review", "municipal_review")
    assert change["on_time_before"] is True and change["on_time_after"] is False  # a correction after 40 days
    assert change["fields"] == [
        {"field": "bituminous.consumption", "before": "1000.0000", "after": "1100.0000"},
        {"field": "emissions_tco2", "before": "2341.393", "after": "2575.532"}]
    # the preview stored nothing in the monthly data: one audit entry for the preview itself
    assert snapshot(unit) == before and AuditEntry.objects.count() == audits + 1
    staged = uploads.upload_confirm(actor=entity_user, upload=staged)
    assert staged.status == "confirmed" and staged.result["created"] == 1
    march = MonthlySubmission.objects.get(unit=unit, year=2024, month=3, is_current=True)
    old = MonthlySubmission.objects.get(unit=unit, year=2024, month=3, version=1)
    assert (march.version, old.status) == (2, "superseded")
    for name in ("electricity_generated_mwh", "electricity_supplied_mwh", "heat_supplied_gj", "operating_hours",
                 "load_factor", "purchased_electricity_mwh", "note"):
        assert getattr(march, name) == getattr(old, name), name
    [fuel] = march.fuels.all()
    assert (fuel.fuel, fuel.consumption, fuel.ncv) == ("bituminous", Decimal("1100"), Decimal("20.908"))
    assert march.emissions_tco2 == Decimal("2575.532")
    assert [row for row in snapshot(unit) if row[0] != 3] == [row for row in before if row[0] != 3]
    with pytest.raises(Conflict) as exc:
        uploads.upload_confirm(actor=entity_user, upload=staged)
    assert exc.value.code == "upload_decided"


def test_confirm_after_a_concurrent_review_is_refused(entity_user, entity, unit, eleven, wuhan):
    staged = preview(entity_user, filled(template_bytes(entity), {("HB-WH-01", 4): {"ncv": "21.5"}}))
    march_before = snapshot(unit)
    april = MonthlySubmission.objects.get(unit=unit, year=2024, month=4)
    reviews.submission_review(actor=wuhan, submission=april, accept=True)  # after the preview was computed
    with pytest.raises(Conflict) as exc:
        uploads.upload_confirm(actor=entity_user, upload=staged)
    assert exc.value.code == "changed_since_preview" and "HB-WH-01 2024-04" in exc.value.message
    staged.refresh_from_db()
    assert staged.status == "stale" and staged.result is None
    april.refresh_from_db()
    assert (april.version, april.is_current, april.status) == (1, True, "provincial_review")
    assert [r for r in snapshot(unit) if r[0] != 4] == [r for r in march_before if r[0] != 4]


def test_confirm_after_a_new_version_or_a_question_is_refused(entity_user, entity, unit, eleven, wuhan):
    staged = preview(entity_user, filled(template_bytes(entity), {("HB-WH-01", 6): {"load_factor": "0.8"}}))
    services.submissions_bulk_load(actor=entity_user, rows=[month_row(unit, month=6, year=2024, note="fixed")])
    with pytest.raises(Conflict):
        uploads.upload_confirm(actor=entity_user, upload=staged)
    staged = preview(entity_user, filled(template_bytes(entity), {("HB-WH-01", 7): {"load_factor": "0.8"}}))
    reviews.information_request(actor=wuhan, submission=MonthlySubmission.objects.get(unit=unit, month=7),
                                  question="Stamped ledger?")
    with pytest.raises(Conflict):
        uploads.upload_confirm(actor=entity_user, upload=staged)
    assert MonthlySubmission.objects.filter(unit=unit, month=7).count() == 1


def test_a_month_locked_for_review_is_not_changed(entity_user, entity, unit, eleven, wuhan, hubei):
    april = MonthlySubmission.objects.get(unit=unit, year=2024, month=4)
    reviews.submission_review(actor=wuhan, submission=april, accept=True)
    content = filled(template_bytes(entity), {("HB-WH-01", 4): {"ncv": "21.5"}, ("HB-WH-01", 12): FULL})
    with pytest.raises(services.UploadInvalid) as exc:
        preview(entity_user, content)
    assert [(e["row"], e["rule"]) for e in exc.value.errors] == [(6, "month_in_review")]
    # a returned month opens again: the provincial tier returns it, the same file then previews
    reviews.submission_review(actor=hubei, submission=april, accept=False, comment="NCV?")
    staged = preview(entity_user, content)
    assert {(c["month"], c["status_before"]) for c in staged.changes} == {(4, "returned"), (12, None)}


def test_discard(entity_user, entity, unit, eleven):
    staged = preview(entity_user, filled(template_bytes(entity), {("HB-WH-01", 8): {"ncv": "21"}}))
    uploads.upload_discard(actor=entity_user, upload=staged)
    assert SubmissionUpload.objects.get().status == "discarded"
    with pytest.raises(Conflict):
        uploads.upload_confirm(actor=entity_user, upload=staged)
    assert MonthlySubmission.objects.filter(unit=unit, month=8).count() == 1


# ---- warning ---------------------------------------------------------------------------------------------

def test_generation_without_emissions_warns(entity_user, entity, unit, eleven):
    content = filled(template_bytes(entity), {("HB-WH-01", 12): {**FULL, "consumption": "0"}})
    staged = preview(entity_user, content)
    assert staged.summary["warnings"] == 1 and "zero emissions" in staged.changes[0]["warnings"][0]
    staged = uploads.upload_confirm(actor=entity_user, upload=staged)
    counts = early_warnings.warnings_run(submission_ids=staged.result["ids"])
    assert counts.get("generation_without_emissions") == 1
    warning = EarlyWarning.objects.get(rule__code="generation_without_emissions")
    assert (warning.unit_id, warning.month, warning.status) == (unit.pk, 12, "detected")


def test_generation_without_emissions_rule_frame():
    subs = pd.DataFrame([{"id": 1, "unit_id": 1, "entity_id": 1, "year": 2024, "month": 1,
                          "electricity_generated_mwh": 100.0, "emissions_tco2": 0.0},
                         {"id": 2, "unit_id": 1, "entity_id": 1, "year": 2024, "month": 2,
                          "electricity_generated_mwh": 0.0, "emissions_tco2": 0.0},
                         {"id": 3, "unit_id": 1, "entity_id": 1, "year": 2024, "month": 3,
                          "electricity_generated_mwh": 100.0, "emissions_tco2": 80.0}])
    found = rules.generation_without_emissions(subs, None, {})
    assert [f[0] for f in found] == [1]


# ---- the template ----------------------------------------------------------------------------------------

def test_template_is_prefilled_and_bilingual(api, entity_user, entity):
    response = api(entity_user).get("/api/v1/mrv/submissions/template/?year=2024")
    assert response.status_code == 200
    wb = load_workbook(io.BytesIO(response.content))
    ws = wb[spreadsheet.SHEET]
    headers = [c.value for c in ws[1]]
    assert [column_key(h) for h in headers] == COLUMNS
    by_key = dict(zip(COLUMNS, headers, strict=True))
    assert by_key["electricity_generated_mwh"] == "发电量 / Electricity generated (MWh) [electricity_generated_mwh]"
    assert "燃料消耗量" in by_key["consumption"] and "(t / 10^4 Nm3)" in by_key["consumption"]
    assert "(GJ)" in by_key["heat_supplied_gj"] and "供热量" in by_key["heat_supplied_gj"]
    example = [c.value for c in ws[2]]
    assert example[0] == spreadsheet.EXAMPLE_CODE and example[COLUMNS.index("ncv")] == "20.908"
    keys = [(r[0].value, r[1].value, r[2].value, r[COLUMNS.index("fuel")].value)
            for r in ws.iter_rows(min_row=3)]
    assert keys == [(code, 2024, m, "bituminous") for code in ("HB-WH-01", "HB-WH-02") for m in range(1, 13)]
    assert all(c.value in (None, "bituminous") for r in ws.iter_rows(min_row=3) for c in r[3:])
    info = wb[spreadsheet.INSTRUCTIONS_SHEET]
    text = "\n".join(str(c.value) for row in info.iter_rows() for c in row if c.value is not None)
    assert "空白单元格表示“未填报”，不是零" in text and 'A blank cell means "not provided", never zero' in text
    assert "40个自然日" in text and "40 natural days" in text and "示例 EXAMPLE" in text
    assert all(name in text for name in COLUMNS)


# ---- the API door ---------------------------------------------------------------------------------------

def test_api_preview_confirm_and_refusals(api, entity_user, other_entity_user, integrator, hubei, guangdong,
                                          entity, unit, eleven):
    buf = io.BytesIO(filled(template_bytes(entity), {("HB-WH-01", 9): {"operating_hours": "650"}}))
    buf.name = "sept.xlsx"
    response = api(guangdong).post("/api/v1/mrv/uploads/", {"file": buf}, format="multipart")
    assert response.status_code == 404  # regulators do not upload an entity's data
    buf.seek(0)
    response = api(integrator).post("/api/v1/mrv/uploads/", {"file": buf}, format="multipart")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "previewed" and body["summary"]["updated"] == 1
    assert body["changes"][0]["fields"] == [{"field": "operating_hours", "before": "700.00", "after": "650.00"}]
    url = f"/api/v1/mrv/uploads/{body['id']}/"
    for outsider in (other_entity_user, guangdong, hubei):
        assert api(outsider).get(url).status_code == 404
        assert api(outsider).post(url + "confirm/").status_code == 404
        assert api(outsider).post(url + "discard/").status_code == 404
        assert api(outsider).get("/api/v1/mrv/uploads/").json()["count"] == 0
    assert MonthlySubmission.objects.filter(unit=unit, month=9).count() == 1
    assert api(entity_user).get(url).json()["changes"][0]["unit"] == "HB-WH-01"
    response = api(entity_user).post(url + "confirm/")  # a colleague of the same entity confirms
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "confirmed" and response.json()["result"]["created"] == 1
    assert MonthlySubmission.objects.get(unit=unit, month=9, is_current=True).operating_hours == Decimal("650")
    response = api(entity_user).post(url + "confirm/")
    assert response.status_code == 409 and response.json()["error"]["code"] == "upload_decided"


def test_api_stale_confirm_answers_409(api, entity_user, entity, unit, eleven, wuhan):
    buf = io.BytesIO(filled(template_bytes(entity), {("HB-WH-01", 10): {"ncv": "21"}}))
    buf.name = "oct.xlsx"
    upload_id = api(entity_user).post("/api/v1/mrv/uploads/", {"file": buf}, format="multipart").json()["id"]
    reviews.submission_review(actor=wuhan, submission=MonthlySubmission.objects.get(unit=unit, month=10),
                                accept=False, comment="Ledger missing")
    response = api(entity_user).post(f"/api/v1/mrv/uploads/{upload_id}/confirm/")
    assert response.status_code == 409
    assert response.json()["error"] == {"code": "changed_since_preview", "field": "upload",
                                        "message": response.json()["error"]["message"]}
    assert "HB-WH-01 2024-10" in response.json()["error"]["message"]
    assert MonthlySubmission.objects.get(unit=unit, month=10, is_current=True).version == 1


# ---- the portal door ------------------------------------------------------------------------------------

def test_portal_preview_then_confirm(client, entity_user, other_entity_user, guangdong, entity, unit, eleven):
    client.force_login(entity_user)
    upload = io.BytesIO(filled(template_bytes(entity), {("HB-WH-01", 11): {"consumption": "900"}}))
    upload.name = "nov.xlsx"
    response = client.post("/mrv/upload/", {"file": upload})
    assert response.status_code == 302
    url = response["Location"]
    page = client.get(url).content.decode()
    assert 'data-testid="upload-changes"' in page and "bituminous.consumption" in page
    assert "1000.0000" in page and "900.0000" in page and "2341.393" in page and "2107.254" in page
    assert MonthlySubmission.objects.filter(unit=unit, month=11).count() == 1  # nothing stored yet
    for outsider in (other_entity_user, guangdong):
        otp_login(client, outsider)  # a regulator with two factors, so the refusal is the upload's own
        assert client.get(url).status_code == 404
        assert client.post(url, {"do": "confirm"}).status_code == 404
    client.force_login(entity_user)
    response = client.post(url, {"do": "confirm"})
    assert response.status_code == 302 and response["Location"] == f"/mrv/entities/{entity.pk}/"
    november = MonthlySubmission.objects.get(unit=unit, month=11, is_current=True)
    assert (november.version, november.emissions_tco2) == (2, Decimal("2107.254"))
    assert "Confirmed" in client.get(url).content.decode()


def test_portal_discard_and_refused_for_regulators(client, entity_user, guangdong, entity, unit, eleven):
    otp_login(client, guangdong)
    assert client.get("/mrv/upload/").status_code == 404
    client.force_login(entity_user)
    upload = io.BytesIO(filled(template_bytes(entity), {("HB-WH-01", 1): {"ncv": "21"}}))
    upload.name = "jan.xlsx"
    url = client.post("/mrv/upload/", {"file": upload})["Location"]
    response = client.post(url, {"do": "discard"})
    assert response.status_code == 302
    assert SubmissionUpload.objects.get().status == "discarded"
    assert MonthlySubmission.objects.filter(unit=unit, month=1).count() == 1


def test_service_refuses_another_entity(entity_user, other_entity_user, guangdong, entity, unit, eleven):
    staged = preview(entity_user, filled(template_bytes(entity), {("HB-WH-01", 2): {"ncv": "21"}}))
    for outsider in (other_entity_user, guangdong):
        with pytest.raises(NotFound):
            uploads.upload_confirm(actor=outsider, upload=staged)
        with pytest.raises(NotFound):
            uploads.upload_discard(actor=outsider, upload=staged)
    with pytest.raises(NotFound):
        preview(guangdong, filled(template_bytes(entity), {("HB-WH-01", 2): {"ncv": "21"}}))
    # another entity's file naming this entity's units: unknown units, nothing staged
    with pytest.raises(services.UploadInvalid) as exc:
        preview(other_entity_user, filled(template_bytes(entity), {("HB-WH-01", 2): {"ncv": "21"}}))
    assert "unknown_unit" in {e["rule"] for e in exc.value.errors}
    staged.refresh_from_db()
    assert staged.status == "previewed" and SubmissionUpload.objects.count() == 1
