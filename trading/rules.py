"""The product's trading rules applied to one request: clock, sessions, tick, lot, size, band, fees.

Every check raises a ``DomainError`` naming the field and the rule, before anything is written.
The clock is read through ``market_now()`` only, so tests freeze it in one place (or services take
``now=``).
"""

import datetime as dt
from decimal import ROUND_DOWN, ROUND_UP, Decimal

from django.utils import timezone
from django.utils.translation import gettext as _

from cets.common import clock
from cets.common.calendar import is_trading_day
from cets.common.errors import DomainError
from cets.common.money import whole_tonnes, yuan

from .models import Method, Product

CENT = Decimal("0.01")


def market_now() -> dt.datetime:
    """The exchange's clock (aware): ``cets.common.clock`` (the wall clock unless a replay runs as of a business
    moment). Tests monkeypatch this function or pass ``now=`` to services."""
    return clock.now()


def local(now: dt.datetime) -> dt.datetime:
    return timezone.localtime(now)


def sessions_for(product: Product, method: str) -> list[tuple[dt.time, dt.time]]:
    windows = product.bulk_sessions if method == Method.BULK else product.listed_sessions
    return [(dt.time.fromisoformat(start), dt.time.fromisoformat(end)) for start, end in windows]


def in_session(product: Product, method: str, now: dt.datetime) -> bool:
    """Whether ``now`` (Beijing time) is on a trading day inside one of the method's sessions."""
    moment = local(now)
    if not is_trading_day(moment.date()):
        return False
    clock = moment.time()
    return any(start <= clock < end for start, end in sessions_for(product, method))


def session_end(product: Product, method: str, now: dt.datetime) -> dt.datetime:
    """End of the session ``now`` falls in (bulk proposals expire with it)."""
    moment = local(now)
    for start, end in sessions_for(product, method):
        if start <= moment.time() < end:
            return moment.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    raise DomainError(_("The market is closed."), "market_closed", "time")


def check_session(product: Product, method: str, now: dt.datetime) -> None:
    """Refuse a request outside the method's sessions (one calendar lookup: this runs for every order)."""
    moment = local(now)
    if not is_trading_day(moment.date()):
        raise DomainError(_("%(date)s is not a trading day (weekend or public holiday).") % {"date": moment.date()},
                          "not_trading_day", "time")
    clock = moment.time()
    if not any(start <= clock < end for start, end in sessions_for(product, method)):
        hours = ", ".join(f"{s:%H:%M}-{e:%H:%M}" for s, e in sessions_for(product, method))
        raise DomainError(_("Outside trading hours for this method (%(hours)s Beijing time).") % {"hours": hours},
                          "outside_session", "time")


def check_active(product: Product) -> None:
    if not product.is_active:
        raise DomainError(_("Product %(code)s is not open for trading.") % {"code": product.code},
                          "product_inactive", "product")


def parse_price(value) -> Decimal:
    """A price as Decimal yuan; refuses text that is not a number."""
    try:
        price = Decimal(str(value))
    except (ArithmeticError, ValueError):
        raise DomainError(_("Price must be a number of yuan."), "invalid_price", "price") from None
    if not price.is_finite():
        raise DomainError(_("Price must be a number of yuan."), "invalid_price", "price")
    return price


def check_price(product: Product, price: Decimal, method: str) -> Decimal:
    """Positive, on the tick, and inside the method's band around the previous close."""
    price = parse_price(price)
    if price <= 0:
        raise DomainError(_("Price must be greater than zero."), "invalid_price", "price")
    if price % product.tick != 0:
        raise DomainError(_("Price must be a multiple of the tick %(tick)s yuan.") % {"tick": product.tick},
                          "off_tick", "price")
    low, high = price_band(product, method)
    if not low <= price <= high:
        raise DomainError(
            _("Price %(price)s is outside the band %(low)s-%(high)s (previous close %(close)s).")
            % {"price": price, "low": low, "high": high, "close": product.previous_close},
            "outside_band", "price")
    return price


def price_band(product: Product, method: str) -> tuple[Decimal, Decimal]:
    """Band limits, rounded inwards to the tick so a price on the limit is always allowed."""
    pct = product.bulk_band_pct if method == Method.BULK else product.listed_band_pct
    close = product.previous_close
    low = (close * (100 - pct) / 100 / product.tick).to_integral_value(ROUND_UP) * product.tick
    high = (close * (100 + pct) / 100 / product.tick).to_integral_value(ROUND_DOWN) * product.tick
    return low.quantize(CENT), high.quantize(CENT)


def check_quantity(product: Product, value, method: str) -> int:
    """Lot multiple; listed orders below the bulk minimum, bulk proposals at or above it."""
    quantity = whole_tonnes(value)
    if quantity % product.lot:
        raise DomainError(_("Quantity must be a multiple of the lot %(lot)s t.") % {"lot": product.lot},
                          "off_lot", "quantity")
    if method == Method.LISTED and quantity >= product.bulk_min_quantity:
        raise DomainError(_("A listed order must be smaller than %(n)s t; use bulk agreement trading.")
                          % {"n": product.bulk_min_quantity}, "over_listed_limit", "quantity")
    if method == Method.BULK and quantity < product.bulk_min_quantity:
        raise DomainError(_("A bulk agreement needs at least %(n)s t.") % {"n": product.bulk_min_quantity},
                          "under_bulk_minimum", "quantity")
    return quantity


def to_fen(price: Decimal) -> int:
    return int(price * 100)


def from_fen(fen: int) -> Decimal:
    return (Decimal(fen) / 100).quantize(CENT)


def fee(product: Product, value: Decimal) -> Decimal:
    """The fee one side pays on a trade's value: the rate, truncated to the fen (never more)."""
    return (value * product.fee_rate).quantize(CENT, rounding=ROUND_DOWN)


def freeze_needed(product: Product, price: Decimal, quantity: int) -> Decimal:
    """Cash a buyer must freeze: value plus the fee rounded up.

    Fees charged per fill are truncated, and floor(a) + ceil(b) <= ceil(a + b), so what stays frozen
    for the open part always covers every later fill's value and fee: a buyer can never be overdrawn.
    """
    value = price * quantity
    return yuan(value + (value * product.fee_rate).quantize(CENT, rounding=ROUND_UP))
