"""Decimal yuan and whole tonnes: one place for rounding, so every door rounds alike."""

from decimal import ROUND_HALF_UP, Decimal

from django.utils.translation import gettext as _

from .errors import DomainError

FEN = Decimal("0.01")


def yuan(value) -> Decimal:
    """Quantize an amount to fen, half-up (the banking convention for CNY amounts)."""
    return Decimal(str(value)).quantize(FEN, rounding=ROUND_HALF_UP)


def whole_tonnes(value, *, field: str = "quantity", max_value: int = 10**13) -> int:
    """Validate a quantity of allowances or credits: a positive whole number of tonnes.

    Accepts ints and integral strings/Decimals; refuses zero, negatives, fractions, booleans and
    absurd sizes (more than the whole national cap many times over).
    """
    if isinstance(value, bool):
        raise DomainError(_("Quantity must be a whole number of tonnes."), "invalid_quantity", field)
    try:
        dec = Decimal(str(value))
    except Exception:
        raise DomainError(_("Quantity must be a whole number of tonnes."), "invalid_quantity", field)
    if not dec.is_finite() or dec != dec.to_integral_value():
        raise DomainError(_("Quantity must be a whole number of tonnes."), "invalid_quantity", field)
    qty = int(dec)
    if qty <= 0:
        raise DomainError(_("Quantity must be greater than zero."), "invalid_quantity", field)
    if qty > max_value:
        raise DomainError(_("Quantity is larger than any holding can be."), "invalid_quantity", field)
    return qty
