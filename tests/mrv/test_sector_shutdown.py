"""A month in which a clinker kiln, a potline or a steel works stood still: stored with zero output when declared
``shutdown`` (zero emissions unless fuels were burnt), through the API and the upload; without the declaration,
and at the calculator always, zero output stays a 400 naming the field, nothing saved."""

import io

import pytest

from mrv.models import MonthlySubmission

from .conftest import ALUMINIUM_MONTH, CEMENT_MONTH

pytestmark = pytest.mark.django_db

URL = "/api/v1/mrv/submissions/"
# 500 t of bituminous coal kept the kiln warm: 500 x 22.0 x 0.02618 x 0.99 x 44/12 = 1,045.367 t
# (1/25 of the 12,500 t month's 26,134.185 t in test_sector_monthly).
WARM_KILN = [{"fuel": "bituminous", "consumption": "500", "ncv": "22.0"}]


def _post(api, user, unit, inputs, month=3):
    return api(user).post(URL, {"unit": unit.pk, "year": 2025, "month": month, "inputs": inputs}, format="json")


def test_cement_shutdown_month_stores_zero_clinker_and_the_fuel_burnt(api, cement_entity, facility_user):
    unit = cement_entity.units.get()
    response = _post(api, facility_user(cement_entity), unit, {"shutdown": True, "clinker_t": "0",
                                                               "fuels": WARM_KILN})
    assert response.status_code == 201, response.json()
    data = response.json()
    assert (data["emissions_tco2"], data["output_t"], data["intensity_output_t"]) == ("1045.367", "0.000", "0.000")
    sub = MonthlySubmission.objects.get(pk=data["id"])
    assert sub.inputs["shutdown"] is True and sub.inputs["clinker_t"] == "0"
    clinker = next(line for line in sub.calculation if line["kind"] == "clinker")
    assert clinker["emissions_tco2"] == "0.000"


def test_shutdown_months_without_fuel_are_zero(api, cement_entity, aluminium_entity, steel_entity, facility_user):
    for entity, inputs in ((cement_entity, {"shutdown": "1"}), (aluminium_entity, {"shutdown": "yes",
                                                                                   "aluminium_t": "0"}),
                           (steel_entity, {"shutdown": "true", "process_status": "blast furnace relined"})):
        response = _post(api, facility_user(entity), entity.units.get(), inputs)
        assert response.status_code == 201, (entity.sector_id, response.json())
        assert (response.json()["emissions_tco2"], response.json()["output_t"]) == ("0.000", "0.000")
    assert MonthlySubmission.objects.filter(output_t=0, emissions_tco2=0).count() == 3
    pot = MonthlySubmission.objects.get(unit__sector="aluminium")
    assert [line["kind"] for line in pot.calculation] == ["shutdown"] and pot.gases == {"CO2": "0"}


def test_steel_works_shut_down_counts_the_fuel_it_burnt(api, steel_entity, facility_user):
    body = {"shutdown": True, "fuels": [{"fuel": "washed_coking_coal", "consumption": "1000"}],
            "products": [{"product": "crude_steel", "quantity": "0"}]}
    response = _post(api, facility_user(steel_entity), steel_entity.units.get(), body)
    assert response.status_code == 201, response.json()
    data = response.json()
    # 1,000 t of the 220,000 t coking coal of the test_sector_monthly month (539,983.506 t): no oxidation factor
    assert (data["emissions_tco2"], data["output_t"]) == ("2454.470", "0.000")
    assert data["intensity_output_t"] is None


@pytest.mark.parametrize(("inputs", "field", "code"), [
    ({**CEMENT_MONTH, "clinker_t": "0"}, "clinker_t", "not_positive"),  # zero output needs the declaration
    ({**CEMENT_MONTH, "shutdown": "1"}, "clinker_t", "shutdown_with_output"),
    ({"shutdown": "1", "clinker_t": "0", "substitutes": CEMENT_MONTH["substitutes"]}, "substitutes",
     "shutdown_with_output"),
    ({**CEMENT_MONTH, "shutdown": "perhaps"}, "shutdown", "invalid_choice"),
    ({**ALUMINIUM_MONTH, "aluminium_t": "0"}, "aluminium_t", "not_positive"),
    ({**ALUMINIUM_MONTH, "shutdown": True}, "aluminium_t", "shutdown_with_output"),
])
def test_zero_output_without_shutdown_or_output_with_it_is_refused(api, cement_entity, aluminium_entity,
                                                                   facility_user, inputs, field, code):
    entity = aluminium_entity if "aluminium_t" in inputs else cement_entity
    response = _post(api, facility_user(entity), entity.units.get(), inputs)
    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert (error["field"], error["code"]) == (field, code)
    assert MonthlySubmission.objects.count() == 0


def test_steel_shutdown_with_a_process_balance_is_refused(api, steel_entity, facility_user):
    body = {"shutdown": True, "processes": {"ironmaking": {"inputs": [{"fuel": "coke", "consumption": "10"}]}},
            "ironmaking_output_t": "0"}
    response = _post(api, facility_user(steel_entity), steel_entity.units.get(), body)
    assert response.status_code == 400
    assert (response.json()["error"]["field"], response.json()["error"]["code"]) == (
        "processes", "shutdown_with_output")


@pytest.mark.parametrize("body", [
    {"sector": "cement", "year": 2025, "clinker_t": 0, "clinker_type": "portland", "fuels": WARM_KILN,
     "shutdown": True},
    {"sector": "aluminium", "year": 2025, "aluminium_t": 0, "net_anode_consumption": "0.4", "shutdown": True},
])
def test_the_calculator_still_refuses_zero_output(api, integrator, body):
    response = api(integrator).post("/api/v1/mrv/calculate/", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["field"] in ("shutdown", "clinker_t", "aluminium_t")
    without = {k: v for k, v in body.items() if k != "shutdown"}
    response = api(integrator).post("/api/v1/mrv/calculate/", without, format="json")
    assert response.status_code == 400
    assert (response.json()["error"]["field"], response.json()["error"]["code"]) == (
        "clinker_t" if body["sector"] == "cement" else "aluminium_t", "not_positive")


def test_a_shutdown_month_is_uploaded_from_the_template(api, cement_entity, facility_user):
    content = io.BytesIO(b"unit_code,year,month,clinker_t,shutdown,item_list,item_code,amount,ncv,carbon_content,"
                          b"oxidation_rate,note\n"
                          b"HB-CEM-L1,2025,3,0,1,fuels,bituminous,500,22.0,,,kiln relined\n")
    content.name = "months.csv"
    user = facility_user(cement_entity)
    preview = api(user).post("/api/v1/mrv/uploads/", {"file": content}, format="multipart")
    assert preview.status_code == 201, preview.json()
    confirmed = api(user).post(f"/api/v1/mrv/uploads/{preview.json()['id']}/confirm/")
    assert confirmed.status_code == 200, confirmed.json()
    sub = MonthlySubmission.objects.get(unit__code="HB-CEM-L1", is_current=True)
    assert (str(sub.emissions_tco2), str(sub.output_t), sub.inputs["shutdown"]) == ("1045.367", "0.000", True)
