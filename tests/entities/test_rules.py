import pytest

from entities.categories import least_favourable, unit_category
from entities.credit_code import check_character, credit_code_problem


def test_credit_code_check_character_matches_gb32100():
    # A published example code: 91350100M000100Y43 (check character 3).
    assert check_character("91350100M000100Y4") == "3"
    assert credit_code_problem("91350100M000100Y43") is None


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        ("91350100M000100Y4", "must be 18 characters"),
        ("91350100M000100Y44", "check character is 4, GB 32100 requires 3"),
        ("9135010OM000100Y43", "not allowed by GB 32100: O"),
        ("91A50100M000100Y43", "administrative division code"),
    ],
)
def test_credit_code_problems_name_the_rule(code, problem):
    assert problem in credit_code_problem(code)


@pytest.mark.parametrize(
    ("facts", "category"),
    [
        ({"main_fuel": "coal", "rated_power_mw": 660}, "I"),
        ({"main_fuel": "coal", "rated_power_mw": 400}, "I"),
        ({"main_fuel": "coal", "rated_power_mw": 399.99}, "II"),
        ({"main_fuel": "coal", "rated_power_mw": 660, "is_cfb": True}, "III"),
        ({"main_fuel": "unconventional_coal", "rated_power_mw": 135}, "III"),
        ({"main_fuel": "coal", "rated_power_mw": 300, "unconventional_share": 0.6}, "III"),
        ({"main_fuel": "natural_gas", "rated_power_mw": 390}, "IV"),
        ({"main_fuel": "natural_gas", "rated_power_mw": 390, "other_fuel_share": 0.2}, None),
        ({"main_fuel": "coal", "rated_power_mw": 600, "biomass_share": 0.08}, "I"),
        ({"main_fuel": "coal", "rated_power_mw": 600, "biomass_share": 0.15}, None),
        ({"main_fuel": "coal", "rated_power_mw": 250, "technology": "igcc"}, None),
        ({"main_fuel": "oil", "rated_power_mw": 50}, None),
        ({"main_fuel": "coal", "rated_power_mw": 1000, "commissioning_year": 2023, "plan_year": 2023}, None),
    ],
)
def test_unit_category_by_annex_1(facts, category):
    result = unit_category(**facts)
    assert result.category == category
    assert result.reason


def test_units_reported_together_take_least_favourable_category():
    assert least_favourable(["I", "III"]) == "I"
    assert least_favourable(["II", "III"]) == "II"
    assert least_favourable(["IV"]) == "IV"
