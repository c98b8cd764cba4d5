"""API doors of plans, annual reports, warnings, verification and ratings: values, and refusals."""

import datetime as dt

import pytest

from entities.models import AgencyAssignment
from mrv import early_warnings, reviews, services, verifications
from mrv.models import AgencyRating, EarlyWarning, QualityControlPlan, Verification

from .conftest import month_row, post_report, signed_report
from .test_oversight import VALUES

pytestmark = pytest.mark.django_db

PLAN = {"year": 2025, "parameters": [{"parameter": "coal consumption", "source": "belt scale + inventory",
                                      "frequency": "daily"}],
        "meters": [{"unit": "HB-WH-01", "measures": "fuel", "serial": "BS-01", "required_accuracy": "0.005",
                    "calibrated_on": "2024-12-01", "calibration_due": "2025-12-01"}]}


def test_qc_plan_versions_and_province_review(api, entity_user, hubei, guangdong, wuhan, entity):
    response = api(entity_user).post("/api/v1/mrv/qc-plans/", PLAN, format="json")
    assert response.status_code == 201, response.json()
    plan_id = response.json()["id"]
    response = api(entity_user).post("/api/v1/mrv/qc-plans/", PLAN, format="json")
    assert response.status_code == 400 and response.json()["error"]["field"] == "change_reason"
    second = api(entity_user).post("/api/v1/mrv/qc-plans/", {**PLAN, "change_reason": "new belt scale"},
                                   format="json").json()
    assert second["version"] == 2
    for user in (guangdong, wuhan):
        assert api(user).post(f"/api/v1/mrv/qc-plans/{plan_id}/review/", {"accept": True},
                              format="json").status_code in (403, 404)
    response = api(hubei).post(f"/api/v1/mrv/qc-plans/{plan_id}/review/", {"accept": False}, format="json")
    assert response.status_code == 400 and response.json()["error"]["field"] == "comment"
    assert api(hubei).post(f"/api/v1/mrv/qc-plans/{second['id']}/review/", {"accept": True},
                           format="json").json()["status"] == "approved"
    assert QualityControlPlan.objects.get(pk=plan_id).status == "submitted"


def test_approved_plan_meter_out_of_calibration_adjusts_fuel(entity_user, hubei, entity, unit):
    plan = services.qc_plan_submit(actor=entity_user, entity=entity, year=2024, parameters=PLAN["parameters"],
                                   meters=[{**PLAN["meters"][0], "required_accuracy": "0.01",
                                            "calibrated_on": dt.date(2023, 1, 1),
                                            "calibration_due": dt.date(2024, 2, 1)}])
    services.qc_plan_review(actor=hubei, plan=plan, approve=True)
    result = services.submissions_bulk_load(actor=entity_user, rows=[month_row(unit, month=1, fuels=[
        {"fuel": "bituminous", "consumption": "1000", "ncv": "20.908"}]), month_row(unit, month=3, fuels=[
            {"fuel": "bituminous", "consumption": "1000", "ncv": "20.908"}])])
    from mrv.models import MonthlySubmission

    jan, mar = MonthlySubmission.objects.filter(pk__in=result["ids"]).order_by("month")
    assert str(jan.emissions_tco2) == "2341.393"  # calibrated until Feb 1
    assert str(mar.emissions_tco2) == "2364.807"  # x 1.01: not calibrated in March
    assert mar.calculation[0]["inputs"]["calibration_factor"]["value"] == "1.01"


def test_annual_report_api(api, entity_user, other_entity_user, hubei, entity, unit, chp_unit):
    services.submissions_bulk_load(actor=entity_user, rows=[month_row(u, month=m, year=2024)
                                                            for u in (unit, chp_unit) for m in range(1, 13)])
    response = api(entity_user).post("/api/v1/mrv/annual-reports/", {"year": 2024}, format="json")
    assert response.status_code == 201
    report = response.json()
    assert report["emissions_tco2"] == "56193.432" and report["months_missing"] == []
    assert api(other_entity_user).post(f"/api/v1/mrv/annual-reports/{report['id']}/submit/").status_code == 404
    assert api(hubei).post("/api/v1/mrv/annual-reports/", {"year": 2024}, format="json").status_code == 404
    assert api(entity_user).post(f"/api/v1/mrv/annual-reports/{report['id']}/submit/").json()["status"] == "submitted"
    assert api(hubei).get("/api/v1/mrv/annual-reports/").json()["count"] == 1


