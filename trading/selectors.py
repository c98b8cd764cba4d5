"""Reads of the trading app: public market data, a participant's own records, regulators' views."""

import datetime as dt
from decimal import Decimal

from django.db import connection
from django.db.models import Count, Q, QuerySet, Sum

from cets.common.errors import NotFound
from cets.common.money import yuan
from registry import selectors as registry_selectors

from . import delivery
from .engine import TAKE_LEVELS
from .models import (
    Alert,
    Auction,
    BulkProposal,
    CashAccount,
    CashJournal,
    CashPosting,
    DailyBar,
    Order,
    ParticipantRule,
    Product,
    Trade,
    TradingAccount,
)
from .services.participants import account_of_user


def products_public() -> QuerySet[Product]:
    return Product.objects.filter(is_active=True)


def product_get(code: str) -> Product:
    product = Product.objects.filter(code=code).first()
    if product is None:
        raise NotFound("No such product.", field="product")
    return product


def depth(product: Product, levels: int = TAKE_LEVELS) -> dict:
    """The public best ``levels`` price levels per side (open quantity and order count per price).

    Read from the open orders in the database (the same rows the in-memory book is rebuilt from), so
    a reader never touches a book another thread is changing.
    """
    open_orders = Order.objects.filter(product=product, status__in=Order.OPEN_STATUSES, open_quantity__gt=0)
    out = {}
    for side, key, ordering in (("BUY", "bids", "-price"), ("SELL", "asks", "price")):
        rows = (open_orders.filter(side=side).values("price")
                .annotate(quantity=Sum("open_quantity"), orders=Count("id")).order_by(ordering)[:levels])
        out[key] = [{"price": r["price"], "quantity": r["quantity"], "orders": r["orders"]} for r in rows]
    return out


def listings(product: Product, side: str, levels: int = TAKE_LEVELS) -> QuerySet[Order]:
    """Open listings a taker may choose from: those at the best ``levels`` prices of a side."""
    open_orders = Order.objects.filter(product=product, side=side, status__in=Order.OPEN_STATUSES,
                                       open_quantity__gt=0)
    ordering = "-price" if side == "BUY" else "price"
    prices = list(open_orders.values_list("price", flat=True).distinct().order_by(ordering)[:levels])
    return open_orders.filter(price__in=prices).order_by(ordering, "sequence").select_related("product")


def bars(product: Product, limit: int = 250) -> list[DailyBar]:
    """The latest ``limit`` daily bars, oldest first (for the chart and the history table)."""
    return list(reversed(DailyBar.objects.filter(product=product).order_by("-date")[:limit]))


def last_trades(product: Product, limit: int = 20) -> QuerySet[Trade]:
    return Trade.objects.filter(product=product).order_by("-executed_at", "-id")[:limit]


# ------------------------------------------------------------------ a participant's own records

def my_account(user) -> TradingAccount:
    account = account_of_user(user)
    if account is None:
        raise NotFound("You have no trading account.", field="account")
    return account


def orders_for(user) -> QuerySet[Order]:
    """Orders the user may see: its own account's; exchange staff and the national regulator: all."""
    qs = Order.objects.select_related("product", "account")
    if _sees_all(user):
        return qs
    account = account_of_user(user)
    return qs.filter(account=account) if account else qs.none()


def trades_for(user) -> QuerySet[Trade]:
    qs = Trade.objects.select_related("product", "buyer", "seller")
    if _sees_all(user):
        return qs
    account = account_of_user(user)
    return qs.filter(Q(buyer=account) | Q(seller=account)) if account else qs.none()


def proposals_for(user) -> QuerySet[BulkProposal]:
    qs = BulkProposal.objects.select_related("product", "initiator", "counterparty")
    if _sees_all(user):
        return qs
    account = account_of_user(user)
    return qs.filter(Q(initiator=account) | Q(counterparty=account)) if account else qs.none()


def auctions_visible() -> QuerySet[Auction]:
    """Auctions are announced publicly (quantity, reserve price, window, pricing rule)."""
    return Auction.objects.select_related("product")


def statement(account: TradingAccount) -> QuerySet[CashPosting]:
    """The account's cash postings in time order (its statement)."""
    return (CashPosting.objects.filter(cash_account__account=account).select_related("journal")
            .order_by("journal_id", "id"))


def _sees_all(user) -> bool:
    return getattr(user, "role", None) in ("exchange_staff", "national_regulator")


# ------------------------------------------------------------------ regulators

