"""Art. 24 penalty figures: the reference month, the market's average CEA price, the multiplier, the amount
and the end of deduction decisions. Pure reads; the four-eyes writes stay in ``compliance.services``."""

import datetime as dt
from decimal import Decimal

from django.utils.translation import gettext as _

from cets.common.errors import DomainError
from cets.common.money import yuan

from .models import ComplianceCycle

# First day on which no deduction from the next allocation is decided for failure to surrender
# (DOMAIN.md section 9: the Ecological Environment Code, from 2026-08-15; the fine itself remains).
DEDUCTION_DECISIONS_END = dt.date(2026, 8, 15)


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
