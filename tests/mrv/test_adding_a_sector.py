"""docs/adding-a-sector.md, followed: a Sector row and a module are all a new sector needs to compute."""

from decimal import Decimal

import pytest

from entities.models import Sector
from mrv import sectors
from mrv.accounting import AccountingError
from mrv.selectors import parameter_set

pytestmark = pytest.mark.django_db
CALC = "/api/v1/mrv/calculate/"
BODY = {"glass_t": 100000, "carbonates": [{"material": "limestone", "consumption": 20000},
                                          {"material": "dolomite", "consumption": 5000}]}


@pytest.fixture
def glass():
    return Sector.objects.create(
        code="flat_glass", name="平板玻璃", name_en="Flat glass", facility_kind="glass_furnace",
        facility_label="熔窑", facility_label_en="Melting furnace", gases=[{"gas": "CO2", "gwp": 1}],
        output_name="平板玻璃产量", output_name_en="Flat glass", output_unit="t",
        monthly_parameters=[{"code": "glass_t", "type": "quantity", "unit": "t", "required": True}],
        accounting_module="tests.mrv.toy_sector", allocation_method="intensity", first_year=2025,
        confidence="C", source="test")


def test_unknown_until_its_row_exists(api, integrator):
    response = api(integrator).post(CALC, {"sector": "flat_glass", "year": 2025, **BODY}, format="json")
    assert response.status_code == 400 and response.json()["error"]["field"] == "sector"


def test_toy_sector_through_the_calculator_and_accounting_for(api, integrator, glass):
    # 20,000 t limestone x 0.440 + 5,000 t dolomite x 0.476 = 8,800 + 2,380
    result = sectors.accounting_for("flat_glass", 2025).calculate(BODY, parameter_set(2025))
    assert sectors.accounting_for(glass) is sectors.accounting_for("flat_glass")
    assert result.emissions_tco2 == Decimal("11180.000") and result.intensity == Decimal("0.1118")
    response = api(integrator).post(CALC, {"sector": "flat_glass", "year": 2025, **BODY}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["emissions_tco2"] == "11180.000"
    assert [line["emissions_tco2"] for line in response.json()["lines"]] == ["8800.000", "2380.000"]
    response = api(integrator).post(CALC, {"sector": "flat_glass", "year": 2025, **BODY, "clinker_t": 1},
                                    format="json")
    assert response.json()["error"] == {
        "code": "not_in_sector", "field": "clinker_t",
        "message": "clinker_t is not an input of the flat_glass calculation; its inputs here are glass_t, carbonates."}


def test_before_first_year_inactive_or_misconfigured_sector_is_refused(glass):
    with pytest.raises(AccountingError) as err:
        sectors.accounting_for(glass, 2024)
    assert (err.value.field, err.value.code) == ("year", "before_first_year")
    Sector.objects.filter(code="flat_glass").update(accounting_module="tests.mrv.no_such_module")
    with pytest.raises(AccountingError) as err:
        sectors.accounting_for("flat_glass")
    assert (err.value.field, err.value.code) == ("sector", "misconfigured")
    Sector.objects.filter(code="flat_glass").update(is_active=False)
    with pytest.raises(AccountingError) as err:
        sectors.accounting_for("flat_glass")
    assert err.value.code == "invalid_choice"
