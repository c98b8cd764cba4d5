"""The plan formulas against numbers worked out by hand (pure: no database)."""

from decimal import Decimal as D

import pytest

from allowances import formulas as fm
from allowances.plans_seed import benchmark_rows


def rules(column: str, scheme: str = fm.SUPPLY_CORRECTIONS, **over) -> fm.PlanRules:
    rows = list(benchmark_rows(column))
    return fm.PlanRules(code=column, correction_scheme=scheme,
                        electricity_benchmark={c: D(e) for c, e, _, _, _ in rows},
                        heat_benchmark={c: D(h) for c, _, h, _, _ in rows}, **over)


PLAN_2019 = rules("2019-20", load_factor_for_chp=False)
PLAN_2021 = rules("2021")
PLAN_2023 = rules("2023", fm.PEAK_FACTOR)
PLAN_2024 = rules("2024", fm.PEAK_FACTOR)


def unit(**kw) -> fm.UnitData:
    kw.setdefault("id", "u1")
    kw.setdefault("category", "I")
    for key in ("electricity_mwh", "heat_gj", "heat_supply_ratio", "load_factor", "verified_emissions_tco2"):
        if key in kw and kw[key] is not None:
            kw[key] = D(str(kw[key]))
    kw.setdefault("electricity_mwh", D(0))
    return fm.UnitData(**kw)


def line(result, label):
    return next(x for x in result.lines if x.label == label)


def test_600mw_coal_i_2021_air_cooled_chp_at_78_percent_load():
    # B_e 0.8218, F_cool 1.05 (air), F_heat = 1 - 0.22 x 0.1 = 0.978,
    # F_load (0.75 <= 0.78 < 0.80) = 1.007 + 0.0016 x (80 - 78) = 1.0102 (2021 plan: CHP corrected too)
    # A_e = 3,000,000 x 0.8218 = 2,465,400; x 1.05 = 2,588,670; x 0.978 = 2,531,719.26;
    #       x 1.0102 = 2,531,719.26 + 25,823.536452 = 2,557,542.796452
    # A_h = 500,000 GJ x 0.1111 = 55,550;  A = 2,613,092.796452 -> 2,613,093 t
    result = fm.unit_allocation(PLAN_2021, unit(electricity_mwh=3_000_000, heat_gj=500_000, cooling="air",
                                                heat_supply_ratio="0.1", load_factor="0.78"))
    assert line(result, "F_cool").value == "1.05"
    assert line(result, "F_heat").value == "0.978"
    assert line(result, "F_load").value == "1.0102"
    assert line(result, "A_e").value == "2557542.796452"
    assert line(result, "A_h").value == "55550"
    assert result.base_tco2 == result.allocation_tco2 == 2_613_093
    assert line(result, "A_e").inputs["Q_supply"] == "3000000"


@pytest.mark.parametrize(("load", "expected"), [
    ("1", "1"), ("0.85", "1"),
    ("0.84", "1.0014"),  # 1 + 0.0014 x 1
    ("0.82", "1.0042"),  # 1 + 0.0014 x 3
    ("0.80", "1.007"),  # 1 + 0.0014 x 5 = 1.007 + 0.0016 x 0: continuous
    ("0.78", "1.0102"),
    ("0.75", "1.015"),  # 1.007 + 0.0016 x 5 = 1.015^(16 - 15): continuous
    ("0.70", "1.030225"),  # 1.015^2
    ("0.5", "1.093443263942640625"),  # 1.015^6 = 1.045678375^2
])
def test_load_factor_table(load, expected):
    assert D(fm.load_factor_correction(D(load)).value) == D(expected)


def test_load_factor_correction_continuous_at_the_breakpoints():
    for point in ("0.85", "0.80", "0.75"):
        below = D(fm.load_factor_correction(D(point) - D("1e-12")).value)
        at = D(fm.load_factor_correction(D(point)).value)
        assert abs(below - at) < D("1e-9")


