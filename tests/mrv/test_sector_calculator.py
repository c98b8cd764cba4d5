"""POST /api/v1/mrv/calculate/ with a sector: the answers, and every bad input a 400 naming the field."""

from decimal import Decimal

import pytest

from entities.models import Sector
from mrv import sectors
from mrv.models import AccountingParameter, MonthlySubmission, PlausibilityRange

from .test_sectors import ALUMINIUM, CEMENT, STEEL

pytestmark = pytest.mark.django_db
CALC = "/api/v1/mrv/calculate/"


def _post(api, user, body):
    return api(user).post(CALC, body, format="json")


def test_steel_cement_aluminium_answers(api, integrator):
    data = _post(api, integrator, {"sector": "steel", "year": 2025, **STEEL}).json()
    assert data["emissions_tco2"] == "7077253.787" and data["output_t"] == "4000000"
    assert data["lines"][0]["inputs"]["CC"]["source"].startswith("default [A] CETS-AG-03.01")
    data = _post(api, integrator, {"sector": "cement", "year": 2025, **CEMENT}).json()
    assert (data["emissions_tco2"], data["intensity"], data["carbide_slag_rate"]) == ("772341.850", "0.7723",
                                                                                       "0.0449")
    data = _post(api, integrator, {"sector": "aluminium", "year": 2024, **ALUMINIUM,
                                   "anode_effect_minutes": "0.2"}).json()
    assert data["gases"] == {"CO2": "715733.333", "CF4": "94809.000", "C2F6": "15873.000"}
    assert data["emissions_tco2"] == "826415.333"
    assert [line["inputs"]["GWP_" + line["gas"]]["value"] for line in data["lines"][1:]] == ["6630", "11100"]


def test_defaults_are_data(api, integrator):
    """A corrected default is a new parameter row from a data year: the calculator uses it, no release."""
    AccountingParameter.objects.create(key="clinker_ef", fuel="portland", year_from=2026, value=Decimal("0.530"),
                                       confidence="A", source="cement guideline text, read")
    old = _post(api, integrator, {"sector": "cement", "year": 2025, **CEMENT, "substitutes": []}).json()
    new = _post(api, integrator, {"sector": "cement", "year": 2026, **CEMENT, "substitutes": []}).json()
    assert (old["emissions_tco2"], new["emissions_tco2"]) == ("796341.850", "791341.850")
    assert new["lines"][1]["inputs"]["EF_clinker"]["source"] == "default [A] cement guideline text, read"


def test_power_with_and_without_sector(api, integrator):
    body = {"year": 2021, "fuels": [{"fuel": "bituminous", "consumption": 1000, "ncv": 20.908}],
            "purchased_electricity_mwh": 1000}
    plain = _post(api, integrator, body).json()
    assert set(plain) == {"emissions_tco2", "lines"} and plain["emissions_tco2"] == "3128.071"
    named = _post(api, integrator, {"sector": "power", **body}).json()
    assert named["emissions_tco2"] == "3128.071" and named["lines"] == plain["lines"]
    assert sectors.accounting_for("power").__name__ == "mrv.sectors.power"


def test_same_answer_for_any_signed_in_user_and_refused_anonymous(api, entity_user, other_entity_user):
    body = {"sector": "aluminium", "year": 2025, **ALUMINIUM}
    assert _post(api, entity_user, body).json() == _post(api, other_entity_user, body).json()
    assert api().post(CALC, body, format="json").status_code in (401, 403)


STEEL_FUELS = [{"fuel": "coke", "consumption": 1}, {"fuel": "lignite", "consumption": 1}]


