"""The carry-over API: the entity applies (idempotent, bad input named), regulators decide four-eyes, scoping."""

import pytest

from compliance.models import CarryOverApplication, CarryOverNotice

from .carryover_helpers import held

pytestmark = pytest.mark.django_db

URL = "/api/v1/compliance"
APPS = f"{URL}/carry-over-applications/"


def test_entity_applies_and_two_regulators_decide(api, open_now, entity, entity_user, national, national2):
    body = {"scheme": "2025", "quantity": 200_000}
    first = api(entity_user).post(APPS, body, format="json", HTTP_IDEMPOTENCY_KEY="co-1")
    assert first.status_code == 201, first.json()
    again = api(entity_user).post(APPS, body, format="json", HTTP_IDEMPOTENCY_KEY="co-1")
    assert again["Idempotent-Replayed"] == "true" and CarryOverApplication.objects.count() == 1
    pk = first.json()["id"]
    assert (first.json()["batch"], first.json()["status"]) == (2, "submitted")
    proposed = api(national, otp=True).post(f"{APPS}{pk}/propose/", format="json")
    assert proposed.status_code == 200 and proposed.json()["status"] == "proposed"
    own = api(national, otp=True).post(f"{APPS}{pk}/decide/", {"approve": True}, format="json")
    assert own.status_code == 403 and own.json()["error"]["code"] == "own_proposal"
    decided = api(national2, otp=True).post(f"{APPS}{pk}/decide/", {"approve": True}, format="json")
    assert decided.status_code == 200 and decided.json()["status"] == "approved"
    assert (held(entity, 2019), held(entity, 2021), held(entity, 2025)) == (0, 200_000, 200_000)
    public = api().get(f"{URL}/carry-over-schemes/2025/").json()
    assert [(b["number"], b["approved"], b["approved_tco2"]) for b in public["batches"]] == [(1, 0, 0),
                                                                                            (2, 1, 200_000)]


@pytest.mark.parametrize("quantity,code,field", [(295_001, "above_quota", "quantity"), (0, "min_value", "quantity"),
                                                 ("many", "invalid", "quantity")])
def test_bad_application_names_field_nothing_saved(api, open_now, entity_user, quantity, code, field):
    response = api(entity_user).post(APPS, {"quantity": quantity}, format="json")
    assert response.status_code == 400, response.json()
    assert (response.json()["error"]["code"], response.json()["error"]["field"]) == (code, field)
    assert not CarryOverApplication.objects.exists()


def test_application_after_the_deadline_is_refused(api, notified, entity_user):
    response = api(entity_user).post(APPS, {"quantity": 1_000}, format="json")  # today is after 2026-06-10
    assert response.status_code == 400 and response.json()["error"]["code"] == "deadline_passed"
    assert not CarryOverApplication.objects.exists()


def test_other_organisations_and_roles_are_refused(api, open_now, entity_user, other_entity_user, hubei, guangdong,
                                                   national, verifier):
    pk = api(entity_user).post(APPS, {"quantity": 1_000}, format="json").json()["id"]
    assert api(other_entity_user).get(f"{APPS}{pk}/").status_code == 404
    assert api(other_entity_user).get(APPS).json()["results"] == []
    assert api(guangdong).get(f"{APPS}{pk}/").status_code == 404
    assert api(hubei).get(f"{APPS}{pk}/").status_code == 200  # its province's entity
    assert api(hubei, otp=True).post(f"{APPS}{pk}/propose/").status_code == 403  # national regulators decide
    assert api(entity_user).post(f"{APPS}{pk}/propose/").status_code == 403
    assert api(hubei).post(APPS, {"quantity": 1_000}, format="json").status_code == 403
    assert api(verifier).post(APPS, {"quantity": 1_000}, format="json").status_code == 403
    assert api().post(APPS, {"quantity": 1_000}, format="json").status_code in (401, 403)
    assert CarryOverApplication.objects.get().status == "submitted"
    notices = api(other_entity_user).get(f"{URL}/carry-over-notices/").json()["results"]
    assert [n["quota_tco2"] for n in notices] == [5_000]
    assert api(entity_user).post(f"{URL}/carry-over-schemes/2025/notices/").status_code == 403


def test_national_regulator_issues_notices(api, market, national):
    response = api(national, otp=True).post(f"{URL}/carry-over-schemes/2025/notices/")
    assert response.status_code == 200 and response.json()["quota_tco2"] == 300_000
    assert CarryOverNotice.objects.count() == 2


def test_list_queries_do_not_grow_with_rows(api, open_now, entity, entity_user, django_assert_max_num_queries):
    from compliance import carryover_services as services

    from .carryover_helpers import IN_BATCH_1

    services.application_submit(actor=entity_user, entity=entity, scheme=open_now, quantity=1_000, now=IN_BATCH_1)
    api(entity_user).post(APPS, {"quantity": 2_000}, format="json")
    with django_assert_max_num_queries(6):
        rows = api(entity_user).get(APPS).json()["results"]
    assert [(r["batch"], r["quantity_tco2"]) for r in rows] == [(1, 1_000), (2, 2_000)]
