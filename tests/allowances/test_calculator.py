"""POST /api/v1/allowances/calculate/: the issue's request and response shape, and bad input."""

import pytest

pytestmark = pytest.mark.django_db

URL = "/api/v1/allowances/calculate/"


def coal_unit(**over):
    unit = {"id": "HB-WH-01", "category": "I", "electricity_mwh": 3000000, "heat_gj": 500000, "cooling": "air",
            "heat_supply_ratio": 0.1, "load_factor": 0.78, "verified_emissions_tco2": None}
    unit.update(over)
    return unit


def test_calculator_2021_coal_unit_matches_the_hand_computation(api, integrator):
    response = api(integrator).post(URL, {"plan": "2021", "units": [coal_unit()]}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert set(body) == {"units", "entity_total_tco2", "relief_tco2"}
    assert body["units"][0]["id"] == "HB-WH-01"
    assert body["units"][0]["allocation_tco2"] == 2_613_093  # worked out in test_formulas.py
    assert body["entity_total_tco2"] == 2_613_093 and body["relief_tco2"] == 0
    labels = [line["label"] for line in body["units"][0]["lines"]]
    assert labels == ["B_e", "B_h", "F_cool", "F_heat", "F_load", "A_e", "A_h", "A"]
    f_load = body["units"][0]["lines"][4]
    assert f_load["formula"] == "0.75 <= F < 0.80: 1.007 + 0.0016 x (80 - 100F)" and f_load["value"] == "1.0102"


def test_calculator_relief_when_verified_emissions_are_given(api, integrator):
    gas = {"id": "G1", "category": "IV", "electricity_mwh": 1000000, "heat_gj": 2000000, "cooling": "water",
           "heat_supply_ratio": 0.3, "load_factor": 0.5, "verified_emissions_tco2": 500000}
    coal = coal_unit(verified_emissions_tco2=3400000)
    body = api(integrator).post(URL, {"plan": "2021", "units": [coal, gas]}, format="json").json()
    # coal 2,613,093; gas 433,440 -> 500,000 (+66,560); entity 3,113,093 vs 0.8 x 3,900,000 = 3,120,000
    assert [u["allocation_tco2"] for u in body["units"]] == [2_613_093, 500_000]
    assert body["entity_total_tco2"] == 3_120_000
    assert body["relief_tco2"] == 66_560 + 6_907


def test_calculator_2024_uses_generation_and_peak_factor(api, entity_user):
    unit = coal_unit(electricity_mwh=2000000, heat_gj=0, load_factor=0.6)
    body = api(entity_user).post(URL, {"plan": "2024", "units": [unit]}, format="json").json()
    # 2,000,000 x 0.7910 x 1.015^4 = 1,582,000 x 1.061363550625 = 1,679,077.13 -> 1,679,077
    assert body["units"][0]["allocation_tco2"] == 1_679_077
    assert [line["label"] for line in body["units"][0]["lines"]][2] == "F_f"


@pytest.mark.parametrize(("payload", "field", "code"), [
    ({"plan": "2021", "units": [coal_unit(category="V")]}, "units[0].category", "invalid"),
    ({"plan": "2021", "units": [coal_unit(load_factor=1.2)]}, "units[0].load_factor", "invalid"),
    ({"plan": "2021", "units": [coal_unit(load_factor=-0.01)]}, "units[0].load_factor", "invalid"),
    ({"plan": "2021", "units": [coal_unit(), coal_unit(heat_supply_ratio=1.5)]}, "units[1].heat_supply_ratio",
     "invalid"),
    ({"plan": "2021", "units": [coal_unit(electricity_mwh=-1)]}, "units[0].electricity_mwh", "invalid"),
    ({"plan": "2021", "units": [coal_unit(heat_gj="lots")]}, "units[0].heat_gj", "invalid"),
    ({"plan": "2021", "units": [coal_unit(cooling="oil")]}, "units[0].cooling", "invalid"),
    ({"plan": "2030", "units": [coal_unit()]}, "plan", "unknown_plan"),
    ({"units": [coal_unit()]}, "plan", "required"),
    ({"plan": "2021", "units": []}, "units", "required"),
])
def test_calculator_bad_input_names_the_field(api, integrator, payload, field, code):
    response = api(integrator).post(URL, payload, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["field"], error["code"]) == (field, code)
    assert error["message"]


def test_calculator_refuses_anonymous(api):
    assert api().post(URL, {"plan": "2021", "units": [coal_unit()]}, format="json").status_code in (401, 403)
