"""What a facility must state for its sector: the power columns for generating units, the sector's attributes
(``Sector.facility_attributes``) for the others. Pure, so the model's clean(), the API and the admin agree."""

from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _


def facility_problems(sector: str, rated_power_mw, main_fuel: str, attributes: dict, specs: list[dict],
                      processes: list[str]) -> dict[str, str]:
    """{field: problem} for a facility of ``sector``; empty when it is complete."""
    problems: dict[str, str] = {}
    if sector == "power":
        if rated_power_mw in (None, ""):
            problems["rated_power_mw"] = _("A generating unit states its rated power.")
        if not main_fuel:
            problems["main_fuel"] = _("A generating unit states its main fuel.")
        if attributes:
            problems["attributes"] = _("Generating units keep their facts in their own fields, not in attributes.")
        return problems
    if rated_power_mw not in (None, ""):
        problems["rated_power_mw"] = _("Only generating units have a rated power.")
    if main_fuel:
        problems["main_fuel"] = _("Only generating units have a main fuel.")
    attributes = attributes or {}
    if not isinstance(attributes, dict):
        return {"attributes": _("Attributes are an object of named values.")}
    known = {spec["code"]: spec for spec in specs}
    for code in attributes:
        if code not in known:
            problems[f"attributes.{code}"] = _("Unknown attribute for this sector; allowed: %(allowed)s.") % {
                "allowed": ", ".join(known) or "-"}
    for code, spec in known.items():
        value = attributes.get(code)
        if value in (None, "", []):
            if spec.get("required"):
                problems[f"attributes.{code}"] = _("Required for this sector.")
            continue
        problem = _value_problem(spec, value, processes)
        if problem:
            problems[f"attributes.{code}"] = problem
    return problems


def _value_problem(spec: dict, value, processes: list[str]) -> str | None:
    kind = spec.get("type")
    if kind == "choice" and value not in spec.get("choices", []):
        return _("Must be one of: %(choices)s.") % {"choices": ", ".join(spec["choices"])}
    if kind == "boolean" and not isinstance(value, bool):
        return _("Must be true or false.")
    if kind == "quantity":
        try:
            number = Decimal(str(value))
        except (InvalidOperation, ValueError):
            return _("Must be a number.")
        if not number.is_finite() or number <= 0:
            return _("Must be a positive number.")
    if kind == "processes":
        if not isinstance(value, list) or not value:
            return _("A list of process codes.")
        unknown = [p for p in value if p not in processes]
        if unknown:
            return _("Unknown processes %(unknown)s; allowed: %(allowed)s.") % {
                "unknown": ", ".join(map(str, unknown)), "allowed": ", ".join(processes)}
    return None


def attributes_text(attributes: dict) -> str:
    """A facility's attributes as one line for pages and exports: ``clinker_type: portland; processes: a, b``."""
    return "; ".join(f"{code}: {', '.join(map(str, value)) if isinstance(value, list) else value}"
                     for code, value in (attributes or {}).items())
