"""Session close: the day's bar and closing price, day orders withdrawn, proposals expired, surveillance.

Closing price (product setting ``vwap_listed``, DOMAIN.md section 7 [C]): the volume-weighted average
price of the day's listed trades, rounded half-up to the fen; with no listed trade, the previous
close. OHLC come from listed trades; volume and value are kept per method. The new close becomes
the product's ``previous_close``, the centre of the next day's price bands.

Idempotent: rerunning a day recomputes the same bar from the trades (the bar remembers the previous
close it started from) and withdraws nothing twice.
"""

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Max, Min, Sum
from django.utils.translation import gettext as _

from cets.common.audit import audit_record
from cets.common.money import yuan

from ..models import DailyBar, Method, Order, Product, Trade
from .bulk import bulk_expire
from .orders import order_expire
from .surveillance import surveillance_scan


@transaction.atomic
def bar_compute(*, product: Product, day: dt.date) -> DailyBar:
    """Compute (or recompute) a product's bar for ``day`` and move its previous close forward."""
    product = Product.objects.select_for_update().get(pk=product.pk)
    existing = DailyBar.objects.filter(product=product, date=day).first()
    if existing is not None:
        previous = existing.previous_close
    else:
        earlier = DailyBar.objects.filter(product=product, date__lt=day).order_by("-date").first()
        previous = earlier.close if earlier else product.previous_close
    trades = Trade.objects.filter(product=product, trade_date=day)
    by_method = {row["method"]: row for row in trades.values("method").annotate(
        q=Sum("quantity"), v=Sum("value"), n=Count("id"))}
    listed = trades.filter(method=Method.LISTED)
    extremes = listed.aggregate(high=Max("price"), low=Min("price"))
    first = listed.order_by("executed_at", "id").values_list("price", flat=True).first()
    listed_row = by_method.get(Method.LISTED)
    close = yuan(listed_row["v"] / listed_row["q"]) if listed_row else previous

    def q(method):
        return by_method.get(method, {}).get("q") or 0

    def v(method):
        return by_method.get(method, {}).get("v") or Decimal("0")

    bar, _created = DailyBar.objects.update_or_create(product=product, date=day, defaults={
        "open": first, "high": extremes["high"], "low": extremes["low"], "close": close, "previous_close": previous,
        "listed_volume": q(Method.LISTED), "listed_value": v(Method.LISTED),
        "bulk_volume": q(Method.BULK), "bulk_value": v(Method.BULK),
        "auction_volume": q(Method.AUCTION), "auction_value": v(Method.AUCTION)})
    if not DailyBar.objects.filter(product=product, date__gt=day).exists():
        Product.objects.filter(pk=product.pk).update(previous_close=close)
    audit_record(actor=None, action="trading.bar_compute", obj=bar,
                 after={"date": str(day), "close": str(close), "previous_close": str(previous),
                        "listed_volume": bar.listed_volume})
    return bar


def session_close_product(*, product: Product, day: dt.date) -> dict:
    """Close one product's day: withdraw its open day orders, compute its bar, run surveillance.

    Listed orders are day orders: what is still open at the close is withdrawn and its cash or units
    released, because tomorrow's price band is centred on the new close.
    """
    withdrawn = 0
    for order in Order.objects.filter(product=product, status__in=Order.OPEN_STATUSES).only("pk"):
        withdrawn += order_expire(order=order)
    bar = bar_compute(product=product, day=day)
    alerts = surveillance_scan(product=product, day=day)
    return {"close": str(bar.close), "volume": bar.volume, "orders_withdrawn": withdrawn, "alerts": len(alerts)}


def session_close(*, day: dt.date, now=None) -> dict:
    """Close the trading day for every active product (bulk proposals expire first)."""
    result = {"day": str(day), "bulk_expired": bulk_expire(now=now), "products": {}}
    for product in Product.objects.filter(is_active=True):
        result["products"][product.code] = session_close_product(product=product, day=day)
    return result


def close_label(bar: DailyBar) -> str:
    """How the close was found, for the public page."""
    if bar.listed_volume:
        return _("VWAP of %(n)s t of listed trades") % {"n": bar.listed_volume}
    return _("no listed trade: previous close")
