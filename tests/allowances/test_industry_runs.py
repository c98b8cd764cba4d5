"""Allocation runs over every sector: industrial facilities follow their sector's plan (pre-allocation,
balance value, true-up, registry issuance, provincial account), power units stay on the power plan.

MRV's verified facility figures are written straight into its tables (``VerifiedFacilityValue``, read through
``mrv.selectors.verified_unit_data``); MRV's own tests cover how they get there."""

import datetime as dt
from decimal import Decimal as D

import pytest

from allowances import balance_values, industry, intensity, selectors, services
from allowances.models import AllocationPlan, AllocationRun, BalanceValue, EntityAllocation, UnitAllocation
from cets.common.errors import Conflict, DomainError, Forbidden
from cets.common.models import AuditEntry
from mrv import selectors as mrv_selectors
from mrv.models import Verification, VerifiedFacilityValue
from tests import factories as f

from .test_runs import holding, start_and_approve

pytestmark = pytest.mark.django_db


def facility(entity, code, sector, **attributes):
    return f.UnitFactory(entity=entity, code=code, sector_id=sector, rated_power_mw=None, main_fuel="",
                         coal_type="", cooling="", attributes=attributes)


def figures(unit, emissions, output, intensity_emissions=None):
    return unit, {"emissions_tco2": D(emissions), "output_t": D(output), "intensity_output_t": D(output),
                  "intensity_emissions_tco2": D(intensity_emissions if intensity_emissions is not None else emissions)}


@pytest.fixture
def industry_data():
    """A cement entity (a Portland line L1, a second line L2, a white-clinker line W), a steel works and a
    small cement entity below 26,000 t; verified 2024 and 2025 (confirmed), through MRV's own tables."""
    cement = f.EntityFactory(sector_id="cement", inclusion_year=2024)
    steel = f.EntityFactory(sector_id="steel", inclusion_year=2024)
    small = f.EntityFactory(sector_id="cement", inclusion_year=2024)
    l1, l2 = facility(cement, "C-L1", "cement", clinker_type="portland"), facility(cement, "C-L2", "cement",
                                                                                   clinker_type="portland")
    white = facility(cement, "C-W", "cement", clinker_type="white_portland")
    works = facility(steel, "S-1", "steel", processes=["sintering", "ironmaking", "bof"])
    tiny = facility(small, "C-S", "cement", clinker_type="portland")
    years = {
        2024: [figures(l1, 700000, 900000), figures(l2, 1400000, 1600000), figures(white, 280000, 480000),
               figures(works, 7000000, 3600000, 2000000), figures(tiny, 19000, 24000)],
        2025: [figures(l1, 772342, 1000000), figures(l2, 1500000, "1764705.882"), figures(white, 300000, 500000),
               figures(works, 7077254, 3700000, 2050000), figures(tiny, 20000, 25000)],
    }
    for year, rows in years.items():
        for entity in (cement, steel, small):
            mine = [(unit, values) for unit, values in rows if unit.entity_id == entity.pk]
            verification = Verification.objects.create(
                entity=entity, year=year, status="confirmed",
                verified_emissions_tco2=sum(values["emissions_tco2"] for _unit, values in mine))
            for unit, values in mine:
                VerifiedFacilityValue.objects.create(verification=verification, unit=unit, **values)
    return {"cement": cement, "steel": steel, "small": small}


def test_pre_allocation_2025_is_half_of_2024_floored_per_facility(
        national, national2, industry_data, django_capture_on_commit_callbacks):
    run = start_and_approve(national, national2, 2025, "pre_allocation", django_capture_on_commit_callbacks)
    cement = EntityAllocation.objects.get(run=run, entity=industry_data["cement"])
    assert cement.allocation_tco2 == 350000 + 700000 + 140000
    assert EntityAllocation.objects.get(run=run, entity=industry_data["steel"]).allocation_tco2 == 3_500_000
    assert EntityAllocation.objects.get(run=run, entity=industry_data["small"]).allocation_tco2 == 9_500
    assert holding(industry_data["steel"], 2025) == 3_500_000
    line = UnitAllocation.objects.get(entity_allocation=cement, unit__code="C-L1").lines[0]
    assert line["formula"] == "floor(share x previous year's verified emissions)"
    assert line["inputs"]["plan"] == "cement-2025"


