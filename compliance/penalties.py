"""Penalty figures: Art. 24's reference month, the market's average CEA price, the multiplier, the amount,
and which allocation cuts may still be decided. Pure reads; the four-eyes writes stay in
``compliance.services`` (failure to surrender) and ``compliance.falsification`` (Art. 22).

Date rule (DOMAIN.md section 9; the Ecological Environment Code, in force 2026-08-15): a cut of the next
allocation for failure to surrender may be decided only before 2026-08-15; on or after that day none is
decided (cuts decided earlier stand and are applied by the next allocation run). The fine for failure to
surrender (5-10 x the average price of the month before the deadline x the shortfall) stays, and so
does the cut for uncorrected falsification of emission data (50-100%, Art. 22).
"""

import datetime as dt
from decimal import Decimal

from django.utils.translation import gettext as _

from cets.common.errors import Conflict, DomainError
from cets.common.money import yuan

from .models import ComplianceCycle

# First day on which no deduction from the next allocation is decided for failure to surrender
# (DOMAIN.md section 9: the Ecological Environment Code, from 2026-08-15; the fine itself remains).
DEDUCTION_DECISIONS_END = dt.date(2026, 8, 15)


NON_SURRENDER = "non_surrender"
FALSIFICATION = "falsification"


def check_cut_allowed(kind: str, decided_on: dt.date) -> None:
    """Refuse a NEW allocation cut for failure to surrender decided on or after 2026-08-15; the cut for
    uncorrected falsification is decided on any date."""
    if kind == NON_SURRENDER and decided_on >= DEDUCTION_DECISIONS_END:
        raise Conflict(_("From %(d)s no new deduction of allowances is decided for failure to surrender "
                         "(Ecological Environment Code); the fine stands.")
                       % {"d": DEDUCTION_DECISIONS_END.isoformat()}, "deduction_no_longer_decided", "penalty")


def price_month(deadline: dt.date) -> dt.date:
    """The first day of the month before the deadline's month (Art. 24's reference month)."""
    first = deadline.replace(day=1)
    return (first - dt.timedelta(days=1)).replace(day=1)


def penalty_amount(*, average_price: Decimal, shortfall: int, multiplier: Decimal) -> Decimal:
    return yuan(Decimal(average_price) * shortfall * Decimal(multiplier))


def penalty_multiplier(cycle: ComplianceCycle, value) -> Decimal:
    try:
        multiplier = Decimal(str(value))
    except Exception:
        raise DomainError(_("The multiplier is a number between 5 and 10."), "invalid_multiplier", "multiplier")
    if not multiplier.is_finite() or not cycle.penalty_multiplier_min <= multiplier <= cycle.penalty_multiplier_max:
        raise DomainError(_("The multiplier must be between %(lo)s and %(hi)s (Art. 24).") % {
            "lo": cycle.penalty_multiplier_min.normalize(), "hi": cycle.penalty_multiplier_max.normalize()},
            "invalid_multiplier", "multiplier")
    return multiplier.quantize(Decimal("0.01"))


def market_average_price(month: dt.date) -> Decimal | None:
    """Art. 24's average transaction price of CEA in ``month``: value over volume of every CEA trade of
    every method (listed, bulk agreement, single-direction bidding) and every vintage, executed that
    calendar month (``trading.selectors.average_trade_price``). None when nothing traded: the regulator
    then enters the price from the exchange's monthly notice (never 0)."""
    from trading import selectors as trading_selectors

    return trading_selectors.average_trade_price(year=month.year, month=month.month)
