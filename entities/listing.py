"""Report-only rules of a sector's list (``Sector.report_only_rules``), pure so that the list builder in mrv,
the admin and the tests read them the same way.

A rule matches a facility when its attribute condition holds (``in``: the attribute is one of the values;
``lacks``: the attribute, a list such as a steel enterprise's processes, does not contain the value) and the
data year is not after ``until_year``; a rule without an attribute matches every facility of the sector (a
sector that reports before it is allocated). An entity reports only when EVERY one of its facilities of the
sector matches a rule: one allocated facility (a Portland line beside an aluminate line) lists the entity,
as the allocation unit is the facility and the list names who must surrender.
"""


def _matches(rule: dict, attributes: dict, year: int) -> bool:
    until = rule.get("until_year")
    if until is not None and year > int(until):
        return False
    code = rule.get("attribute")
    if not code:
        return True
    value = (attributes or {}).get(code)
    if "in" in rule:
        return value in rule["in"]
    if "lacks" in rule:
        return rule["lacks"] not in (value or [])
    return False


def report_only_reason(rules: list[dict], facilities: list[dict], year: int) -> str | None:
    """The reason an entity with these facilities' ``attributes`` only reports in ``year``, or None."""
    if not facilities or not rules:
        return None
    reasons = []
    for attributes in facilities:
        rule = next((r for r in rules if _matches(r, attributes, year)), None)
        if rule is None:
            return None
        reasons.append(rule.get("reason", ""))
    return "; ".join(dict.fromkeys(reasons))
