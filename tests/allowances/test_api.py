"""The allocation API: runs (national, four-eyes), results scoped to the caller, bad input."""

import pytest

from allowances.models import AllocationRun, EntityAllocation

from .conftest import verify

pytestmark = pytest.mark.django_db


@pytest.fixture
def pre_2023(national, national2, entity, other_entity, api, django_capture_on_commit_callbacks):
    verify(entity, 2022, {"HB-WH-01": {"emissions_tco2": 3_000_000}, "HB-WH-02": {"emissions_tco2": 1_000_000}})
    verify(other_entity, 2022, {"GD-GZ-01": {"emissions_tco2": 5_000_000}})
    with django_capture_on_commit_callbacks(execute=True):
        response = api(national).post("/api/v1/allowances/runs/", {"year": 2023, "kind": "pre_allocation"},
                                      format="json")
    assert response.status_code == 201, response.json()
    run_id = response.json()["id"]
    assert api(national, otp=True).post(f"/api/v1/allowances/runs/{run_id}/approve/").status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        approved = api(national2, otp=True).post(f"/api/v1/allowances/runs/{run_id}/approve/")
    assert approved.status_code == 200
    return AllocationRun.objects.get(pk=run_id)


def test_entity_sees_its_allocation_with_formula_lines(api, entity_user, entity, pre_2023):
    body = api(entity_user).get("/api/v1/allowances/allocations/").json()
    assert body["count"] == 1
    row = body["results"][0]
    assert (row["entity"], row["allocation_tco2"], row["kind"], row["status"]) == (
        entity.pk, 2_800_000, "pre_allocation", "issued")
    unit = next(u for u in row["units"] if u["unit"] == "HB-WH-01")
    assert unit["allocation_tco2"] == 2_100_000
    assert unit["lines"][0]["formula"] == "share x previous year's verified emissions"


def test_allocations_are_scoped(api, other_entity_user, guangdong, hubei, wuhan, national, entity, other_entity,
                                pre_2023):
    mine = EntityAllocation.objects.get(entity=entity)
    assert [r["entity"] for r in api(other_entity_user).get("/api/v1/allowances/allocations/").json()["results"]] \
        == [other_entity.pk]
    assert api(other_entity_user).get(f"/api/v1/allowances/allocations/{mine.pk}/").status_code == 404
    assert api(guangdong).get(f"/api/v1/allowances/allocations/{mine.pk}/").status_code == 404
    assert api(hubei).get(f"/api/v1/allowances/allocations/{mine.pk}/").status_code == 200
    assert api(wuhan).get("/api/v1/allowances/allocations/").json()["count"] == 1
    assert api(national).get("/api/v1/allowances/allocations/").json()["count"] == 2


def test_runs_are_for_regulators_only(api, entity_user, hubei, pre_2023):
    assert api(entity_user).get("/api/v1/allowances/runs/").json()["count"] == 0
    assert api(entity_user).post("/api/v1/allowances/runs/", {"year": 2024, "kind": "pre_allocation"},
                                 format="json").status_code == 403
    assert api(hubei).post("/api/v1/allowances/runs/", {"year": 2024, "kind": "pre_allocation"},
                           format="json").status_code == 403
    assert api(hubei).get("/api/v1/allowances/runs/").json()["count"] == 1
    assert api().get("/api/v1/allowances/runs/").status_code in (401, 403)


@pytest.mark.parametrize(("payload", "status", "field"), [
    ({"year": 2023, "kind": "bonus"}, 400, "kind"),
    ({"year": 2030, "kind": "pre_allocation"}, 404, "year"),
    ({"year": 2023, "kind": "pre_allocation"}, 409, "year"),  # exists already
    ({"year": 2023, "kind": "true_up"}, 400, "year"),  # 2023 not verified yet
])
def test_run_bad_input_changes_nothing(api, national, pre_2023, payload, status, field):
    before = AllocationRun.objects.count()
    response = api(national).post("/api/v1/allowances/runs/", payload, format="json")
    assert response.status_code == status
    assert response.json()["error"]["field"] == field
    assert AllocationRun.objects.count() == before


def test_allocation_list_query_count_is_pinned(api, national, pre_2023, django_assert_max_num_queries):
    # session/auth aside: count, page, units prefetch with their unit rows, whatever the number of entities
    with django_assert_max_num_queries(6):
        response = api(national).get("/api/v1/allowances/allocations/")
    assert response.json()["count"] == 2


def test_run_start_replays_with_the_same_idempotency_key(api, national, pre_2023, django_capture_on_commit_callbacks):
    client = api(national)
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post("/api/v1/allowances/runs/", {"year": 2023, "kind": "true_up"}, format="json",
                            HTTP_IDEMPOTENCY_KEY="k-1")
    again = client.post("/api/v1/allowances/runs/", {"year": 2023, "kind": "true_up"}, format="json",
                        HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 400  # 2023 is not verified: refused, and replayed
    assert again["Idempotent-Replayed"] == "true"
    assert AllocationRun.objects.count() == 1