def test_warning_api_queue_and_refusals(api, entity_user, wuhan, hubei, guangdong, entity):
    early_warnings.warnings_run(year=2025, today=dt.date(2025, 4, 1))
    queue = api(wuhan).get("/api/v1/mrv/warnings/?tier=municipal&status=detected").json()
    assert queue["count"] == 2  # January of both units is past its deadline (Mar 12); February's is Apr 9
    warning_id = queue["results"][0]["id"]
    assert api(guangdong).get(f"/api/v1/mrv/warnings/{warning_id}/").status_code == 404
    assert api(hubei).post(f"/api/v1/mrv/warnings/{warning_id}/transition/", {"to": "transferred"},
                           format="json").status_code == 403
    assert api(entity_user).post(f"/api/v1/mrv/warnings/{warning_id}/transition/", {"to": "dismissed"},
                                 format="json").status_code == 403
    response = api(wuhan).post(f"/api/v1/mrv/warnings/{warning_id}/transition/", {"to": "dismissed"}, format="json")
    assert response.status_code == 400 and response.json()["error"]["field"] == "comment"
    assert EarlyWarning.objects.get(pk=warning_id).status == "detected"
    response = api(wuhan).post(f"/api/v1/mrv/warnings/{warning_id}/transition/",
                               {"to": "dismissed", "comment": "unit mothballed in January"}, format="json")
    assert response.json()["status"] == "dismissed"
    assert api(entity_user).get("/api/v1/mrv/warnings/").json()["count"] == 2


def test_verification_api(api, entity, other_entity, verifier, hubei, guangdong, entity_user, agency):
    AgencyAssignment.objects.create(year=2024, entity=entity, agency=agency, assigned_by=hubei)
    body = {"entity": entity.pk, "year": 2024, "unit_values": VALUES, "findings": ["ledger stamp missing"]}
    response = post_report(api(verifier), {**body, "entity": other_entity.pk})
    assert response.status_code == 404
    assert post_report(api(entity_user), body).status_code == 404
    response = post_report(api(verifier), body)
    assert response.status_code == 201 and response.json()["verified_emissions_tco2"] == "4600000.600"
    vid = response.json()["id"]
    assert api(guangdong).post(f"/api/v1/mrv/verifications/{vid}/confirm/").status_code == 404
    [finding] = response.json()["findings"]
    assert response.json()["next_step"] == {"who": "entity", "by": "2025-06-30", "why": "findings to answer"}
    assert (finding["number"], finding["text"], finding["status"]) == (1, "ledger stamp missing", "open")
    response = api(hubei).post(f"/api/v1/mrv/verifications/{vid}/confirm/")
    assert response.status_code == 409 and response.json()["error"]["field"] == "findings"
    assert Verification.objects.get().status == "submitted"
    url = f"/api/v1/mrv/findings/{finding['id']}/"
    assert api(guangdong).post(url + "answer/", {"answer": "x"}, format="json").status_code == 404
    assert api(verifier).post(url + "answer/", {"answer": "x"}, format="json").status_code == 404
    assert api(entity_user).post(url + "close/", {"accept": True}, format="json").status_code == 404
    response = api(entity_user).post(url + "answer/", {"answer": ""}, format="json")
    assert response.status_code == 400 and response.json()["error"]["field"] == "answer"
    response = api(entity_user).post(url + "answer/", {"answer": "Ledger stamped and uploaded."}, format="json")
    assert response.json()["status"] == "answered"
    assert api(hubei).get(f"/api/v1/mrv/verifications/{vid}/").json()["next_step"]["who"] == "verification_agency"
    response = api(verifier).post(url + "close/", {"accept": False}, format="json")
    assert response.status_code == 400 and response.json()["error"]["field"] == "comment"
    response = api(verifier).post(url + "close/", {"accept": False, "comment": "page 3 still unstamped"},
                                  format="json")
    assert (response.json()["status"], response.json()["agency_comment"]) == ("open", "page 3 still unstamped")
    api(entity_user).post(url + "answer/", {"answer": "Page 3 stamped too."}, format="json")
    assert api(verifier).post(url + "close/", {"accept": True}, format="json").json()["status"] == "closed"
    response = api(verifier).post(url + "close/", {"accept": True}, format="json")
    assert response.status_code == 409 and response.json()["error"]["code"] == "not_answered"
    assert api(entity_user).get("/api/v1/mrv/findings/").json()["count"] == 1
    assert api(guangdong).get("/api/v1/mrv/findings/").json()["count"] == 0
    assert api(hubei).post(f"/api/v1/mrv/verifications/{vid}/confirm/").json()["status"] == "confirmed"
    response = api(entity_user).post(url + "answer/", {"answer": "late"}, format="json")
    assert response.status_code == 409
    response = api(hubei).post(f"/api/v1/mrv/verifications/{vid}/confirm/")
    assert response.status_code == 409 and response.json()["error"]["code"] == "already_confirmed"
    assert api(verifier).get("/api/v1/mrv/verifications/").json()["count"] == 1
    assert Verification.objects.get().status == "confirmed"