def test_no_pre_allocation_under_the_2024_plans(industry_data):
    plans = selectors.industry_plans(2024)
    assert {sector: plan.code for sector, plan in plans.items()} == {
        "steel": "steel-2024", "cement": "cement-2024", "aluminium": "aluminium-2024"}
    assert industry.pre_allocation(plans, mrv_selectors.verified_unit_data(2023) + mrv_selectors.verified_unit_data(
        2024)) == ([], [])


def test_true_up_needs_published_balance_values_then_allocates_by_intensity(
        national, national2, industry_data, django_capture_on_commit_callbacks):
    start_and_approve(national, national2, 2025, "pre_allocation", django_capture_on_commit_callbacks)
    with pytest.raises(DomainError) as exc:
        services.run_start(actor=national, year=2025, kind="true_up")
    assert exc.value.field == "year" and "cement, steel" in exc.value.message
    cement_plan, steel_plan = AllocationPlan.objects.get(code="cement-2025"), AllocationPlan.objects.get(
        code="steel-2025")
    with pytest.raises(Forbidden):
        balance_values.balance_value_publish(actor=f.regulator("provincial_regulator", province_code="42"),
                                       plan=cement_plan, year=2025)
    published = balance_values.balance_value_publish(actor=national, plan=cement_plan, year=2025)
    # L1 (I 0.7723) and L2 (I 0.8500) only: the white line and the small entity's line are exempt
    assert published.value == D("0.8236") and published.solved_from == {
        "facilities": 4, "exempt": 2, "emissions_tco2": 2_592_342}
    assert AuditEntry.objects.filter(action="balance_value.publish", object_id=str(published.pk)).exists()
    with pytest.raises(Conflict):
        balance_values.balance_value_publish(actor=national, plan=cement_plan, year=2025)
    steel_value = balance_values.balance_value_publish(actor=national, plan=steel_plan, year=2025).value
    assert steel_value == D("0.5541")  # one works: its own intensity balances it

    services.high_risk_designate(actor=national, entity=industry_data["steel"], year=2025, reason="non_compliant")
    run = start_and_approve(national, national2, 2025, "true_up", django_capture_on_commit_callbacks)
    cement = EntityAllocation.objects.get(run=run, entity=industry_data["cement"])
    assert cement.allocation_tco2 == 779_558 + 1_492_787 + 300_000
    assert cement.verified_emissions_tco2 == 2_572_342
    assert cement.previously_issued_tco2 == 1_190_000
    assert cement.difference_tco2 == 2_572_345 - 1_190_000
    assert holding(industry_data["cement"], 2025) == 2_572_345
    l1 = UnitAllocation.objects.get(entity_allocation=cement, unit__code="C-L1")
    assert l1.category == "" and [line["label"] for line in l1.lines] == ["plan", "BP", "E", "I", "X", "alpha", "A"]
    white = UnitAllocation.objects.get(entity_allocation=cement, unit__code="C-W")
    assert white.allocation_tco2 == 300_000 and white.lines[-1]["inputs"]["exemption"] == "white_clinker"
    small = EntityAllocation.objects.get(run=run, entity=industry_data["small"])
    assert small.allocation_tco2 == 20_000
    steel = EntityAllocation.objects.get(run=run, entity=industry_data["steel"])
    assert steel.allocation_tco2 == 7_077_254 and steel.destination == "provincial"
    assert holding(industry_data["steel"], 2025) == 3_500_000  # the top-up went to the provincial account
    assert BalanceValue.objects.count() == 2


def test_balance_value_refused_for_a_first_year_plan(national, industry_data):
    with pytest.raises(DomainError) as exc:
        balance_values.balance_value_publish(actor=national, plan=AllocationPlan.objects.get(code="steel-2024"),
                                       year=2024)
    assert exc.value.field == "plan"


def test_exemptions_from_verified_data():
    plan = industry.SectorPlan("cement-2025", intensity.IntensityRules(
        "cement-2025", exemptions=("white_clinker", "carbide_slag", "gypsum_acid", "new", "closed",
                                   "below_threshold")), carbide_slag_threshold=D("0.30"))
    base = {"attributes": {"clinker_type": "portland"}, "status": "operating", "commissioned_in_year": False}
    assert industry.exemption_of({**base, "carbide_slag_rate": D("0.30")}, plan, 50000) is None  # "> 30%"
    assert industry.exemption_of({**base, "carbide_slag_rate": D("0.3001")}, plan, 50000) == "carbide_slag"
    assert industry.exemption_of({**base, "attributes": {"gypsum_acid": True}}, plan, 50000) == "gypsum_acid"
    assert industry.exemption_of({**base, "status": "retired", "carbide_slag_rate": D("0.5")}, plan, 50000) == "closed"
    assert industry.exemption_of({**base, "commissioned_in_year": True}, plan, 50000) == "new"
    assert industry.exemption_of(base, plan, 25999) == "below_threshold"
    assert industry.exemption_of({**base, "attributes": {"hydrogen_furnace": True}}, plan, 50000) is None


