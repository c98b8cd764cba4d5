"""Portal pages and admin: an entity's allocation with formula lines, runs and sandbox for regulators."""

import pytest

from allowances import services
from allowances.models import AllocationPlan, AllocationRun, BorrowingApplication, EntityAllocation, Scenario
from tests.conftest import otp_login

from .conftest import verify

pytestmark = pytest.mark.django_db


@pytest.fixture
def pre_2023(national, national2, entity, other_entity, django_capture_on_commit_callbacks):
    verify(entity, 2022, {"HB-WH-01": {"emissions_tco2": 3_000_000}, "HB-WH-02": {"emissions_tco2": 1_000_000}})
    verify(other_entity, 2022, {"GD-GZ-01": {"emissions_tco2": 5_000_000}})
    with django_capture_on_commit_callbacks(execute=True):
        run = services.run_start(actor=national, year=2023, kind="pre_allocation")
    return run


def test_entity_page_shows_units_with_formula(client, entity_user, entity, pre_2023):
    client.force_login(entity_user)
    page = client.get("/allowances/").content.decode().replace(",", "")
    assert "2800000" in page
    ea = EntityAllocation.objects.get(entity=entity)
    detail = client.get(f"/allowances/{ea.pk}/").content.decode()
    assert "HB-WH-01" in detail and "2100000" in detail.replace(",", "")
    assert "share x previous year&#x27;s verified emissions" in detail
    csv = client.get("/allowances/?export=csv").content.decode("utf-8-sig")
    assert entity.credit_code in csv


def test_other_entity_and_province_refused(client, other_entity_user, guangdong, entity, pre_2023):
    ea = EntityAllocation.objects.get(entity=entity)
    client.force_login(other_entity_user)
    assert client.get(f"/allowances/{ea.pk}/").status_code == 404
    assert entity.name not in client.get("/allowances/").content.decode()
    assert client.get("/allowances/runs/").status_code == 404
    assert client.get("/allowances/sandbox/").status_code == 404
    otp_login(client, guangdong)
    assert client.get(f"/allowances/{ea.pk}/").status_code == 404
    assert client.get("/allowances/sandbox/").status_code == 404


def test_borrowing_form_reports_the_rule(client, entity_user, pre_2023):
    client.force_login(entity_user)
    page = client.post("/allowances/borrow/", {"year": "2023", "requested_tco2": "10"}, follow=True)
    assert "does not allow borrowing" in page.content.decode()
    assert BorrowingApplication.objects.count() == 0


def test_runs_page_approve_by_second_regulator(client, national, national2, pre_2023,
                                               django_capture_on_commit_callbacks):
    otp_login(client, national)
    page = client.get("/allowances/runs/").content.decode()
    assert "Approve and issue" not in page  # the starter sees no approve button
    otp_login(client, national2)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/allowances/runs/", {"approve": pre_2023.pk})
    assert response.status_code == 302
    assert AllocationRun.objects.get(pk=pre_2023.pk).status == "completed"
    bad = client.post("/allowances/runs/", {"year": "2031", "kind": "true_up"}, follow=True).content.decode()
    assert "No published allocation plan covers 2031" in bad


def test_sandbox_page_renders_svg_histogram(client, national, entity, other_entity):
    verify(entity, 2023, {"HB-WH-01": {"electricity_generated_mwh": 3_500_000, "emissions_tco2": 2_900_000},
                          "HB-WH-02": {"electricity_generated_mwh": 1_000_000, "emissions_tco2": 1_100_000}})
    otp_login(client, national)
    response = client.post("/allowances/sandbox/", {"name": "I tighter", "plan": "2023", "data_year": "2023",
                                                    "electricity_I": "0.70"}, follow=True)
    page = response.content.decode()
    assert response.status_code == 200 and "<svg" in page and "I tighter" in page
    assert Scenario.objects.get().overrides == {"electricity": {"I": "0.70"}}


def test_admin_plan_publication_four_eyes(client, admin_login, national, national2):
    draft = services.plan_draft_create(actor=national, source=AllocationPlan.objects.get(code="2024"), code="2027",
                                       first_year=2027, last_year=2027)
    admin_login(client, national)
    url = "/admin/allowances/allocationplan/"
    client.post(url, {"action": "submit", "_selected_action": [draft.pk]})
    client.post(url, {"action": "publish", "_selected_action": [draft.pk]})
    assert AllocationPlan.objects.get(pk=draft.pk).status == "submitted"
    admin_login(client, national2)
    client.post(url, {"action": "publish", "_selected_action": [draft.pk]})
    assert AllocationPlan.objects.get(pk=draft.pk).status == "published"
    assert client.get(f"{url}{draft.pk}/change/").status_code == 200


def test_admin_allocations_scoped(client, admin_login, guangdong, hubei, entity, pre_2023):
    admin_login(client, guangdong)
    page = client.get("/admin/allowances/entityallocation/").content.decode()
    assert entity.name not in page
    admin_login(client, hubei)
    assert entity.name in client.get("/admin/allowances/entityallocation/").content.decode()


def test_admin_high_risk_designation_through_the_service(client, admin_login, hubei, guangdong, entity):
    from allowances.models import HighRiskDesignation

    url = "/admin/allowances/highriskdesignation/add/"
    admin_login(client, guangdong)
    client.post(url, {"entity": entity.pk, "year": 2024, "reason": "judicial_freeze"})
    assert HighRiskDesignation.objects.count() == 0  # Hubei's entity is not among Guangdong's choices
    admin_login(client, hubei)
    client.post(url, {"entity": entity.pk, "year": 2024, "reason": "judicial_freeze"})
    row = HighRiskDesignation.objects.get()
    assert (row.entity, row.year, row.designated_by) == (entity, 2024, hubei)
