"""Market surveillance: alerts into the regulators' queue, each with the evidence that raised it.

Rules (thresholds are product data):
* far from market: a resting order priced more than ``far_from_market_pct`` from the reference
  (the day's last listed trade, else the previous close), raised when the order is placed;
* wash trade: a trade whose buyer and seller belong to the same related group (common control);
* near-close concentration: in the last ``close_window_minutes`` of the listed session one account
  bought (or sold) more than ``close_concentration_pct`` of the listed volume.
The scans are idempotent: an alert is unique per rule, account, day and subject.
"""

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from cets.common.audit import audit_record
from cets.common.errors import DomainError, Forbidden

from ..models import Alert, Method, Order, Product, Trade
from ..rules import local, sessions_for


def _raise(*, kind: str, product: Product, account_id: int, day, summary: str, evidence: dict) -> Alert:
    alert, _created = Alert.objects.get_or_create(
        kind=kind, product=product, account_id=account_id, trade_date=day, summary=summary[:300],
        defaults={"evidence": evidence})
    return alert


def reference_price(product: Product, day) -> Decimal:
    last = (Trade.objects.filter(product=product, trade_date=day, method=Method.LISTED)
            .order_by("-executed_at", "-id").values_list("price", flat=True).first())
    return last or product.previous_close


def check_far_from_market(order: Order, now, reference: Decimal | None = None) -> Alert | None:
    """Raise an alert if a resting order is priced far from the market (spoofing, layering, fat finger).

    ``reference``: the reference price if the caller already knows it (a batch tracks its own trades).
    """
    product = order.product
    day = local(now).date()
    ref = reference or reference_price(product, day)
    gap = abs(order.price - ref) / ref * 100
    if gap <= product.far_from_market_pct:
        return None
    return _raise(kind=Alert.Kind.FAR_FROM_MARKET, product=product, account_id=order.account_id, day=day,
                  summary=f"order #{order.pk} {order.side} {order.quantity} t @ {order.price}",
                  evidence={"order": order.pk, "price": str(order.price), "reference_price": str(ref),
                            "gap_pct": str(gap.quantize(Decimal("0.01"))), "quantity": order.quantity,
                            "threshold_pct": str(product.far_from_market_pct)})


@transaction.atomic
def surveillance_scan(*, product: Product, day: dt.date) -> list[Alert]:
    """Run the end-of-day rules over a product's trades of ``day``; returns the alerts raised."""
    alerts = []
    trades = Trade.objects.filter(product=product, trade_date=day).select_related(
        "buyer__participant", "seller__participant")
    for trade in trades:
        group = trade.buyer.participant.related_group
        if group and group == trade.seller.participant.related_group:
            evidence = {"trade": trade.pk, "group": group, "buyer": trade.buyer.number, "seller": trade.seller.number,
                        "quantity": trade.quantity, "price": str(trade.price), "method": trade.method}
            for account_id in (trade.buyer_id, trade.seller_id):
                alerts.append(_raise(kind=Alert.Kind.WASH_TRADE, product=product, account_id=account_id, day=day,
                                     summary=f"trade #{trade.pk} within group {group}", evidence=evidence))
    alerts += _close_concentration(product, day)
    return alerts


def _close_concentration(product: Product, day: dt.date) -> list[Alert]:
    windows = sessions_for(product, Method.LISTED)
    if not windows:
        return []
    close = timezone.make_aware(dt.datetime.combine(day, windows[-1][1]))
    start = close - dt.timedelta(minutes=product.close_window_minutes)
    listed = Trade.objects.filter(product=product, trade_date=day, method=Method.LISTED,
                                  executed_at__gte=start, executed_at__lt=close)
    total = listed.aggregate(q=Sum("quantity"))["q"] or 0
    if not total:
        return []
    alerts = []
    for side, field in (("buy", "buyer"), ("sell", "seller")):
        for row in listed.values(field).annotate(q=Sum("quantity")):
            share = Decimal(row["q"]) * 100 / total
            if share > product.close_concentration_pct:
                alerts.append(_raise(
                    kind=Alert.Kind.CLOSE_CONCENTRATION, product=product, account_id=row[field], day=day,
                    summary=f"{side} {row['q']} t of {total} t in the last {product.close_window_minutes} min",
                    evidence={"side": side, "quantity": row["q"], "window_total": total,
                              "share_pct": str(share.quantize(Decimal("0.01"))), "window_start": start.isoformat(),
                              "window_end": close.isoformat(),
                              "threshold_pct": str(product.close_concentration_pct)}))
    return alerts


@transaction.atomic
def alert_review(*, actor, alert: Alert, status: str, note: str = "") -> Alert:
    """A regulator escalates or dismisses an alert (national regulator or exchange staff)."""
    if getattr(actor, "role", None) not in ("national_regulator", "exchange_staff") and not actor.is_superuser:
        raise Forbidden(_("Only the national regulator and exchange staff review surveillance alerts."))
    if status not in (Alert.Status.ESCALATED, Alert.Status.DISMISSED):
        raise DomainError(_("An alert is escalated or dismissed."), "invalid_status", "status")
    before = {"status": alert.status}
    alert.status, alert.reviewed_by, alert.review_note = status, actor, note[:500]
    alert.save(update_fields=["status", "reviewed_by", "review_note"])
    audit_record(actor=actor, action="trading.alert_review", obj=alert, before=before, after={"status": status})
    return alert
