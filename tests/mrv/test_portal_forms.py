"""Issue 4 points 1-2 on the portal: the entity edits its quality control plan (versioned) and submits or
resubmits one unit's month with its test report; other entities are refused; bad input saves nothing."""

from decimal import Decimal

import pytest

from mrv import models as m
from mrv.models import FuelRecord, Meter, MonthlySubmission, QualityControlPlan, SupportingFile
from tests.conftest import otp_login

pytestmark = pytest.mark.django_db

PLAN = {"year": "2025",
        "parameters": "coal consumption | belt scale + inventory | daily\nNCV | lab test | per batch | GB/T 213",
        "meters": "HB-WH-01 | fuel | BS-01 | 0.005 | 2024-12-01 | 2025-12-01\n | purchased_electricity | EM-7 | 0.002"}


def _month(unit, **over):
    data = {"unit": unit.pk, "year": "2024", "month": "4", "electricity_generated_mwh": "300000",
            "electricity_supplied_mwh": "282000", "heat_supplied_gj": "0", "operating_hours": "700",
            "load_factor": "0.82", "purchased_electricity_mwh": "0", "note": "",
            "fuels-TOTAL_FORMS": "3", "fuels-INITIAL_FORMS": "0", "fuels-MIN_NUM_FORMS": "0",
            "fuels-MAX_NUM_FORMS": "8", "fuels-0-fuel": "bituminous", "fuels-0-consumption": "1000",
            "fuels-0-ncv": "20.908"}
    data.update(over)
    return data


REPORT = {"report-number": "CMA-2024-0412", "report-laboratory": "湖北省煤炭质量检测中心",
          "report-accreditation_number": "CMA 201912345678", "report-sample_id": "S-2024-04",
          "report-sample_date": "2024-05-02", "report-report_date": "2024-05-10", "report-carbon_content": "0.6",
          "report-ncv": "22.5"}


def test_entity_edits_its_plan_in_versions(client, entity, entity_user, hubei):
    from mrv import services

    client.force_login(entity_user)
    url = f"/mrv/entities/{entity.pk}/qc-plan/?year=2025"
    assert 'data-testid="qc-plan"' in client.get(url).content.decode()
    assert client.post(url, PLAN).status_code == 302
    plan = QualityControlPlan.objects.get()
    assert (plan.version, plan.status) == (1, "submitted")
    assert plan.parameters[1] == {"parameter": "NCV", "source": "lab test", "frequency": "per batch",
                                  "sampling_and_testing": "GB/T 213"}
    meters = sorted(plan.meters.values_list("serial", "measures", "required_accuracy", "unit__code"))
    assert meters == [("BS-01", "fuel", Decimal("0.0050"), "HB-WH-01"),
                      ("EM-7", "purchased_electricity", Decimal("0.0020"), None)]
    services.qc_plan_review(actor=hubei, plan=plan, approve=True)
    page = client.get(url).content.decode()
    assert "BS-01 | 0.0050 | 2024-12-01" in page.replace("fuel | ", "")  # the next version starts from v1
    # A change needs a reason: refused by the service, nothing stored.
    page = client.post(url, PLAN).content.decode()
    assert "change_reason: A change to an existing plan needs a reason." in page
    assert QualityControlPlan.objects.count() == 1
    changed = {**PLAN, "meters": "HB-WH-01 | fuel | BS-02 | 0.005 | 2025-03-01 | 2026-03-01",
               "change_reason": "belt scale replaced"}
    assert client.post(url, changed).status_code == 302
    v2 = QualityControlPlan.objects.get(version=2)
    assert (v2.status, v2.change_reason, list(v2.meters.values_list("serial", flat=True))) == (
        "submitted", "belt scale replaced", ["BS-02"])
    assert QualityControlPlan.objects.get(version=1).status == "approved"


