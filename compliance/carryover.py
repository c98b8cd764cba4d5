"""The carry-over (结转) quota and the split of a carried quantity over vintages: pure Python, no database.

Rule (2023-2024 power plan, Annex 5 [A]; sectors-2025.md section 5): a holder's quota is
T = 10,000 + 1.5 x max(0, net sales of 2019-2024 vintages from 2024-01-01 to 2025-12-31), capped at its
2019-2024 holdings at the cut-off (2025-12-31 23:59, frozen included, pending surrenders excluded) and
floored to whole tonnes. Example: net sales 200,000 t and ample holdings give 310,000 t.

Choices where the text is silent (listed in docs/carry-over.md):
- Net sales count the exchange's trades only (listed, bulk and auction; sells minus buys), as the scheme
  rewards supplying the market; transfers between registry accounts outside the exchange do not count.
- The oldest vintage is carried first (CEA19-20, then 2021, ...), so the units closest to lapsing go.
"""

from decimal import ROUND_FLOOR, Decimal


def quota(*, net_sales: int, holdings: int, base: int = 10_000, multiplier: Decimal = Decimal("1.5")) -> int:
    """T = base + multiplier x max(0, net_sales), capped at ``holdings`` (never below 0), floored."""
    uncapped = (Decimal(base) + multiplier * max(0, int(net_sales))).to_integral_value(rounding=ROUND_FLOOR)
    return max(0, min(int(uncapped), int(holdings)))


def split_oldest_first(available: dict[int, int], quantity: int) -> list[tuple[int, int]]:
    """Take ``quantity`` from ``{vintage: available units}`` oldest vintage first: ``[(vintage, units), ...]``.

    Raises ValueError when the vintages hold less than ``quantity`` together.
    """
    parts, left = [], int(quantity)
    for vintage in sorted(available):
        take = min(left, max(0, available[vintage]))
        if take:
            parts.append((vintage, take))
            left -= take
        if left == 0:
            return parts
    raise ValueError(f"{left} t short")
