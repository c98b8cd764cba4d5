"""Which CEA vintage settles which compliance year: reads of ``SurrenderVintage`` and the check every
surrender passes (``registry.services.surrender_execute`` for every caller, ``compliance.services.surrender``
first, to name its own field).

A vintage is given as the registry numbers it (CEA19-20 is vintage 2020) or as compliance lists it
(2019 for CEA19-20); both are read the same. A year without rows has no eligible vintage yet.
"""

from django.utils.translation import gettext as _

from cets.common.errors import DomainError

from .models import SurrenderVintage
from .vintages_seed import LAST_YEAR_OF_OLD_VINTAGES


def cea_code(vintage: int) -> str:
    return "CEA19-20" if vintage in (2019, 2020) else f"CEA{vintage % 100:02d}"


def _listed(vintage: int) -> int:
    """The vintage as the rows list it (CEA19-20 as 2019)."""
    return 2019 if vintage == 2020 else vintage


def eligible_vintages(year: int) -> list[int]:
    return list(SurrenderVintage.objects.filter(year=year).order_by("vintage").values_list("vintage", flat=True))


def eligible_by_year(years) -> dict[int, list[int]]:
    """``eligible_vintages`` of several years in one query."""
    found: dict[int, list[int]] = {year: [] for year in years}
    for year, vintage in SurrenderVintage.objects.filter(year__in=list(found)).order_by("year", "vintage").values_list(
            "year", "vintage"):
        found[year].append(vintage)
    return found


def vintage_eligible(allowed: list[int], vintage: int) -> bool:
    return _listed(vintage) in allowed


def years_settled_by(vintages) -> dict[int, list[int]]:
    """For each vintage (registry numbering), the compliance years it settles, ascending."""
    wanted = {v: _listed(v) for v in vintages}
    years: dict[int, list[int]] = {}
    for year, vintage in SurrenderVintage.objects.filter(vintage__in=set(wanted.values())).order_by(
            "year").values_list("year", "vintage"):
        years.setdefault(vintage, []).append(year)
    return {v: years.get(listed, []) for v, listed in wanted.items()}


def check_settles(*, vintage: int, year: int, field: str) -> None:
    """Refuse a CEA ``vintage`` for an obligation of ``year`` unless the year lists it, naming the rule:
    never a later vintage (no borrowing); 2019-2024 vintages settle 2019-2024 obligations only (from
    2025 only once carried over into CEA25); otherwise the year's eligible list."""
    code = cea_code(vintage)
    if _listed(vintage) > year:
        raise DomainError(_("A %(code)s CEA cannot be surrendered for %(year)s: never a later vintage for an "
                            "earlier year.") % {"code": code, "year": year}, "later_vintage", field)
    allowed = eligible_vintages(year)
    if vintage_eligible(allowed, vintage):
        return
    names = ", ".join(cea_code(v) for v in allowed) or _("none yet")
    if 2019 <= vintage <= LAST_YEAR_OF_OLD_VINTAGES < year:
        raise DomainError(_("%(code)s cannot settle a %(year)s obligation: 2019-2024 allowances settle 2019-2024 "
                            "obligations only, and count for %(year)s only once carried over into CEA25 "
                            "(eligible for %(year)s: %(list)s).") % {"code": code, "year": year, "list": names},
                          "vintage_expired", field)
    raise DomainError(_("Vintage %(code)s is not eligible for %(year)s (eligible: %(list)s).")
                      % {"code": code, "year": year, "list": names}, "vintage_not_eligible", field)
