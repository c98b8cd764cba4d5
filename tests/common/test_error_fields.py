from rest_framework.exceptions import ErrorDetail

from cets.common.api import _first_error


def test_first_error_names_nested_and_listed_fields():
    detail = {"plan": {"units": [{}, {"heat_supply_ratio": [ErrorDetail("Ensure <= 1.", code="max_value")]}]}}
    assert _first_error(detail) == ("plan.units[1].heat_supply_ratio", "Ensure <= 1.", "max_value")
    assert _first_error({"items": [{"quantity": [ErrorDetail("bad", code="invalid")]}]})[0] == "items[0].quantity"
    assert _first_error({"non_field_errors": [ErrorDetail("clash", code="c")]}) == (None, "clash", "c")