def test_sandbox_balance_values_surplus_by_province_and_bounds(national, industry_data):
    scenario = services.scenario_create(actor=national, plan=AllocationPlan.objects.get(code="2025"),
                                        name="cement tighter", data_year=2025,
                                        overrides={"balance_values": {"cement": "0.70"}})
    baseline, tighter = scenario.result["industry"]["baseline"], scenario.result["industry"]["scenario"]
    cement = baseline["cement"]
    assert (cement["balance_value_solved"], cement["balance_value_used"], cement["balance_value_published"]) == (
        "0.8236", "0.8236", None)
    assert (cement["allocation_tco2"], cement["emissions_tco2"], cement["surplus_tco2"]) == (
        2_592_345, 2_592_342, 3)
    assert cement["exempt"] == 2 and cement["by_province"] == {"42": {
        "allocation_tco2": 2_592_345, "emissions_tco2": 2_592_342, "surplus_tco2": 3, "facilities": 4}}
    assert baseline["steel"]["balance_value_solved"] == "0.5541" and baseline["steel"]["surplus_tco2"] == 0
    assert baseline["aluminium"]["facilities"] == 0
    # BP 0.70: L1 X = -10.3% -> 760,376; L2 X = -21.4% -> at the -3% bound, 1,455,000
    assert tighter["cement"]["balance_value_used"] == "0.70"
    assert tighter["cement"]["allocation_tco2"] == 760_376 + 1_455_000 + 300_000 + 20_000
    assert (tighter["cement"]["facilities_at_lower_bound"], tighter["cement"]["entities_at_lower_bound"]) == (1, 1)
    assert tighter["cement"]["facilities_at_upper_bound"] == 0


@pytest.mark.parametrize(("overrides", "field"), [
    ({"balance_values": {"glass": "0.7"}}, "balance_values.glass"),
    ({"balance_values": {"cement": "-1"}}, "balance_values.cement"),
    ({"balance_values": ["cement"]}, "balance_values"),
])
def test_sandbox_refuses_bad_balance_values(national, overrides, field):
    with pytest.raises(DomainError) as exc:
        services.scenario_create(actor=national, plan=AllocationPlan.objects.get(code="2025"), name="x",
                                 data_year=2025, overrides=overrides)
    assert exc.value.field == field


def test_covered_emissions_count_industrial_facilities(industry_data):
    covered = selectors.covered_emissions_by_entity(2025)
    assert covered[industry_data["cement"].pk] == 2_572_342
    assert covered[industry_data["steel"].pk] == 7_077_254


BALANCE_URL = "/api/v1/allowances/balance-values/"


def test_balance_values_api_shows_and_publishes(api, national, hubei, entity_user, industry_data):
    shown = api(national, otp=True).get(BALANCE_URL, {"plan": "cement-2025", "year": 2025})
    assert shown.status_code == 200 and shown.json()["sectors"]["cement"]["balance_value_solved"] == "0.8236"
    assert api(entity_user).get(BALANCE_URL, {"plan": "cement-2025", "year": 2025}).status_code == 403
    refused = api(hubei, otp=True).post(BALANCE_URL, {"plan": "cement-2025", "year": 2025}, format="json")
    assert refused.status_code == 403 and not BalanceValue.objects.exists()
    assert api(entity_user).post(BALANCE_URL, {"plan": "cement-2025", "year": 2025},
                                 format="json").status_code == 403
    created = api(national, otp=True).post(BALANCE_URL, {"plan": "cement-2025", "year": 2025}, format="json")
    assert created.status_code == 201, created.json()
    assert (created.json()["plan"], created.json()["value"]) == ("cement-2025", "0.8236")
    again = api(national, otp=True).post(BALANCE_URL, {"plan": "cement-2025", "year": 2025}, format="json")
    assert again.status_code == 409
    wrong = api(national, otp=True).post(BALANCE_URL, {"plan": "cement-2025", "year": 2026}, format="json")
    assert wrong.status_code == 400 and wrong.json()["error"]["field"] == "year"
    plan = api(entity_user).get("/api/v1/allowances/plans/cement-2025/").json()
    assert plan["balance_values"][0]["value"] == "0.8236" and plan["sector"] == "cement"


