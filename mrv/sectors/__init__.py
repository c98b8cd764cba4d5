"""Emission accounting per sector: one pure module per sector with ``calculate(body, params)``.

``Sector.accounting_module`` (entities) names the module, so a new sector is a row and a module
(docs/adding-a-sector.md); nothing here lists the sectors.
"""

from importlib import import_module
from types import ModuleType

from ..accounting import AccountingError


def accounting_for(sector, year: int | None = None) -> ModuleType:
    """The accounting module of an active sector, given its code or its ``Sector`` row (no query: for bulk
    callers that hold the rows). ``year``: refused before the sector's first data year."""
    from entities.models import Sector

    if not isinstance(sector, Sector):
        code = sector
        sector = Sector.objects.filter(code=code, is_active=True).first() if isinstance(code, str) else None
        if sector is None:
            known = ", ".join(Sector.objects.filter(is_active=True).values_list("code", flat=True))
            raise AccountingError(f"Unknown sector {code!r}; known: {known}.", "invalid_choice", "sector")
    if year is not None and year < sector.first_year:
        raise AccountingError(f"{sector.code} is accounted in the national ETS from data year {sector.first_year}.",
                              "before_first_year", "year")
    try:
        module = import_module(sector.accounting_module)
    except ImportError as exc:
        raise AccountingError(f"The accounting module of {sector.code} cannot be loaded.", "misconfigured",
                              "sector") from exc
    if not callable(getattr(module, "calculate", None)):
        raise AccountingError(f"The accounting module of {sector.code} has no calculate().", "misconfigured",
                              "sector")
    return module


def calculate(sector, year: int, body: dict):
    """The sector's calculation of ``body`` with the parameters of data ``year`` (a ``SectorResult``)."""
    from ..selectors import parameter_set

    return accounting_for(sector, year).calculate(body, parameter_set(year))
