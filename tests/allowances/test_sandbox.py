"""Balance values and the policy sandbox on verified data; nothing reaches the registry."""


import pytest

from allowances import sandbox, services
from allowances.models import AllocationPlan, Scenario
from cets.common.errors import DomainError, Forbidden
from registry.models import Transaction

from .conftest import verify

pytestmark = pytest.mark.django_db


@pytest.fixture
def data_2023(entity, other_entity):
    # entity: I 3,500,000 MWh x 0.7950 = 2,782,500; II CHP 1,000,000 x 0.8090 x 1.015^4 + 207,600 = 1,066,243
    verify(entity, 2023, {
        "HB-WH-01": {"electricity_generated_mwh": 3_500_000, "load_factor": "0.70", "emissions_tco2": 2_900_000},
        "HB-WH-02": {"electricity_generated_mwh": 1_000_000, "heat_supplied_gj": 2_000_000,
                     "heat_supply_ratio": "0.3", "load_factor": "0.60", "emissions_tco2": 1_100_000}})
    # other: I 4,000,000 x 0.7950 = 3,180,000
    verify(other_entity, 2023, {"GD-GZ-01": {"electricity_generated_mwh": 4_000_000, "load_factor": "0.9",
                                             "emissions_tco2": 3_900_000}})


def test_scenario_totals_cap_count_histogram_and_balance_values(national, data_2023):
    plan = AllocationPlan.objects.get(code="2023")
    scenario = services.scenario_create(actor=national, plan=plan, name="tighter coal I", data_year=2023,
                                        overrides={"electricity": {"I": "0.70"}})
    result = scenario.result
    base = result["baseline"]
    assert base["by_category"]["I"]["allocation_tco2"] == 2_782_500 + 3_180_000
    assert base["by_category"]["I"]["emissions_tco2"] == 6_800_000
    assert base["by_category"]["II"]["allocation_tco2"] == 1_066_243
    assert base["entities_at_cap"] == 0
    edited = result["scenario"]
    # I at 0.70: entity 2,450,000 + 1,066,243 = 3,516,243 (>= 3,200,000); other 2,800,000 < 3,120,000: capped
    assert edited["entities_at_cap"] == 1
    assert edited["by_province"]["42"]["allocation_tco2"] == 3_516_243
    assert edited["by_province"]["44"]["allocation_tco2"] == 3_120_000
    assert edited["allocation_tco2"] == 3_516_243 + 3_120_000
    # before relief: other (2.8M - 3.9M) / 3.9M = -28% (bin -30..-25), entity -12% (bin -15..-10)
    assert edited["histogram"]["counts"][1] == 1 and edited["histogram"]["counts"][4] == 1
    # balance value I = 6,800,000 / (3,500,000 + 4,000,000) = 0.9067 (F_f = 1 for both)
    # II = (1,100,000 - 207,600) / (1,000,000 x 1.061363550625) = 0.8408
    assert result["balance_values"]["I"]["balance_value"] == "0.9067"
    assert result["balance_values"]["II"]["balance_value"] == "0.8408"
    assert result["balance_values"]["IV"]["balance_value"] is None
    assert Transaction.objects.count() == 0


def test_histogram_svg_is_plain_markup():
    svg = sandbox.histogram_svg({"edges": sandbox.BIN_EDGES, "counts": [0, 1, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 2]})
    assert svg.startswith("<svg") and svg.count("<rect") == 14 and "<script" not in svg


@pytest.mark.parametrize(("overrides", "field"), [
    ({"electricity": {"V": "0.8"}}, "electricity.V"),
    ({"heat": {"I": "-1"}}, "heat.I"),
    ({"entity_relief_floor": "1.5"}, "entity_relief_floor"),
    ({"benchmarks": {}}, "overrides"),
    ({"peak_threshold": "1.2"}, "peak_threshold"),
    ({"cooling_air_factor": "x"}, "cooling_air_factor"),
])
def test_scenario_bad_overrides_name_the_field(national, data_2023, overrides, field):
    plan = AllocationPlan.objects.get(code="2023")
    with pytest.raises(DomainError) as exc:
        services.scenario_create(actor=national, plan=plan, name="x", data_year=2023, overrides=overrides)
    assert exc.value.field == field
    assert Scenario.objects.count() == 0


def test_scenarios_are_national_only(api, national, hubei, data_2023):
    payload = {"name": "as published", "plan": "2023", "data_year": 2023, "overrides": {}}
    assert api(hubei).post("/api/v1/allowances/scenarios/", payload, format="json").status_code == 403
    response = api(national).post("/api/v1/allowances/scenarios/", payload, format="json")
    assert response.status_code == 201
    assert response.json()["result"]["scenario"]["allocation_tco2"] == 3_848_743 + 3_180_000
    assert api(hubei).get("/api/v1/allowances/scenarios/").json()["count"] == 0
    with pytest.raises(Forbidden):
        services.scenario_create(actor=hubei, plan=AllocationPlan.objects.get(code="2023"), name="x",
                                 data_year=2023, overrides={})


def test_scenario_may_change_correction_rules(national, data_2023):
    # peak threshold 0.55: HB-WH-02 at load 0.60 loses F_f: 809,000 + 207,600 = 1,016,600 (was 1,066,243)
    scenario = services.scenario_create(actor=national, plan=AllocationPlan.objects.get(code="2023"),
                                        name="narrow peak factor", data_year=2023,
                                        overrides={"peak_threshold": "0.55"})
    assert scenario.result["scenario"]["by_category"]["II"]["allocation_tco2"] == 1_016_600
    assert scenario.result["baseline"]["by_category"]["II"]["allocation_tco2"] == 1_066_243


def test_balance_values_api_for_regulators_only(api, hubei, entity_user, data_2023):
    body = api(hubei).get("/api/v1/allowances/balance-values/?plan=2023&year=2023").json()
    assert body["categories"]["I"]["balance_value"] == "0.9067"
    assert api(entity_user).get("/api/v1/allowances/balance-values/?plan=2023&year=2023").status_code == 403
    bad = api(hubei).get("/api/v1/allowances/balance-values/?plan=2023&year=x")
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "year"