def alerts_visible_to(user) -> QuerySet[Alert]:
    """Surveillance alerts: the national regulator and exchange staff see every alert."""
    qs = Alert.objects.select_related("product", "account__participant")
    return qs if _sees_all(user) else qs.none()


def large_holders(product: Product) -> list[dict]:
    """Participants holding at least their kind's large-holder threshold of a product (the report)."""
    rules = {r.participant_kind: r for r in ParticipantRule.objects.filter(product=product)}
    instrument = delivery.instrument_for(product)
    out = []
    for account in TradingAccount.objects.select_related("participant", "registry_account"):
        rule = rules.get(account.participant.kind)
        if rule is None:
            continue
        total = registry_selectors.balance(account.registry_account, instrument).total
        if total >= rule.large_holder_threshold:
            out.append({"account": account.number, "participant": account.participant.name,
                        "kind": account.participant.kind, "holding": total,
                        "threshold": rule.large_holder_threshold,
                        "position_limit": rule.position_limit})
    return sorted(out, key=lambda row: -row["holding"])


def cash_check() -> list[str]:
    """Prove the cash ledger: every journal balances, cached balances equal their postings, none negative."""
    problems = []
    # Sums are quantized in Python: SQLite adds decimals as floats.
    problems += [f"journal #{row['journal']} does not balance" for row in
                 CashPosting.objects.values("journal").annotate(s=Sum("amount")) if yuan(row["s"]) != 0]
    sums = {(row["cash_account"], row["bucket"]): yuan(row["s"]) for row in
            CashPosting.objects.values("cash_account", "bucket").annotate(s=Sum("amount"))}
    for acc in CashAccount.objects.filter(kind=CashAccount.Kind.PARTICIPANT):
        for bucket in ("available", "frozen"):
            posted = sums.get((acc.pk, bucket), Decimal("0"))
            cached = getattr(acc, bucket)
            if posted != cached:
                problems.append(f"cash account #{acc.pk} {bucket}: cached {cached}, journal {posted}")
            if cached < 0:
                problems.append(f"cash account #{acc.pk} {bucket} is negative: {cached}")
    frozen_orders = (Order.objects.filter(status__in=Order.OPEN_STATUSES).values("account__cash")
                     .annotate(s=Sum("frozen_amount")))
    for row in frozen_orders:
        acc = CashAccount.objects.get(pk=row["account__cash"])
        if yuan(row["s"]) > acc.frozen:
            problems.append(f"cash account #{acc.pk}: open orders hold {row['s']}, frozen is {acc.frozen}")
    if CashJournal.objects.filter(postings__isnull=True).exists():
        problems.append("a journal entry has no postings")
    return problems


def average_trade_price(*, year: int, month: int) -> Decimal | None:
    """The month's average transaction price of CEA, for Art. 24 penalties: total value over total
    volume of every trade (listed, bulk, auction; every CEA product) whose trade date falls in the month.

    None when no CEA traded that month (the caller asks for a manual price, never 0).
    """
    agg = Trade.objects.filter(trade_date__year=year, trade_date__month=month).aggregate(
        value=Sum("value"), volume=Sum("quantity"))
    if not agg["volume"]:
        return None
    return yuan(agg["value"] / agg["volume"])


def net_sales_by_registry_account(*, first_vintage: int, last_vintage: int, start: dt.date,
                                  end: dt.date) -> dict[int, int]:
    """Tonnes sold minus tonnes bought on the exchange per registry account, for products delivering CEAs of
    ``first_vintage..last_vintage`` traded from ``start`` to ``end`` (trade dates, inclusive), in one grouped
    query: every method counts (listed, bulk, auction), as the carry-over formula's net sales (S5 Annex 5)."""
    trade, product, account = (Trade._meta.db_table, Product._meta.db_table, TradingAccount._meta.db_table)
    sql = f"""
        SELECT ta.registry_account_id, SUM(x.q) FROM (
          SELECT t.seller_id AS account_id, t.quantity AS q FROM {trade} t JOIN {product} p ON p.id = t.product_id
          WHERE p.vintage BETWEEN %s AND %s AND t.trade_date BETWEEN %s AND %s
          UNION ALL
          SELECT t.buyer_id, -t.quantity FROM {trade} t JOIN {product} p ON p.id = t.product_id
          WHERE p.vintage BETWEEN %s AND %s AND t.trade_date BETWEEN %s AND %s) x
        JOIN {account} ta ON ta.id = x.account_id GROUP BY ta.registry_account_id"""
    params = [first_vintage, last_vintage, start, end] * 2
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return {account_id: int(n) for account_id, n in cur.fetchall()}
