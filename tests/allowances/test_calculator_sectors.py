"""POST /api/v1/allowances/calculate/ for the industrial sectors and the 2025-26 power plans."""

import pytest

from allowances.models import AllocationPlan, UnitAllocation

pytestmark = pytest.mark.django_db

URL = "/api/v1/allowances/calculate/"
FOUR = [{"id": "L1", "verified_emissions_tco2": 770000, "output_t": "997409.326424870466321243523"},
        {"id": "L2", "verified_emissions_tco2": 1500000, "output_t": "1764705.88235294117647058824"},
        {"id": "L3", "verified_emissions_tco2": 900000, "output_t": "947368.421052631578947368421"},
        {"id": "L4", "verified_emissions_tco2": 600000, "output_t": "857142.857142857142857142857"}]


def post(api, user, body):
    return api(user).post(URL, body, format="json")


def test_steel_with_a_balance_value(api, entity_user):
    body = {"plan": "2025", "sector": "steel", "balance_value": "0.60",
            "units": [{"id": "WISCO", "verified_emissions_tco2": 7077254, "output_t": 3700000,
                       "intensity_emissions_tco2": 2050000}]}
    response = post(api, entity_user, body)
    assert response.status_code == 200, response.json()
    data = response.json()
    assert data["plan"] == "steel-2025" and data["balance_value"] == "0.60" and not data["balance_value_solved"]
    unit = data["units"][0]
    assert (unit["id"], unit["intensity"], unit["x"], unit["alpha"]) == ("WISCO", "0.5541", "0.0765", "0.011475")
    assert unit["allocation_tco2"] == 7_158_465 and data["sector_total_tco2"] == 7_158_465
    assert [line["label"] for line in unit["lines"]] == ["E", "I", "X", "alpha", "A"]


def test_cement_solves_the_balance_value_when_not_given(api, integrator):
    response = post(api, integrator, {"plan": "cement-2025", "sector": "cement", "units": FOUR})
    data = response.json()
    assert response.status_code == 200, data
    assert data["balance_value"] == "0.8341" and data["balance_value_solved"]
    assert [u["intensity"] for u in data["units"]] == ["0.7720", "0.8500", "0.9500", "0.7000"]
    assert data["sector_total_tco2"] == 3_770_019 and data["emissions_total_tco2"] == 3_770_000
    assert data["lines"][0]["label"] == "BP"


def test_cement_exempt_lines_and_the_2026_draft(api, integrator):
    units = [*FOUR, {"id": "W", "verified_emissions_tco2": "250000.4", "output_t": 0, "exemption": "white_clinker"}]
    data = post(api, integrator, {"plan": "2026", "sector": "cement", "units": units}).json()
    assert data["plan"] == "cement-2026" and data["consultation_draft"] is True
    assert data["balance_value"] == "0.8341"  # the exempt line stays out of the solve
    assert data["units"][-1]["allocation_tco2"] == 250_000 and data["units"][-1]["alpha"] is None


def test_aluminium_2024_allocates_verified_emissions(api, integrator):
    data = post(api, integrator, {"plan": "2024", "sector": "aluminium", "units": [
        {"id": "AL1", "verified_emissions_tco2": 847313, "output_t": 500000}]}).json()
    assert data["method"] == "verified_emissions" and data["balance_value"] is None
    assert data["units"][0]["allocation_tco2"] == 847_313


def test_power_2025_draft_peak_factor_and_exempt_unit(api, integrator):
    coal = {"id": "C1", "category": "I", "electricity_mwh": 2000000, "heat_gj": 0, "cooling": "water",
            "heat_supply_ratio": 0, "load_factor": 0.4}
    backup = {**coal, "id": "B1", "exemption": "emergency_backup", "verified_emissions_tco2": 12345.6}
    response = post(api, integrator, {"plan": "2025", "units": [coal, backup]})
    data = response.json()
    assert response.status_code == 200, data
    # 2,000,000 x 0.7902 x F_f(40%) = 1,580,400 x 1.1602543 = 1,833,665.89 -> 1,833,666
    f_f = next(line for line in data["units"][0]["lines"] if line["label"] == "F_f")
    assert f_f["value"].startswith("1.16025")
    assert data["units"][0]["allocation_tco2"] == 1_833_666
    assert data["units"][1]["allocation_tco2"] == 12_346
    assert post(api, integrator, {"plan": "2026", "units": [coal]}).json()["units"][0]["allocation_tco2"] > 0


def test_power_2024_refuses_a_2025_exemption(api, integrator):
    unit = {"id": "B1", "category": "I", "electricity_mwh": 1, "exemption": "emergency_backup",
            "verified_emissions_tco2": 10}
    error = post(api, integrator, {"plan": "2024", "units": [unit]}).json()["error"]
    assert error["field"] == "units[0].exemption"


@pytest.mark.parametrize(("body", "field", "code"), [
    ({"plan": "2025", "sector": "glass", "units": FOUR}, "sector", "unknown_sector"),
    ({"plan": "2025", "sector": "cement", "units": [{**FOUR[0], "exemption": "sunny"}]}, "units[0].exemption",
     "invalid"),
    ({"plan": "2025", "sector": "steel", "units": [{**FOUR[0], "exemption": "white_clinker"}]},
     "units[0].exemption", "invalid"),
    ({"plan": "2025", "sector": "cement", "units": [FOUR[0], {**FOUR[1], "output_t": 0}]}, "units[1].output_t",
     "invalid"),
    ({"plan": "2025", "sector": "cement", "units": [{**FOUR[0], "output_t": -1}]}, "units[0].output_t", "invalid"),
    ({"plan": "2025", "sector": "cement", "units": [{**FOUR[0], "category": "I"}]}, "units[0].category",
     "field_not_in_sector"),
    ({"plan": "2025", "sector": "steel", "units": [{**FOUR[0], "electricity_mwh": 5}]}, "units[0].electricity_mwh",
     "field_not_in_sector"),
    ({"plan": "2025", "units": [{"id": "C", "category": "I", "electricity_mwh": 1, "output_t": 3}]},
     "units[0].output_t", "field_not_in_sector"),
    ({"plan": "2025", "balance_value": "0.8", "units": [{"id": "C", "category": "I", "electricity_mwh": 1}]},
     "balance_value", "field_not_in_sector"),
    ({"plan": "steel-2025", "units": [{"id": "C", "category": "I", "electricity_mwh": 1}]}, "plan", "unknown_plan"),
    ({"plan": "2023", "sector": "cement", "units": FOUR}, "plan", "unknown_plan"),
    ({"plan": "2025", "sector": "cement", "balance_value": "-0.8", "units": FOUR}, "balance_value", "invalid"),
    ({"plan": "2025", "sector": "cement", "units": [{**FOUR[0], "verified_emissions_tco2": "x"}]},
     "units[0].verified_emissions_tco2", "invalid"),
    ({"plan": "2025", "sector": "cement", "units": []}, "units", "required"),
])
def test_bad_industrial_input_names_the_field_and_saves_nothing(api, integrator, body, field, code):
    plans = AllocationPlan.objects.count()
    response = post(api, integrator, body)
    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert (error["field"], error["code"]) == (field, code)
    assert AllocationPlan.objects.count() == plans and not UnitAllocation.objects.exists()


def test_industrial_calculator_refuses_anonymous(api):
    assert post(api, None, {"plan": "2025", "sector": "cement", "units": FOUR}).status_code in (401, 403)
