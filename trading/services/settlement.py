"""Delivery versus payment: one trade, its units and its cash, in the caller's transaction.

The buyer always pays from cash frozen beforehand (by its order, bid or proposal); the seller's units
were reserved beforehand. Either both legs happen or, with the transaction, neither does.
"""

from decimal import Decimal

from django.db.models import Sum
from django.utils.translation import gettext as _

from cets.common.errors import DomainError
from cets.common.rows import update_rows

from .. import delivery
from ..models import CashAccount, CashJournal, Order, ParticipantRule, Product, Trade, TradingAccount
from ..rules import fee, local
from .cash import AVAILABLE, FROZEN, journal_post, system_account


class SettlementBuffer:
    """The trades of one batch of orders, stored and delivered together before the batch commits.

    The registry work of a batch (a reservation per new sell order, a delivery per trade) is done by one
    ``delivery.units_settle`` call in ``flush``, inside the batch's transaction: delivery versus payment
    still commits with the match or not at all. Until then the batch checks what the registry will
    check: a seller's units against what it could sell when the batch first needed them less what the
    batch's sell orders took (``sellable``), a buyer's registry account before each trade.
    """

    def __init__(self, product: Product, now):
        self.product, self.now = product, now
        self.trades: list[tuple[Trade, object]] = []
        self.reservations: dict[int, object] = {}  # sell order id -> its reservation, made at flush
        self.sellable: dict[int, int] = {}  # trading account id -> units it may still sell in this batch

    def mark(self):
        return len(self.trades), dict(self.reservations), dict(self.sellable)

    def rollback(self, mark) -> None:
        """Forget what was added since ``mark`` (its savepoint was rolled back)."""
        del self.trades[mark[0]:]
        self.reservations, self.sellable = dict(mark[1]), dict(mark[2])

    def reserve(self, *, account: TradingAccount, order, quantity: int, now) -> None:
        """Check and set aside ``quantity`` units of a new sell order (reserved at flush)."""
        if account.pk not in self.sellable:
            delivery.check_can_send(account)
            self.sellable[account.pk] = sellable(account, self.product, now)
        check_sellable(account, self.product, quantity, now, can=self.sellable[account.pk])
        self.sellable[account.pk] -= quantity
        self.reservations[order.pk] = delivery.reservation_new(account=account, quantity=quantity,
                                                               reference=f"trading order {order.pk}")

    def reservation_of(self, order):
        """The reservation a sell order delivers from: made in this batch, or earlier (by reference)."""
        return self.reservations.get(order.pk) or delivery.reservation_ref(order)

    def bought(self, account: TradingAccount) -> int:
        """Tonnes the account bought in this batch (not delivered yet)."""
        return sum(trade.quantity for trade, _reservation in self.trades if trade.buyer_id == account.pk)

    def flush(self) -> None:
        if not self.trades and not self.reservations:
            return
        trades = Trade.objects.bulk_create([trade for trade, _reservation in self.trades])
        transactions = delivery.units_settle(
            product=self.product, reserve=list(self.reservations.values()), now=self.now,
            deliveries=[delivery.Delivery(reservation=reservation, to_account_id=trade.buyer.registry_account_id,
                                          quantity=trade.quantity, reference=f"trade {trade.pk}")
                        for trade, reservation in self.trades])
        for trade, transaction in zip(trades, transactions, strict=True):
            trade.registry_transaction = transaction
        update_rows(trades, ["registry_transaction"])
        update_rows([Order(pk=pk, reservation_id=r.pk) for pk, r in self.reservations.items()], ["reservation"])
        self.trades, self.reservations = [], {}


def trade_settle(*, product: Product, method: str, buyer: TradingAccount, seller: TradingAccount, price: Decimal,
                 quantity: int, reservation, now, actor, buy_order=None, sell_order=None,
                 cash: dict[int, CashAccount] | None = None, fees: CashAccount | None = None,
                 post=None, buffer: SettlementBuffer | None = None) -> Trade:
    """Record a trade and settle it: units from the seller's reservation, cash from the buyer's frozen.

    A batch passes what it holds for the whole transaction: ``cash`` (trading account id -> cash
    row; missing rows are read and added), ``fees`` and ``post`` (its journal buffer), and ``buffer``,
    which stores the trade and delivers its units when the batch flushes.
    """
    value = price * quantity
    buyer_fee = fee(product, value)
    seller_fee = fee(product, value)
    trade = Trade(
        product=product, method=method, buyer=buyer, seller=seller, buy_order=buy_order, sell_order=sell_order,
        price=price, quantity=quantity, value=value, buyer_fee=buyer_fee, seller_fee=seller_fee,
        trade_date=local(now).date(), executed_at=now)
    if buffer is None:
        trade.save()
        trade.registry_transaction = delivery.units_deliver(reservation=reservation, quantity=quantity,
                                                            buyer=buyer, reference=f"trade {trade.pk}", now=now)
        Trade.objects.filter(pk=trade.pk).update(registry_transaction=trade.registry_transaction)
    else:
        delivery.check_can_receive(buyer)
        buffer.trades.append((trade, reservation))
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


def check_sellable(account: TradingAccount, product: Product, quantity: int, now, can: int | None = None) -> None:
    """Refuse selling more than ``sellable`` (or ``can``, when the caller tracks it)."""
    can = sellable(account, product, now) if can is None else can
    if quantity > can:
        bought = delivery.bought_on(account, product, local(now).date())
        raise DomainError(
            _("Only %(can)s t can be sold now (units bought today, %(bought)s t, are sellable from the next "
              "trading day; reserved or frozen units cannot be sold).") % {"can": can, "bought": bought},
            "insufficient_units", "quantity")


def check_position_limit(account: TradingAccount, product: Product, buying: int, order=None,
                         rules: dict | None = None, unstored=None) -> None:
    """Refuse a purchase that could take the holding over the participant kind's position limit.

    Counts what is held, what open buy orders and bids could still bring in, and this request
    (``order``, if already stored, is counted once, as ``buying``). ``rules``: a per-transaction
    cache of the product's rules by participant kind (a batch reads each kind's rule once);
    ``unstored(account)``: (tonnes bought, change in open buy tonnes) of the caller's batch that the
    database does not show yet.
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
    bought, opened = unstored(account) if unstored else (0, 0)
    total += bought
    pending = opened + (account.orders.filter(product=product, side="BUY", status__in=("open", "partial"))
               .exclude(pk=getattr(order, "pk", None)).aggregate(q=Sum("open_quantity"))["q"] or 0)
    pending += (account.auction_bids.filter(auction__product=product, status="open")
                .aggregate(q=Sum("quantity"))["q"] or 0)
    if total + pending + buying > rule.position_limit:
        raise DomainError(
            _("Position limit: holding %(total)s t plus open purchases %(pending)s t plus %(q)s t exceeds the "
              "limit of %(limit)s t.") % {"total": total, "pending": pending, "q": buying,
                                         "limit": rule.position_limit},
            "position_limit", "quantity")
