"""The accounting formulas with the seeded parameters: figures checked by hand (DOMAIN.md section 5)."""

from decimal import Decimal

import pytest

from mrv import accounting
from mrv.selectors import parameter_set

pytestmark = pytest.mark.django_db


def test_measured_carbon_uses_default_oxidation():
    result = accounting.compute(parameter_set(2022), fuels=[{"fuel": "bituminous", "consumption": "1000",
                                                             "carbon_content": "0.6"}])
    # 1000 t x 0.6 tC/t x 0.99 x 44/12 = 2178 t
    assert result.emissions_tco2 == Decimal("2178.000")
    line = result.lines[0]
    assert line["inputs"]["C_ar"]["source"].startswith("measured")
    assert line["inputs"]["OF"]["value"] == "0.99"
    assert "44/12" in line["formula"]


@pytest.mark.parametrize(("year", "expected"), [(2021, "2547.071"), (2022, "2341.393"), (2024, "2341.393")])
def test_unmeasured_carbon_is_ncv_times_default_of_the_year(year, expected):
    result = accounting.compute(parameter_set(year), fuels=[{"fuel": "bituminous", "consumption": "1000",
                                                             "ncv": "20.908"}])
    assert result.emissions_tco2 == Decimal(expected)
    assert result.lines[0]["inputs"]["CC"]["value"] == ("0.03356" if year == 2021 else "0.03085")
    assert "[C]" in result.lines[0]["inputs"]["CC"]["source"]


def test_gas_defaults_and_grid_factor_by_year():
    params = parameter_set(2021)
    result = accounting.compute(params, fuels=[{"fuel": "natural_gas", "consumption": "100"}],
                                purchased_electricity_mwh="1000")
    assert result.fuel_emissions_tco2 == Decimal("2165.015")
    assert result.indirect_emissions_tco2 == Decimal("581.000")
    assert result.emissions_tco2 == Decimal("2746.015")
    first_cycle = accounting.compute(parameter_set(2020), fuels=[], purchased_electricity_mwh="1000")
    assert first_cycle.indirect_emissions_tco2 == Decimal("610.100")  # 0.6101 for 2019-2020 data
    assert first_cycle.lines[0]["inputs"]["EF_grid"]["value"] == "0.6101"
    later = accounting.compute(parameter_set(2023), fuels=[], purchased_electricity_mwh="1000")
    assert later.emissions_tco2 == Decimal("0.000")
    assert later.lines[0]["formula"] == "not counted"


def test_start_up_fuel_oil_by_the_default_table():
    result = accounting.compute(parameter_set(2025), fuels=[{"fuel": "fuel_oil", "consumption": "10"}])
    # 10 t x 41.816 GJ/t x 0.02110 tC/GJ x 0.98 x 44/12
    assert result.emissions_tco2 == Decimal("31.705")
    assert result.lines[0]["inputs"]["OF"]["value"] == "0.98"


def test_uncalibrated_meter_overstates_fuel_by_its_accuracy():
    cal = accounting.Calibration("not_calibrated", Decimal("0.01"))
    result = accounting.compute(parameter_set(2022), fuels=[{"fuel": "bituminous", "consumption": "1000",
                                                             "carbon_content": "0.6", "calibration": cal}])
    assert result.emissions_tco2 == Decimal("2199.780")
    assert accounting.calibration_factor(cal, production=True) == Decimal("0.99")
    out = accounting.Calibration("out_of_accuracy", Decimal("0.005"), Decimal("0.02"))
    assert accounting.calibration_factor(out) == Decimal("1.015")


def test_coal_oxidation_from_2026_must_be_given():
    with pytest.raises(accounting.AccountingError) as exc:
        accounting.compute(parameter_set(2026), fuels=[{"fuel": "bituminous", "consumption": "10", "ncv": "20"}])
    assert exc.value.field == "fuels[0].oxidation_rate"


@pytest.mark.parametrize(("item", "field", "code"), [
    ({"fuel": "peat", "consumption": "1"}, "fuels[0].fuel", "invalid_choice"),
    ({"fuel": "bituminous", "consumption": "-1"}, "fuels[0].consumption", "negative"),
    ({"fuel": "bituminous", "consumption": "1", "oxidation_rate": "1.2"}, "fuels[0].oxidation_rate", "out_of_range"),
    ({"fuel": "bituminous", "consumption": "x"}, "fuels[0].consumption", "invalid_number"),
    ({"fuel": "bituminous", "consumption": "1"}, "fuels[0].ncv", "required"),
])
def test_bad_fuel_lines_name_field_and_rule(item, field, code):
    with pytest.raises(accounting.AccountingError) as exc:
        accounting.compute(parameter_set(2022), fuels=[item])
    assert (exc.value.field, exc.value.code) == (field, code)