@pytest.mark.parametrize(("body", "field", "code"), [
    ({"sector": "glass", **CEMENT}, "sector", "invalid_choice"),
    ({"sector": "steel", **STEEL, "fuels": [STEEL_FUELS[0], {"fuel": "peat", "consumption": 1}]}, "fuels[1].fuel",
     "invalid_choice"),
    ({"sector": "steel", **STEEL, "materials": [{"material": "iron_ore", "consumption": 1}]},
     "materials[0].material", "invalid_choice"),
    ({"sector": "steel", **STEEL, "products": [*STEEL["products"], {"product": "slag", "quantity": 1}]},
     "products[3].product", "invalid_choice"),
    ({"sector": "cement", **CEMENT, "clinker_type": "grey"}, "clinker_type", "invalid_choice"),
    ({"sector": "cement", **CEMENT, "substitutes": [{"material": "gravel", "consumption": 1}]},
     "substitutes[0].material", "invalid_choice"),
    ({"sector": "cement", **CEMENT, "clinker_t": 0}, "clinker_t", "not_positive"),
    ({"sector": "cement", **CEMENT, "clinker_t": -1}, "clinker_t", "negative"),
    ({"sector": "aluminium", **ALUMINIUM, "aluminium_t": 0}, "aluminium_t", "not_positive"),
    ({"sector": "aluminium", **ALUMINIUM, "aluminium_t": "-3"}, "aluminium_t", "negative"),
    ({"sector": "steel", **STEEL, "products": [{"product": "crude_steel", "quantity": 0}]}, "products[0].quantity",
     "not_positive"),
    ({"sector": "steel", **STEEL, "products": [{"product": "crude_steel", "quantity": -10}]},
     "products[0].quantity", "negative"),
    ({"sector": "aluminium", **ALUMINIUM, "anode_sulphur": "1.2"}, "anode_sulphur", "out_of_range"),
    ({"sector": "aluminium", **ALUMINIUM, "anode_ash": -0.1}, "anode_ash", "out_of_range"),
    ({"sector": "cement", **CEMENT, "fuels": [{"fuel": "bituminous", "consumption": 1, "oxidation_rate": 1.01}]},
     "fuels[0].oxidation_rate", "out_of_range"),
    ({"sector": "steel", **STEEL, "clinker_t": 1000}, "clinker_t", "not_in_sector"),
    ({"sector": "steel", **STEEL, "fuels": [STEEL_FUELS[0], {**STEEL_FUELS[1], "carbon_content": "0.027"}]},
     "fuels[1].carbon_content", "not_in_sector"),
    ({"sector": "cement", **CEMENT, "net_anode_consumption": 0.4}, "net_anode_consumption", "not_in_sector"),
    ({"sector": "aluminium", **ALUMINIUM, "fuels": []}, "fuels", "not_in_sector"),
    ({"sector": "cement", **CEMENT, "purchased_electricity_mwh": 1000}, "purchased_electricity_mwh",
     "not_in_sector"),  # indirect emissions never count for the industrial sectors
    ({"sector": "steel", **STEEL, "fuels": [{"fuel": "coke", "consumption": "lots"}]}, "fuels[0].consumption",
     "invalid_number"),
    ({"sector": "steel", **STEEL, "year": 2023}, "year", "before_first_year"),
    ({"sector": "cement", "year": 2025, "clinker_t": 1, "clinker_type": "portland"}, "fuels", "required"),
])
def test_bad_input_is_a_400_naming_the_field(api, integrator, body, field, code):
    body = {"year": 2025, **body}
    response = _post(api, integrator, body)
    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert (error["field"], error["code"]) == (field, code)
    assert error["message"]
    assert MonthlySubmission.objects.count() == 0


def test_seeded_defaults_and_ranges():
    """The migration seeds Table A.1/A.2 as [A] and the cement and aluminium defaults as editable [C] data."""
    seeded = AccountingParameter.objects.filter(year_from=2024)
    assert {key: seeded.filter(key=key).count() for key in ("steel_ncv", "material_ef", "product_ef", "clinker_ef",
                                                            "substitute_deduction")} == {
        "steel_ncv": 14, "material_ef": 14, "product_ef": 4, "clinker_ef": 4, "substitute_deduction": 29}
    coke = seeded.get(key="steel_carbon_per_heat", fuel="coke")
    assert (coke.value, coke.confidence) == (Decimal("0.029420"), "A")
    carbide = seeded.get(key="substitute_deduction", fuel="carbide_slag")
    assert (carbide.value, carbide.confidence) == (Decimal("0.480000"), "C") and "[C]" in carbide.source
    anode = PlausibilityRange.objects.get(parameter="net_anode_consumption")
    assert (anode.low, anode.high, anode.confidence) == (Decimal("0.38"), Decimal("0.45"), "C")
    steel_range = PlausibilityRange.objects.get(parameter="steel_carbon_balance_per_t")
    assert (steel_range.low, steel_range.high) == (Decimal("1.4"), Decimal("2.4"))
    assert Sector.objects.get(code="power").accounting_module == "mrv.sectors.power"