def test_2019_plan_does_not_correct_load_of_chp_but_2021_does():
    # cat II water-cooled CHP, heat ratio 0.2, load 0.70: F_heat = 1 - 0.044 = 0.956
    # 2019-20: 1,000,000 x 0.979 x 1 x 0.956 x 1 = 935,924; heat 1,000,000 x 0.126 = 126,000 -> 1,061,924
    data = unit(category="II", electricity_mwh=1_000_000, heat_gj=1_000_000, heat_supply_ratio="0.2",
                load_factor="0.70")
    result = fm.unit_allocation(PLAN_2019, data)
    assert line(result, "F_load").value == "1"
    assert result.allocation_tco2 == 1_061_924
    # 2021: 0.8773 x 0.956 = 0.8386988; x 1.030225 = 0.86404847...; x 1,000,000 = 864,048.47; heat 111,100
    # -> 975,148.47 -> 975,148
    assert fm.unit_allocation(PLAN_2021, data).allocation_tco2 == 975_148
    # a pure-condensing unit (no heat) is load-corrected in 2019-20: 1,000,000 x 0.979 x 1.030225 = 1,008,590
    pure = unit(category="II", electricity_mwh=1_000_000, load_factor="0.70")
    assert fm.unit_allocation(PLAN_2019, pure).allocation_tco2 == 1_008_590


def test_gas_unit_2021_heat_ratio_correction_and_relief_to_verified_emissions():
    # F = 1 - 0.6 x 0.3 = 0.82; A_e = 1,000,000 x 0.392 x 0.82 = 321,440; A_h = 2,000,000 x 0.056 = 112,000
    # A = 433,440 < verified 500,000: topped up by 66,560
    data = unit(category="IV", electricity_mwh=1_000_000, heat_gj=2_000_000, heat_supply_ratio="0.3",
                load_factor="0.5", cooling="air", verified_emissions_tco2=500_000)
    result = fm.unit_allocation(PLAN_2021, data)
    assert line(result, "F_heat").value == "0.82"
    assert not [x for x in result.lines if x.label in ("F_cool", "F_load")]  # no coal corrections for gas
    assert (result.base_tco2, result.gas_relief_tco2, result.allocation_tco2) == (433_440, 66_560, 500_000)
    entity = fm.entity_allocation(PLAN_2021, [data])
    assert (entity.total_tco2, entity.relief_tco2, entity.entity_relief_tco2) == (500_000, 66_560, 0)


def test_2023_peak_factor_only_below_065_and_only_for_categories_i_ii():
    # 2,000,000 MWh x 0.7950 = 1,590,000; F_f(0.60) = 1.015^(16 - 12) = 1.061363550625
    # -> 1,687,568.04549375 -> 1,687,568
    low = fm.unit_allocation(PLAN_2023, unit(electricity_mwh=2_000_000, load_factor="0.60", cooling="air",
                                             heat_supply_ratio="0.3"))
    assert line(low, "F_f").value == "1.061363550625"
    assert low.allocation_tco2 == 1_687_568
    assert not [x for x in low.lines if x.label in ("F_cool", "F_heat", "F_load")]
    # at 0.65 the table has no row: F_f = 1 (the published jump from 1.015^3)
    assert fm.unit_allocation(PLAN_2023, unit(electricity_mwh=2_000_000, load_factor="0.65")).allocation_tco2 \
        == 1_590_000
    # category III: no correction, 2,000,000 x 0.8285 = 1,657,000
    assert fm.unit_allocation(PLAN_2023, unit(category="III", electricity_mwh=2_000_000,
                                              load_factor="0.60")).allocation_tco2 == 1_657_000
    # heat term with the coal heat benchmark: 100,000 GJ x 0.1038 = 10,380
    assert fm.unit_allocation(PLAN_2023, unit(electricity_mwh=0, heat_gj=100_000)).allocation_tco2 == 10_380


