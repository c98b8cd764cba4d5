"""The API: every endpoint's happy path and its refusal for the wrong role or organisation."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from entities.models import Organisation
from registry import services as registry
from tests.factories import credit_code
from voluntary import clock
from voluntary.models import Comment, CreditUse, Document, MonitoringReport, Project

from .conftest import AFTER_DISCLOSURE, APPLIED, CREATED, PDF, REGISTERED, REPORT_REGISTERED

pytestmark = pytest.mark.django_db
BASE = "/api/v1/voluntary"


def _error(response, status: int, field=None):
    assert response.status_code == status, response.content
    if field is not None:
        assert response.json()["error"]["field"] == field
    return response.json()["error"]


def _project_body(wind, validator_org, **overrides):
    body = {"methodology": wind.code, "validator": validator_org.pk, "title": "江苏大丰海上风电",
            "site": "盐城大丰外海H8",
            "province": "32", "capacity": "302.00", "construction_start": "2021-03-01",
            "crediting_start": "2022-01-01", "crediting_end": "2031-12-31",
            "parameters": {"grid_connected": True, "offshore_distance_km": 55, "water_depth_m": 15}}
    body.update(overrides)
    return body


def test_methodologies_are_public(api):
    data = api().get(f"{BASE}/methodologies/").json()
    codes = [m["code"] for m in data["results"]]
    assert codes[:5] == ["CCER-01-001-V01", "CCER-01-002-V01", "CCER-10-001-V01", "CCER-14-001-V01",
                         "CCER-14-002-V01"]  # the first four (2023) and, from 2025, the coal-mine gas one
    assert len(codes) == 15 and sum(code.startswith("TBC-") for code in codes) == 8
    assert "code not seen" in next(m["note"] for m in data["results"] if m["code"].startswith("TBC-"))
    wind = api().get(f"{BASE}/methodologies/CCER-01-002-V01/").json()
    assert wind["crediting_years_max"] == 10 and wind["calculation"] == "grid_export"


def test_owner_creates_a_project_others_cannot(api, owner, wind, validator_org, verifier_user):
    with clock.frozen(CREATED):
        response = api(owner).post(f"{BASE}/projects/", _project_body(wind, validator_org), format="json")
        assert response.status_code == 201, response.content
        assert response.json()["state"] == "draft" and response.json()["ref"].startswith("P2024")
        _error(api(verifier_user).post(f"{BASE}/projects/", _project_body(wind, validator_org), format="json"), 403)
        assert api().post(f"{BASE}/projects/", _project_body(wind, validator_org), format="json").status_code in (
            401, 403)
    assert Project.objects.count() == 1


def test_bad_start_date_names_the_field(api, owner, wind, validator_org):
    with clock.frozen(CREATED):
        error = _error(api(owner).post(f"{BASE}/projects/", _project_body(
            wind, validator_org, construction_start="2012-01-01"), format="json"), 400, "construction_start")
    assert error["code"] == "construction_too_early"
    assert Project.objects.count() == 0


def test_draft_visible_to_owner_and_validator_only(api, draft, owner, validator, other_owner, verifier_user):
    url = f"{BASE}/projects/{draft.pk}/"
    assert api(owner).get(url).status_code == 200
    assert api(validator).get(url).status_code == 200
    for user in (other_owner, verifier_user, None):
        assert api(user).get(url).status_code == 404
    assert api().get(f"{BASE}/projects/").json()["count"] == 0
    assert api(owner).get(f"{BASE}/projects/").json()["count"] == 1


def test_update_draft_only_by_its_owner(api, draft, owner, other_owner):
    url = f"{BASE}/projects/{draft.pk}/"
    with clock.frozen(CREATED):
        response = api(owner).patch(url, {"title": "阳江沙扒三期"}, format="json")
        assert response.status_code == 200 and response.json()["title"] == "阳江沙扒三期"
        _error(api(other_owner).patch(url, {"title": "x"}, format="json"), 404)


def test_publish_upload_and_comment_flow(api, draft, owner, other_owner):
    url = f"{BASE}/projects/{draft.pk}"
    with clock.frozen(CREATED):
        _error(api(other_owner).post(f"{url}/documents/", {"kind": "design", "file": SimpleUploadedFile(
            "a.pdf", PDF)}, format="multipart"), 404)
        response = api(owner).post(f"{url}/documents/", {"kind": "design", "file": SimpleUploadedFile("pdd.pdf", PDF)},
                                   format="multipart")
        assert response.status_code == 201, response.content
        assert api(owner).post(f"{url}/publish/").json()["disclosure_end"] == "2024-03-29"
        _error(api(other_owner).post(f"{url}/publish/"), 403)  # public now, but not theirs
        docs = api().get(f"{url}/documents/").json()
        assert [d["name"] for d in docs] == ["pdd.pdf"]
        assert api().post(f"{url}/comments/", {"author_name": "公众", "text": "关注鸟类迁徙"},
                          format="json").status_code == 201
        _error(api().get(f"{url}/comments/"), 404)
        _error(api(other_owner).get(f"{url}/comments/"), 404)
        assert [c["text"] for c in api(owner).get(f"{url}/comments/").json()] == ["关注鸟类迁徙"]
    with clock.frozen(AFTER_DISCLOSURE):
        _error(api().post(f"{url}/comments/", {"author_name": "迟到", "text": "x"}, format="json"), 400, "text")
    assert Comment.objects.count() == 1


def test_publish_by_other_owner_refused_while_draft(api, draft, other_owner):
    _error(api(other_owner).post(f"{BASE}/projects/{draft.pk}/publish/"), 404)


@override_settings(MAX_UPLOAD_BYTES=50)
def test_oversized_upload_refused_by_api(api, draft, owner):
    error = _error(api(owner).post(f"{BASE}/projects/{draft.pk}/documents/", {
        "kind": "design", "file": SimpleUploadedFile("pdd.pdf", PDF + b"0" * 100)}, format="multipart"), 400, "file")
    assert error["code"] == "file_too_large"
    assert Document.objects.count() == 0


def test_validate_apply_register_by_the_right_roles(api, disclosed, owner, validator, verifier_user, national,
                                                    hubei):
    url = f"{BASE}/projects/{disclosed.pk}"
    with clock.frozen(AFTER_DISCLOSURE):
        _error(api(verifier_user).post(f"{url}/documents/", {"kind": "validation", "file": SimpleUploadedFile(
            "v.pdf", PDF)}, format="multipart"), 403)
        api(validator).post(f"{url}/documents/", {"kind": "validation", "file": SimpleUploadedFile("v.pdf", PDF)},
                            format="multipart")
        _error(api(verifier_user).post(f"{url}/validate/", {"positive": True}, format="json"), 403)
        assert api(validator).post(f"{url}/validate/", {"positive": True}, format="json").json()["state"] == "validated"
    with clock.frozen(APPLIED):
        _error(api(validator).post(f"{url}/apply/"), 403)
        assert api(owner).post(f"{url}/apply/").json()["decision_due"] == "2024-04-24"
    with clock.frozen(REGISTERED):
        _error(api(owner).post(f"{url}/register/"), 403)
        _error(api(hubei, otp=True).post(f"{url}/register/"), 403)
        _error(api(owner).post(f"{url}/reject/", {"reason": "x"}, format="json"), 403)
        assert api(national, otp=True).post(f"{url}/register/").json()["state"] == "registered"
        _error(api(owner).post(f"{url}/cancel/", {"reason": "x"}, format="json"), 403)
        assert api(national).post(f"{url}/cancel/", {"reason": "核查发现重复"}, format="json").json()[
            "state"] == "cancelled"


def test_report_flow_and_refusals(api, registered, owner, other_owner, verifier_org, verifier_user, validator,
                                  validator_org, national):
    body = {"project": registered.pk, "verifier": verifier_org.pk, "period_start": "2022-01-01",
            "period_end": "2022-12-31", "net_export_mwh": "50000"}
    with clock.frozen(dt.date(2024, 6, 3)):
        _error(api(other_owner).post(f"{BASE}/reports/", body, format="json"), 403)
        _error(api(owner).post(f"{BASE}/reports/", {**body, "verifier": validator_org.pk}, format="json"), 400,
               "verifier")
        created = api(owner).post(f"{BASE}/reports/", body, format="json")
        assert created.status_code == 201 and created.json()["claimed_reductions"] == 32826
        rid = created.json()["id"]
        _error(api(owner).post(f"{BASE}/reports/", {**body, "period_start": "2022-06-01"}, format="json"), 400,
               "period_start")
        assert api().get(f"{BASE}/reports/{rid}/").status_code == 404  # draft: not public
        api(owner).post(f"{BASE}/projects/{registered.pk}/documents/", {
            "kind": "monitoring", "report": rid, "file": SimpleUploadedFile("mr.pdf", PDF)}, format="multipart")
        _error(api(other_owner).post(f"{BASE}/reports/{rid}/submit/"), 404)
        assert api(owner).post(f"{BASE}/reports/{rid}/submit/").json()["state"] == "submitted"
        api(verifier_user).post(f"{BASE}/projects/{registered.pk}/documents/", {
            "kind": "verification", "report": rid, "file": SimpleUploadedFile("vr.pdf", PDF)}, format="multipart")
        _error(api(validator).post(f"{BASE}/reports/{rid}/verify/", {"verified_net_export_mwh": "50000"},
                                   format="json"), 404)
        verified = api(verifier_user).post(f"{BASE}/reports/{rid}/verify/", {"verified_net_export_mwh": "49000"},
                                           format="json").json()
        assert verified["verified_reductions"] == 32169 and verified["disclosure_end"] == "2024-07-02"
        assert api().get(f"{BASE}/reports/{rid}/").status_code == 200  # disclosed: public
    with clock.frozen(dt.date(2024, 7, 3)):
        _error(api(verifier_user).post(f"{BASE}/reports/{rid}/apply/"), 403)
        assert api(owner).post(f"{BASE}/reports/{rid}/apply/").json()["state"] == "applied"
    with clock.frozen(REPORT_REGISTERED):
        _error(api(owner).post(f"{BASE}/reports/{rid}/register/"), 403)
        _error(api(owner).post(f"{BASE}/reports/{rid}/reject/", {"reason": "x"}, format="json"), 403)
        first = api(national, otp=True).post(f"{BASE}/reports/{rid}/register/", HTTP_IDEMPOTENCY_KEY="reg-1")
        assert first.status_code == 200, first.content
        assert [(i["vintage"], i["quantity"]) for i in first.json()] == [(2022, 32169)]
        replay = api(national, otp=True).post(f"{BASE}/reports/{rid}/register/", HTTP_IDEMPOTENCY_KEY="reg-1")
        assert replay["Idempotent-Replayed"] == "true"
    assert MonitoringReport.objects.get(pk=rid).issuances.count() == 1
    issuances = api().get(f"{BASE}/issuances/").json()["results"]
    assert [(i["quantity"], i["serial_start"], i["serial_end"]) for i in issuances] == [(32169, 1, 32169)]


def test_organisation_register_by_registry_only(api, national, owner):
    body = {"kind": "vvb", "name": "新审定机构", "credit_code": "", "province": "11",
            "accreditations": [{"scope": "CCER sector 01", "number": "CNCA-V-001", "valid_from": "2024-01-01",
                                "valid_to": "2028-12-31"}]}
    body["credit_code"] = credit_code("110100", "12")
    _error(api(owner).post(f"{BASE}/organisations/", body, format="json"), 403)
    created = api(national).post(f"{BASE}/organisations/", body, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["accreditations"][0]["scope"] == "CCER sector 01"
    assert Organisation.objects.filter(kind="vvb", name="新审定机构").count() == 1
    no_scope = {**body, "credit_code": credit_code("110100", "12"), "accreditations": []}
    _error(api(national).post(f"{BASE}/organisations/", no_scope, format="json"), 400, "accreditations")


def test_retire_and_certificate_via_api(api, issued, owner, verifier_user):
    body = {"instrument": issued[0].instrument_code, "quantity": 300, "beneficiary": "某会议主办方",
            "purpose": "event"}
    _error(api(verifier_user).post(f"{BASE}/retirements/", body, format="json"), 403)
    assert api().post(f"{BASE}/retirements/", body, format="json").status_code in (401, 403)
    with clock.frozen(dt.date(2024, 9, 2)):
        response = api(owner).post(f"{BASE}/retirements/", body, format="json", HTTP_IDEMPOTENCY_KEY="r1")
        assert response.status_code == 201, response.content
        again = api(owner).post(f"{BASE}/retirements/", body, format="json", HTTP_IDEMPOTENCY_KEY="r1")
        assert again["Idempotent-Replayed"] == "true"
    assert CreditUse.objects.count() == 1
    code = response.json()["code"]
    public = api().get(f"{BASE}/uses/{code}/").json()
    assert public["quantity"] == 300 and public["beneficiary"] == "某会议主办方"
    pdf = api().get(f"{BASE}/uses/{code}/certificate/")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert api().get(f"{BASE}/uses/NOPE/").status_code == 404


def test_offset_via_api_refuses_other_entity(api, issued, entity, entity_user, other_entity_user):
    body = {"entity": entity.pk, "instrument": issued[0].instrument_code, "quantity": 1, "compliance_year": 2023}
    _error(api(other_entity_user).post(f"{BASE}/offsets/", body, format="json"), 404)
    error = _error(api(entity_user).post(f"{BASE}/offsets/", body, format="json"), 400)
    assert (error["code"], error["field"]) == ("no_obligation", "compliance_year")  # offsets count for one
    assert CreditUse.objects.count() == 0


def test_transfer_via_api_refuses_non_holders(api, issued, verifier_user, owner, entity):
    target = registry.account_for_entity(entity=entity)
    body = {"instrument": issued[0].instrument_code, "to_account": target.number, "quantity": 5}
    _error(api(verifier_user).post(f"{BASE}/transfers/", body, format="json"), 403)
    response = api(owner).post(f"{BASE}/transfers/", body, format="json")
    assert response.status_code == 201 and response.json()["quantity"] == 5


def test_list_query_count_is_flat(api, registered, django_assert_max_num_queries):
    with django_assert_max_num_queries(4):
        data = api().get(f"{BASE}/projects/").json()
    assert data["count"] == 1 and data["results"][0]["registration_number"] == registered.registration_number
