"""The sector accounting modules as pure functions: the worked examples of sectors-2025.md and every line.

The parameters are the seed data themselves (mrv.sector_parameters_seed, the sectors' gases), so these
tests need no database and check what the migration seeds.
"""

from decimal import Decimal

import pytest

from entities.sectors_seed import SECTORS
from mrv import accounting
from mrv.accounting import AccountingError, Parameter, ParameterSet
from mrv.sector_parameters_seed import PARAMETERS
from mrv.sectors import aluminium, cement, power, steel

STEEL = {
    "fuels": [{"fuel": "washed_coking_coal", "consumption": 2200000}, {"fuel": "anthracite", "consumption": 700000},
              {"fuel": "natural_gas", "consumption": 2000}],
    "materials": [{"material": "limestone", "consumption": 300000}, {"material": "dolomite", "consumption": 100000},
                  {"material": "electrode", "consumption": 2000}, {"material": "scrap", "consumption": 400000}],
    "products": [{"product": "crude_steel", "quantity": 4000000}, {"product": "tar", "quantity": 50000},
                 {"product": "crude_benzene", "quantity": 15000}],
}
CEMENT = {"fuels": [{"fuel": "bituminous", "consumption": 125000, "ncv": "22.0"}], "clinker_t": 1000000,
          "clinker_type": "portland", "substitutes": [{"material": "carbide_slag", "consumption": 50000}]}
ALUMINIUM = {"aluminium_t": 500000, "net_anode_consumption": "0.40"}


@pytest.fixture(scope="module")
def params():
    values = {(key, code): Parameter(value, conf, source) for key, code, _s, _e, value, conf, source in PARAMETERS}
    for sector in SECTORS:
        for gas in sector["gases"]:
            values[("gwp", gas["gas"])] = Parameter(Decimal(gas["gwp"]), gas["confidence"], gas["source"])
    return ParameterSet(year=2025, values=values)


def _figures(result):
    return [line["emissions_tco2"] for line in result.lines]


def test_steel_worked_example(params):
    result = steel.calculate(STEEL, params)
    # sectors-2025.md 1.3: E_ent = 7,077,254 t (sum of the lines rounded to the tonne); 1.769 t/t crude steel
    assert result.emissions_tco2 == Decimal("7077253.787")
    assert _figures(result) == ["5399835.056", "1765635.051", "43737.681", "132000.000", "47600.000", "7326.000",
                                "14800.000", "-148000.000", "-134950.000", "-50730.000"]
    assert result.output_t == Decimal(4000000)
    assert (result.emissions_tco2 / result.output_t).quantize(Decimal("0.001")) == Decimal("1.769")
    assert result.intensity_emissions_tco2 is None and result.intensity is None
    coal = result.lines[0]
    assert coal["formula"] == "E = FC x NCV x CC x 44/12"  # no oxidation factor in the carbon balance
    assert coal["inputs"]["NCV"]["value"] == "26.344" and coal["inputs"]["CC"]["value"] == "0.02541"
    assert coal["inputs"]["CC"]["source"].startswith("default [A]")
    assert result.gases == {"CO2": result.emissions_tco2}


def test_steel_measured_ncv_and_process_balance(params):
    body = {**STEEL, "fuels": [*STEEL["fuels"], {"fuel": "bituminous", "consumption": 1000, "ncv": "24.5"}],
            "processes": {
                "sintering": {"inputs": [{"fuel": "coke", "consumption": 200000},
                                         {"material": "limestone", "consumption": 150000}]},
                "ironmaking": {"inputs": [{"fuel": "coke", "consumption": 1400000},
                                          {"fuel": "anthracite", "consumption": 500000}],
                               "outputs": [{"fuel": "bf_gas", "consumption": 500000}]}},
            "ironmaking_output_t": 3700000}
    result = steel.calculate(body, params)
    # the worked example plus 1000 t x 24.5 GJ/t (measured) x 0.02618 x 44/12 = 2351.837
    assert result.lines[3]["emissions_tco2"] == "2351.837"
    assert result.lines[3]["inputs"]["NCV"]["source"] == "measured"
    assert result.emissions_tco2 == Decimal("7079605.624")
    balances = {ln["process"]: ln["emissions_tco2"] for ln in result.lines if ln["kind"] == "process_balance"}
    # sintering 200,000 t coke x 28.435 x 0.02942 x 44/12 + 150,000 t limestone x 0.440
    # ironmaking 1.4 Mt coke + 0.5 Mt anthracite - 500,000 x 10^4 Nm3 BF gas x 33 x 0.0708 x 44/12
    assert balances == {"sintering": "679475.647", "ironmaking": "1272097.420"}
    assert result.intensity_emissions_tco2 == Decimal("1951573.067")
    assert result.intensity_output_t == Decimal(3700000)
    assert result.intensity == Decimal("0.5275")
    assert not any(ln["in_total"] for ln in result.lines if ln.get("process"))


def test_cement_worked_example(params):
    result = cement.calculate(CEMENT, params)
    # sectors-2025.md 2.2: fuel 261,342 + process 535,000 - 24,000 = 772,342 t; I = 0.7723
    assert _figures(result) == ["261341.850", "535000.000", "-24000.000", "0.000"]
    assert result.emissions_tco2 == Decimal("772341.850")
    assert result.intensity == Decimal("0.7723")
    # 24,000 / 535,000: no exemption; 125,000 t x 22 GJ/t of fuel heat
    assert result.figures == {"carbide_slag_rate": Decimal("0.0449"), "fuel_heat_gj": Decimal("2750000.000")}
    assert result.lines[0]["inputs"]["OF"]["value"] == "0.99"
    assert result.lines[1]["inputs"]["EF_clinker"]["source"].startswith("default [C]")