def test_rounding_is_half_up_per_unit_then_summed():
    # 1,875 MWh x 0.3288 (IV, 2024) = 616.5 -> 617 (half up, not to even)
    half = unit(category="IV", electricity_mwh=1875)
    assert fm.unit_allocation(PLAN_2024, half).allocation_tco2 == 617
    # two units of 616.5 sum to 1,234 (rounded per unit), not round(1,233) = 1,233
    entity = fm.entity_allocation(PLAN_2024, [half, unit(id="u2", category="IV", electricity_mwh=1875)])
    assert entity.total_tco2 == 1234


def test_entity_topped_up_to_80_percent_of_verified_emissions():
    # allocation 2,613,093 (first test) vs verified 3,400,000: floor 2,720,000 -> relief 106,907
    data = unit(electricity_mwh=3_000_000, heat_gj=500_000, cooling="air", heat_supply_ratio="0.1",
                load_factor="0.78", verified_emissions_tco2=3_400_000)
    entity = fm.entity_allocation(PLAN_2021, [data])
    assert (entity.base_tco2, entity.entity_relief_tco2, entity.total_tco2) == (2_613_093, 106_907, 2_720_000)
    assert entity.lines[0].inputs["floor_tco2"] == "2720000"
    # floor rounded half up: 0.8 x 1,000,001 = 800,000.8 -> 800,001
    small = fm.entity_allocation(PLAN_2024, [unit(category="I", electricity_mwh=1, verified_emissions_tco2=1_000_001)])
    assert small.total_tco2 == 800_001


def test_entity_relief_needs_every_units_verified_emissions_and_gas_relief_counts_first():
    coal = unit(electricity_mwh=1_000_000, load_factor="0.9")  # 821,800
    gas = unit(id="g", category="IV", electricity_mwh=100_000, verified_emissions_tco2=50_000)  # 39,200 -> 50,000
    partial = fm.entity_allocation(PLAN_2021, [coal, gas])
    assert (partial.total_tco2, partial.gas_relief_tco2, partial.entity_relief_tco2) == (871_800, 10_800, 0)
    assert partial.verified_emissions_tco2 is None
    # with coal verified at 1,200,000: floor 0.8 x 1,250,000 = 1,000,000; 871,800 after gas relief -> +128,200
    coal_v = unit(electricity_mwh=1_000_000, load_factor="0.9", verified_emissions_tco2=1_200_000)
    full = fm.entity_allocation(PLAN_2021, [coal_v, gas])
    assert (full.total_tco2, full.gas_relief_tco2, full.entity_relief_tco2) == (1_000_000, 10_800, 128_200)


def test_no_relief_when_plan_has_none():
    plan = rules("2021", gas_relief=False, entity_relief_floor=None)
    gas = unit(category="IV", electricity_mwh=100_000, verified_emissions_tco2=50_000)
    assert fm.entity_allocation(plan, [gas]).total_tco2 == 39_200


@pytest.mark.parametrize(("kw", "field"), [
    ({"category": "V"}, "category"),
    ({"cooling": "oil"}, "cooling"),
    ({"load_factor": D("1.01")}, "load_factor"),
    ({"load_factor": D("-0.1")}, "load_factor"),
    ({"heat_supply_ratio": D("1.5")}, "heat_supply_ratio"),
    ({"electricity_mwh": D("-1")}, "electricity_mwh"),
    ({"heat_gj": D("-1")}, "heat_gj"),
    ({"verified_emissions_tco2": D("-5")}, "verified_emissions_tco2"),
])
def test_bad_input_names_the_field(kw, field):
    with pytest.raises(fm.FormulaError) as exc:
        fm.unit_allocation(PLAN_2021, unit(**{"electricity_mwh": D(1), **kw}))
    assert exc.value.field == field


@pytest.mark.parametrize("value", [None, True, "abc", "nan", "inf"])
def test_dec_refuses_non_numbers(value):
    with pytest.raises(fm.FormulaError):
        fm.dec(value, "electricity_mwh")
