"""Delivery versus payment: one trade, its units and its cash, in the caller's transaction.

The buyer always pays from cash frozen beforehand (by its order, bid or proposal); the seller's units
were reserved beforehand. Either both legs happen or, with the transaction, neither does.
"""

from decimal import Decimal

from django.db.models import Sum
from django.utils.translation import gettext as _

from cets.common.errors import DomainError

from .. import delivery
from ..models import CashAccount, CashJournal, ParticipantRule, Product, Trade, TradingAccount
from ..rules import fee, local
from .cash import AVAILABLE, FROZEN, journal_post, system_account


def trade_settle(*, product: Product, method: str, buyer: TradingAccount, seller: TradingAccount, price: Decimal,
                 quantity: int, reservation, now, actor, buy_order=None, sell_order=None,
                 cash: dict[int, CashAccount] | None = None, fees: CashAccount | None = None,
                 post=None) -> Trade:
    """Record a trade and settle it: units from the seller's reservation, cash from the buyer's frozen.

    A batch passes what it holds for the whole transaction: ``cash`` (trading account id -> cash
    row; missing rows are read and added), ``fees`` and ``post`` (its journal buffer).
    """
    value = price * quantity
    buyer_fee = fee(product, value)
    seller_fee = fee(product, value)
    trade = Trade.objects.create(
        product=product, method=method, buyer=buyer, seller=seller, buy_order=buy_order, sell_order=sell_order,
        price=price, quantity=quantity, value=value, buyer_fee=buyer_fee, seller_fee=seller_fee,
        trade_date=local(now).date(), executed_at=now)
    trade.registry_transaction = delivery.units_deliver(reservation=reservation, quantity=quantity, buyer=buyer,
                                                        reference=f"trade {trade.pk}")
    Trade.objects.filter(pk=trade.pk).update(registry_transaction=trade.registry_transaction)
    cash = {} if cash is None else cash
    missing = {buyer.pk, seller.pk} - cash.keys()
    if missing:
        cash.update({c.account_id: c for c in CashAccount.objects.filter(account_id__in=missing)})
    (post or journal_post)(kind=CashJournal.Kind.SETTLEMENT, actor=actor, trade=trade,
                           memo=f"{product.code} {method}",
                           legs=[(cash[buyer.pk], FROZEN, -(value + buyer_fee)),
                                 (cash[seller.pk], AVAILABLE, value - seller_fee),
                                 (fees or system_account(CashAccount.Kind.FEES), AVAILABLE, buyer_fee + seller_fee)])
    return trade


def sellable(account: TradingAccount, product: Product, now) -> int:
    """Units the account may sell now: available in the registry less what it bought today (T+1)."""
    _total, available = delivery.holding(account, product)
    return max(0, available - delivery.bought_on(account, product, local(now).date()))


def check_sellable(account: TradingAccount, product: Product, quantity: int, now) -> None:
    can = sellable(account, product, now)
    if quantity > can:
        bought = delivery.bought_on(account, product, local(now).date())
        raise DomainError(
            _("Only %(can)s t can be sold now (units bought today, %(bought)s t, are sellable from the next "
              "trading day; reserved or frozen units cannot be sold).") % {"can": can, "bought": bought},
            "insufficient_units", "quantity")


def check_position_limit(account: TradingAccount, product: Product, buying: int, order=None,
                         rules: dict | None = None) -> None:
    """Refuse a purchase that could take the holding over the participant kind's position limit.

    Counts what is held, what open buy orders and bids could still bring in, and this request
    (``order``, if already stored, is counted once, as ``buying``). ``rules``: a per-transaction
    cache of the product's rules by participant kind (a batch reads each kind's rule once).
    """
    kind = account.participant.kind
    if rules is not None and kind in rules:
        rule = rules[kind]
    else:
        rule = ParticipantRule.objects.filter(product=product, participant_kind=kind).first()
        if rules is not None:
            rules[kind] = rule
    if rule is None or rule.position_limit is None:
        return
    total, _available = delivery.holding(account, product)
    pending = (account.orders.filter(product=product, side="BUY", status__in=("open", "partial"))
               .exclude(pk=getattr(order, "pk", None)).aggregate(q=Sum("open_quantity"))["q"] or 0)
    pending += (account.auction_bids.filter(auction__product=product, status="open")
                .aggregate(q=Sum("quantity"))["q"] or 0)
    if total + pending + buying > rule.position_limit:
        raise DomainError(
            _("Position limit: holding %(total)s t plus open purchases %(pending)s t plus %(q)s t exceeds the "
              "limit of %(limit)s t.") % {"total": total, "pending": pending, "q": buying,
                                         "limit": rule.position_limit},
            "position_limit", "quantity")