def test_plan_page_refuses_others_and_bad_lines(client, entity, entity_user, other_entity_user, hubei):
    url = f"/mrv/entities/{entity.pk}/qc-plan/"
    for outsider in (other_entity_user, hubei):
        otp_login(client, outsider)
        assert client.get(url).status_code == 404
        assert client.post(url, PLAN).status_code == 404
    client.force_login(entity_user)
    page = client.post(url, {**PLAN, "meters": "HB-WH-01 | fuel | BS-01 | 0.005 | 2024-13-01"}).content.decode()
    assert "Line 1: calibrated_on is not a date" in page
    page = client.post(url, {**PLAN, "meters": "HB-WH-01 | fuel | BS-01 | 1.5"}).content.decode()
    assert "meters[0].required_accuracy" in page
    page = client.post(url, {**PLAN, "meters": "GD-GZ-01 | fuel | X | 0.01"}).content.decode()
    assert "meters[0].unit" in page
    assert QualityControlPlan.objects.count() == 0 and Meter.objects.count() == 0


def test_entity_submits_a_month_with_its_test_report(client, entity, entity_user, unit):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(entity_user)
    url = f"/mrv/entities/{entity.pk}/submit/"
    assert 'data-testid="fuel-lines"' in client.get(url).content.decode()
    data = _month(unit, **REPORT, **{"fuels-0-carbon_content": "0.6", "fuels-0-test_report": "CMA-2024-0412",
                                      "fuels-0-ncv": ""})
    data["ledger"] = SimpleUploadedFile("ledger-2024-04.pdf", b"%PDF stamped ledger")
    response = client.post(url, data)
    sub = MonthlySubmission.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/mrv/submissions/{sub.pk}/"
    fuel = sub.fuels.get()
    assert fuel.test_report.number == "CMA-2024-0412" and fuel.carbon_content == Decimal("0.600000")
    assert fuel.emissions_tco2 == Decimal("2178.000")  # 1000 t x 0.6 tC/t x default oxidation 0.99 x 44/12
    assert (sub.version, sub.on_time, sub.electricity_generated_mwh) == (1, False, Decimal("300000.000"))
    assert SupportingFile.objects.get(submission=sub).description == "ledger-2024-04.pdf"
    # Resubmission from the submission page: pre-filled, stored as version 2, version 1 kept.
    assert 'data-testid="resubmit"' in client.get(f"/mrv/submissions/{sub.pk}/").content.decode()
    page = client.get(f"{url}?submission={sub.pk}").content.decode()
    assert "CMA-2024-0412" in page and "300000.000" in page
    client.post(f"{url}?submission={sub.pk}", _month(unit, **{"fuels-0-consumption": "1100"}))
    assert list(MonthlySubmission.objects.order_by("version").values_list("version", "is_current")) == [
        (1, False), (2, True)]
    assert MonthlySubmission.objects.get(version=2).fuels.get().consumption == Decimal("1100.0000")


def test_month_page_refuses_other_entities(client, entity, entity_user, other_entity, other_entity_user, unit,
                                           wuhan):
    client.force_login(other_entity_user)
    assert client.get(f"/mrv/entities/{entity.pk}/submit/").status_code == 404
    assert client.post(f"/mrv/entities/{entity.pk}/submit/", _month(unit)).status_code == 404
    # Its own page does not offer (nor accept) the other entity's unit.
    page = client.post(f"/mrv/entities/{other_entity.pk}/submit/", _month(unit)).content.decode()
    assert "Select a valid choice" in page
    otp_login(client, wuhan)
    assert client.get(f"/mrv/entities/{entity.pk}/submit/").status_code == 404
    client.force_login(entity_user)
    assert client.get(f"/mrv/entities/{entity.pk}/submit/?submission=999999").status_code == 404
    assert MonthlySubmission.objects.count() == 0


def test_month_bad_input_saves_nothing(client, entity, entity_user, unit):
    client.force_login(entity_user)
    url = f"/mrv/entities/{entity.pk}/submit/"
    cases = [
        ({"fuels-0-consumption": "-5"}, "fuels[0].consumption"),
        ({"fuels-0-carbon_content": "0.6"}, "test_report_required"),
        ({"fuels-0-oxidation_rate": "1.2"}, "fuels[0].oxidation_rate"),
        ({"year": "2099", "month": "1"}, "month_in_future"),
        ({**REPORT, "report-report_date": "2024-04-01", "fuels-0-carbon_content": "0.6",
          "fuels-0-test_report": "CMA-2024-0412"}, "report.report_date"),
    ]
    for over, expected in cases:
        page = client.post(url, _month(unit, **over)).content.decode()
        assert 'data-testid="month-errors"' in page and expected in page, expected
    assert MonthlySubmission.objects.count() == FuelRecord.objects.count() == m.TestReport.objects.count() == 0