def test_cement_measured_clinker_factor_and_white_clinker(params):
    measured = cement.calculate({**CEMENT, "clinker_factor": "0.520", "substitutes": []}, params)
    assert measured.lines[1]["inputs"]["EF_clinker"] == {"value": "0.52", "unit": "tCO2/t clinker",
                                                         "source": "measured"}
    assert measured.emissions_tco2 == Decimal("781341.850")
    white = cement.calculate({**CEMENT, "clinker_type": "white_portland", "substitutes": []}, params)
    assert white.emissions_tco2 == Decimal("811341.850")  # 261,341.850 + 1,000,000 x 0.550
    fuel = cement.calculate({**CEMENT, "fuels": [{"fuel": "bituminous", "consumption": 1000, "ncv": 22,
                                                  "carbon_content": "0.0260", "oxidation_rate": "0.98"}]}, params)
    assert fuel.lines[0]["emissions_tco2"] == "2055.387"  # 1000 x 22 x 0.026 x 0.98 x 44/12


def test_aluminium_worked_example(params):
    result = aluminium.calculate(ALUMINIUM, params)
    # sectors-2025.md 3.2: anode 715,733; PFC 131,580 (CF4 112,710 + C2F6 18,870); E = 847,313; I = 1.6946
    assert _figures(result) == ["715733.333", "112710.000", "18870.000"]
    assert result.emissions_tco2 == Decimal("847313.333")
    assert result.gases == {"CO2": Decimal("715733.333"), "CF4": Decimal("112710.000"),
                            "C2F6": Decimal("18870.000")}
    assert result.intensity == Decimal("1.6946")


def test_aluminium_anode_effect_minutes(params):
    result = aluminium.calculate({**ALUMINIUM, "anode_effect_minutes": "0.2"}, params)
    # EF_CF4 = 0.143 x 0.2 = 0.0286 kg/t; PFC = 94,809 + 15,873 = 110,682 t
    assert result.gases["CF4"] + result.gases["C2F6"] == Decimal("110682.000")
    assert result.lines[1]["inputs"]["EF_CF4"]["value"] == "0.0286"
    assert result.emissions_tco2 == Decimal("826415.333")
    none = aluminium.calculate({**ALUMINIUM, "anode_effect_minutes": 0}, params)
    assert none.emissions_tco2 == Decimal("715733.333")  # measured: no anode effects, no PFC
    measured = aluminium.calculate({**ALUMINIUM, "anode_sulphur": "0.015", "anode_ash": "0.005"}, params)
    assert measured.lines[0]["emissions_tco2"] == "718666.667"  # 500,000 x 0.4 x 0.98 x 44/12


def test_power_adapter_gives_the_power_figures(params):
    year_params = ParameterSet(year=2021, values={
        **params.values,
        ("default_carbon_per_heat", "coal"): Parameter(Decimal("0.03356"), "C", "test"),
        ("oxidation_rate", "coal"): Parameter(Decimal("0.99"), "A", "test")})
    body = {"fuels": [{"fuel": "bituminous", "consumption": 1000, "ncv": "20.908"}]}
    result = power.calculate(body, year_params)
    direct = accounting.compute(year_params, fuels=body["fuels"])
    assert result.emissions_tco2 == direct.emissions_tco2 == Decimal("2547.071")
    assert result.lines == direct.lines


@pytest.mark.parametrize(("module", "body", "field", "code"), [
    (steel, {**STEEL, "fuels": [{"fuel": "coal", "consumption": 1}]}, "fuels[0].fuel", "invalid_choice"),
    (steel, {**STEEL, "fuels": [{"fuel": "coke", "consumption": 1, "ncv": 28}]}, "fuels[0].ncv", "default_only"),
    (steel, {**STEEL, "materials": [{"material": "slag", "consumption": 1}]}, "materials[0].material",
     "invalid_choice"),
    (steel, {**STEEL, "products": [{"product": "crude_steel", "quantity": 0}]}, "products[0].quantity",
     "not_positive"),
    (steel, {**STEEL, "products": [{"product": "tar", "quantity": 1}]}, "products", "required"),
    (steel, {**STEEL, "processes": {"sintering": {"inputs": []}}}, "ironmaking_output_t", "required"),
    (steel, {**STEEL, "processes": {"blast": {}}, "ironmaking_output_t": 1}, "processes.blast", "not_in_sector"),
    (cement, {**CEMENT, "clinker_t": -5}, "clinker_t", "negative"),
    (cement, {**CEMENT, "clinker_factor": "1.2"}, "clinker_factor", "out_of_range"),
    (cement, {**CEMENT, "fuels": [{"fuel": "bituminous", "consumption": 1, "oxidation_rate": 0}]},
     "fuels[0].oxidation_rate", "not_positive"),
    (aluminium, {**ALUMINIUM, "anode_sulphur": "0.6", "anode_ash": "0.5"}, "anode_ash", "out_of_range"),
    (aluminium, {**ALUMINIUM, "anode_effect_minutes": "-1"}, "anode_effect_minutes", "negative"),
    (power, {"fuels": [{"fuel": "bituminous", "consumption": 1}], "clinker_t": 5}, "clinker_t", "not_in_sector"),
])
def test_bad_input_names_the_field(params, module, body, field, code):
    with pytest.raises(AccountingError) as err:
        module.calculate(body, params)
    assert (err.value.field, err.value.code) == (field, code)
    assert err.value.message
