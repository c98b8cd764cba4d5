"""The industrial intensity-coefficient method (allowances.intensity): sectors-2025.md worked examples."""

from decimal import Decimal as D

import pytest

from allowances import intensity as m
from allowances.formulas import FormulaError

RULES = m.IntensityRules("test-2025")


def one(balance_value, e, output, intensity_emissions=None, exemption=None):
    return m.facility_allocation(RULES, D(balance_value), m.FacilityData(
        "f", D(e), D(output), None if intensity_emissions is None else D(intensity_emissions), exemption))


def unrounded(e, i, bp):
    """The sectors-2025.md examples: the same formula on the intensity before its 4-decimal rounding."""
    return m.floor_tonnes(D(e) * (1 + m.alpha(RULES, m.deviation(D(bp), D(i)))))


def test_steel_example_uses_process_emissions_over_ironmaking_output():
    # E_ent 7,077,254; I = (0.90 + 1.15 Mt) / 3.7 Mt = 0.554054 -> 0.5541; X = 0.0765; alpha = 0.011475
    result = one("0.60", 7077254, 3700000, intensity_emissions=2050000)
    assert result.intensity == D("0.5541")
    assert result.x == D("0.0765") and result.alpha == D("0.011475")
    assert result.allocation_tco2 == 7_158_465  # floor(7,077,254 x 1.011475) = floor(7,158,465.99)
    assert unrounded(7077254, D(2050000) / D(3700000), "0.60") == 7_158_546  # the reference's figure
    assert one("0.50", 7077254, 3700000, 2050000).allocation_tco2 == 6_962_390  # X = -10.82%: deficit
    assert unrounded(7077254, D(2050000) / D(3700000), "0.50") == 6_962_487
    labels = [line.label for line in result.lines]
    assert labels == ["E", "I", "X", "alpha", "A"]
    assert result.lines[-1].formula == "floor(E x (1 + alpha))"
    assert result.lines[1].inputs == {"intensity_emissions_tco2": "2050000", "output_t": "3700000"}


def test_cement_and_aluminium_examples():
    cement = one("0.80", 772342, 1000000)
    assert cement.intensity == D("0.7723") and cement.allocation_tco2 == 776_353
    assert unrounded(772342, "0.772342", "0.80") == 776_347  # the reference, intensity unrounded
    assert one("0.76", 772342, 1000000).allocation_tco2 == 770_467
    aluminium = one("1.75", 847313, 500000)
    assert aluminium.intensity == D("1.6946") and aluminium.allocation_tco2 == 851_336
    assert unrounded(847313, D(847313) / D(500000), "1.75") == 851_334


def test_four_facility_balance_value_is_08341_and_balances_the_sector():
    pairs = [("770000", "0.772"), ("1500000", "0.85"), ("900000", "0.95"), ("600000", "0.70")]
    facilities = [m.FacilityData(str(n), D(e), D(e) / D(i)) for n, (e, i) in enumerate(pairs)]
    assert m.solve_balance_value(RULES, facilities) == D("0.8341")
    result = m.sector_allocation(RULES, facilities)
    assert result.balance_value == D("0.8341") and result.solved
    assert result.emissions_tco2 == 3_770_000
    assert result.total_tco2 == 3_770_019  # the published (rounded) BP: within rounding of the emissions
    assert [f.allocation_tco2 for f in result.facilities] == [
        m.floor_tonnes(D(e) * (1 + D("0.15") * (D("0.8341") - D(i)) / D("0.8341"))) for e, i in pairs]


def test_alpha_is_continuous_at_plus_minus_20_percent():
    assert m.alpha(RULES, D("0.2")) == D("0.03") == m.alpha(RULES, D("0.19999999")).quantize(D("0.0001"))
    assert m.alpha(RULES, D("0.5")) == D("0.03")
    assert m.alpha(RULES, D("-0.2")) == D("-0.03") == m.alpha(RULES, D("-0.19999999")).quantize(D("0.0001"))
    assert m.alpha(RULES, D("-0.9")) == D("-0.03")
    assert m.alpha(RULES, D("0.1")) == D("0.015")
    # far below the balance value: capped at +3%; far above: -3%
    assert one("1.0", 100000, 200000).allocation_tco2 == 103_000  # I 0.5, X +50%
    assert one("1.0", 100000, 50000).allocation_tco2 == 97_000  # I 2.0, X -100%


def test_exempt_facilities_get_their_emissions_and_stay_out_of_the_solve():
    facilities = [m.FacilityData("a", D(1000000), D(1000000)), m.FacilityData("b", D(500000), D(250000)),
                  m.FacilityData("white", D("300000.5"), D(0), exemption="white_clinker")]
    result = m.sector_allocation(RULES, facilities)
    white = result.facilities[2]
    assert white.allocation_tco2 == 300_001 and white.emissions_tco2 == 300_001  # E half up, A = E
    assert white.intensity is None and white.alpha is None
    assert result.balance_value == m.solve_balance_value(RULES, facilities[:2])


def test_verified_emissions_are_whole_tonnes_half_up_and_allocation_is_floored():
    result = one("0.80", "772341.5", 1000000)  # E = 772,342 (half up) as in the cement example
    assert result.emissions_tco2 == 772_342 and result.allocation_tco2 == 776_353
    assert m.intensity(D("0.77225"), D(1)) == D("0.7723")  # half up at the 5th decimal
    assert m.floor_tonnes(D("99.999")) == 99


def test_first_year_plan_allocates_verified_emissions():
    rules = m.IntensityRules("steel-2024", all_verified=True)
    result = m.sector_allocation(rules, [m.FacilityData("s", D("7077254.4"), D(0))], balance_value=D("0.6"))
    assert result.balance_value is None and not result.solved
    assert result.facilities[0].allocation_tco2 == 7_077_254


@pytest.mark.parametrize(("facility", "field"), [
    (m.FacilityData("x", D(1), D(0)), "units[0].output_t"),
    (m.FacilityData("x", D(1), D(-5), exemption="closed"), "units[0].output_t"),
    (m.FacilityData("x", D(-1), D(1)), "units[0].verified_emissions_tco2"),
    (m.FacilityData("x", D(1), D(1), D(-1)), "units[0].intensity_emissions_tco2"),
    (m.FacilityData("x", D(1), D(1), exemption="biomass"), "units[0].exemption"),
])
def test_bad_facilities_name_the_field(facility, field):
    with pytest.raises(FormulaError) as exc:
        m.sector_allocation(RULES, [facility])
    assert exc.value.field == field


def test_an_exemption_of_another_sector_is_refused():
    steel = m.IntensityRules("steel-2025", exemptions=("hydrogen_furnace", "new", "closed", "below_threshold"))
    with pytest.raises(FormulaError) as exc:
        m.sector_allocation(steel, [m.FacilityData("x", D(1), D(1), exemption="white_clinker")])
    assert exc.value.field == "units[0].exemption"