def test_agency_rating(api, entity, hubei, guangdong, verifier, agency):
    AgencyAssignment.objects.create(year=2024, entity=entity, agency=agency, assigned_by=hubei)
    verifications.verification_submit(**signed_report(), actor=verifier, entity=entity, year=2024, unit_values=VALUES)
    Verification.objects.update(submitted_at=dt.datetime(2025, 5, 20, 10, tzinfo=dt.UTC))  # before Jun 30
    body = {"agency": agency.pk, "year": 2024, "timeliness": 5, "quality": 4, "comment": "thorough"}
    assert api(guangdong).post("/api/v1/mrv/agency-ratings/", body, format="json").status_code == 404
    response = api(hubei).post("/api/v1/mrv/agency-ratings/", {**body, "quality": 6}, format="json")
    assert response.status_code == 400 and response.json()["error"]["field"] == "quality"
    response = api(hubei).post("/api/v1/mrv/agency-ratings/", body, format="json")
    assert response.status_code == 200 and response.json()["on_time_reports"] == 1
    assert AgencyRating.objects.get().quality == 4


def test_request_for_information_pauses_the_reviewers_deadline(api, entity_user, other_entity_user, wuhan, hubei,
                                                                unit):
    from mrv.models import InformationRequest, MonthlySubmission

    sub_id = api(entity_user).post("/api/v1/mrv/submissions/", {**month_row(unit), "unit": unit.pk},
                                   format="json").json()["id"]
    sub = MonthlySubmission.objects.get(pk=sub_id)
    MonthlySubmission.objects.filter(pk=sub_id).update(review_due=dt.date(2025, 6, 13))
    url = f"/api/v1/mrv/submissions/{sub_id}/information-requests/"
    assert api(hubei).post(url, {"question": "NCV test report?"}, format="json").status_code == 403
    rfi = reviews.information_request(actor=wuhan, submission=sub, question="Send the NCV test report.",
                                      today=dt.date(2025, 6, 3))
    detail = api(entity_user).get(f"/api/v1/mrv/submissions/{sub_id}/").json()
    assert detail["next_step"]["who"] == "entity"
    assert api(wuhan).post(url, {"question": "again"}, format="json").status_code == 409
    assert api(other_entity_user).post(url + "answer/", {"answer": "x"}, format="json").status_code == 404
    reviews.information_answer(actor=entity_user, request=rfi, answer="Attached CMA report 0412.",
                               today=dt.date(2025, 6, 6))
    sub.refresh_from_db()
    # open Jun 3 -> Jun 6: three working days (4, 5, 6) added to Jun 13 -> Jun 18
    assert sub.review_due == dt.date(2025, 6, 18)
    assert InformationRequest.objects.get().status == "answered"


def test_extension_api(api, entity_user, wuhan, hubei, guangdong, unit):
    sub_id = api(entity_user).post("/api/v1/mrv/submissions/", {**month_row(unit), "unit": unit.pk},
                                   format="json").json()["id"]
    url = f"/api/v1/mrv/submissions/{sub_id}/extensions/"
    response = api(wuhan).post(url, {"working_days": 40, "reason": "inspection"}, format="json")
    assert response.status_code == 400 and response.json()["error"]["field"] == "working_days"
    ext = api(wuhan).post(url, {"working_days": 5, "reason": "inspection"}, format="json").json()
    assert ext["status"] == "pending"
    decide = f"/api/v1/mrv/extensions/{ext['id']}/decide/"
    assert api(guangdong).post(decide, {"grant": True}, format="json").status_code == 404
    assert api(wuhan).post(decide, {"grant": True}, format="json").status_code == 403
    assert api(hubei).post(decide, {"grant": False}, format="json").json()["status"] == "refused"