def test_redetermination_after_a_changed_verification(national, national2, industry_data,
                                                      django_capture_on_commit_callbacks):
    cement = industry_data["cement"]
    for plan in ("cement-2025", "steel-2025"):
        balance_values.balance_value_publish(actor=national, plan=AllocationPlan.objects.get(code=plan), year=2025)
    start_and_approve(national, national2, 2025, "true_up", django_capture_on_commit_callbacks)
    assert selectors.allocation_for(cement.pk, 2025)["allocation_tco2"] == 2_572_345
    with pytest.raises(DomainError) as exc:
        services.run_start(actor=national, year=2025, kind="redetermination", entities=[])
    assert exc.value.field == "entities"
    newcomer = f.EntityFactory(sector_id="cement", inclusion_year=2025)
    with pytest.raises(DomainError) as exc:
        services.run_start(actor=national, year=2025, kind="redetermination", entities=[newcomer.pk])
    assert exc.value.field == "entities"

    # the province's review raises line L1 to 800,000 t (I 0.8000); the published BP 0.8236 stays
    VerifiedFacilityValue.objects.filter(verification__year=2025, unit__code="C-L1").update(
        emissions_tco2=D(800000), intensity_emissions_tco2=D(800000))
    with django_capture_on_commit_callbacks(execute=True):
        run = services.run_start(actor=national, year=2025, kind="redetermination", entities=[cement.pk],
                                 today=dt.date(2026, 11, 2))
    assert run.due_date == dt.date(2026, 11, 16)  # 10 working days
    with pytest.raises(Conflict):
        services.run_start(actor=national, year=2025, kind="redetermination", entities=[cement.pk])
    with django_capture_on_commit_callbacks(execute=True):
        services.run_approve(actor=national2, run=run)
    result = EntityAllocation.objects.get(run=run)
    # L1: floor(800,000 x (1 + 0.15 x (0.8236 - 0.8) / 0.8236)) = 803,438; L2 and W unchanged
    assert (result.allocation_tco2, result.previously_issued_tco2, result.difference_tco2) == (
        803_438 + 1_492_787 + 300_000, 2_572_345, 23_880)
    assert holding(cement, 2025) == 2_596_225
    assert selectors.allocation_for(cement.pk, 2025)["allocation_tco2"] == 2_596_225
    assert not EntityAllocation.objects.filter(run=run).exclude(entity=cement).exists()


def test_sandbox_page_shows_the_intensity_sectors(client, national, hubei, industry_data):
    from allowances.models import Scenario
    from tests.conftest import otp_login

    otp_login(client, hubei)
    assert client.get("/allowances/sandbox/").status_code == 404
    otp_login(client, national)
    form = client.get("/allowances/sandbox/").content.decode()
    assert 'name="balance_value_cement"' in form and "cement-2025" not in form  # power plans only
    response = client.post("/allowances/sandbox/", {"name": "cement 0.70", "plan": "2025", "data_year": "2025",
                                                    "balance_value_cement": "0.70"}, follow=True)
    page = response.content.decode()
    assert response.status_code == 200 and 'data-testid="sectors"' in page
    assert "2,535,376" in page and "cement-2025" in page  # 760,376 + 1,455,000 + 300,000 + 20,000
    assert Scenario.objects.get().overrides == {"balance_values": {"cement": "0.70"}}
    refused = client.post("/allowances/sandbox/", {"name": "x", "plan": "cement-2025", "data_year": "2025"},
                          follow=True).content.decode()
    assert "Choose a power plan" in refused and Scenario.objects.count() == 1


def test_redetermination_through_the_api_names_the_field_and_is_national_only(api, national, hubei, entity_user,
                                                                               industry_data):
    body = {"year": 2025, "kind": "redetermination", "entities": [industry_data["cement"].pk]}
    assert api(entity_user).post("/api/v1/allowances/runs/", body, format="json").status_code == 403
    assert api(hubei).post("/api/v1/allowances/runs/", body, format="json").status_code == 403
    refused = api(national).post("/api/v1/allowances/runs/", body, format="json")  # no true-up yet
    assert refused.status_code == 400 and refused.json()["error"]["field"] == "entities"
    empty = api(national).post("/api/v1/allowances/runs/", {**body, "entities": []}, format="json")
    assert empty.status_code == 400 and empty.json()["error"]["field"] == "entities"
    assert not AllocationRun.objects.exists()
