"""Listed agreement trading (挂牌协议): place, take, cancel and amend orders.

Each use case runs in one transaction that holds the product's lock: rules checked, cash frozen or
units reserved, the order stored, the engine matched, every fill settled (delivery versus payment),
the book version bumped. If anything fails the whole transaction rolls back and the in-memory book
is rebuilt from the database on next use (``trading.books``): an order is never half-placed or lost.

``orders_place_batch`` places many orders of one product in one transaction (the order entry path
at peak load, see its docstring); ``order_place`` is the same code for one order.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from cets.common.audit import audit_record, audit_record_many
from cets.common.errors import Conflict, DomainError
from cets.common.locks import lock_rows
from cets.common.rows import allocate_ids, update_rows

from .. import delivery, rules
from ..books import book_for_update, book_reload, product_lock
from ..engine import EngineError, ListingNotTakeable, SelfTrade, UnknownOrder
from ..engine import Order as EngineOrder
from ..engine import Side as EngineSide
from ..models import CashAccount, Method, Order, Product, Side, TradingAccount
from ..rules import check_active, check_price, check_quantity, check_session, freeze_needed, from_fen, local, to_fen
from .cash import JournalBuffer, cash_freeze, cash_lock, cash_release, lock_errors_as_busy, system_account
from .participants import check_acts_for
from .settlement import SettlementBuffer, check_position_limit, check_sellable, trade_settle
from .surveillance import check_far_from_market, reference_price


def _status(order: Order) -> str:
    if order.open_quantity == 0:
        return Order.Status.FILLED
    return Order.Status.PARTIAL if order.filled_quantity else Order.Status.OPEN


def _reserve_or_freeze(*, actor, account: TradingAccount, product: Product, side: str, price: Decimal,
                       quantity: int, now, order: Order | None = None, cash: CashAccount | None = None,
                       rules: dict | None = None, post=None, buffer: SettlementBuffer | None = None,
                       pending=None) -> tuple[Decimal, object]:
    """Freeze the buyer's cash or reserve the seller's units for ``quantity`` at ``price``.

    ``cash``: the buyer's cash row if the caller already holds it locked (else it is locked here);
    ``rules``, ``post`` and ``buffer``: a batch's rule cache, journal and settlement buffers (with a
    buffer the units are reserved when it flushes, and no reservation is returned); ``pending``: the
    batch's own count of what the stored orders do not show (see ``check_position_limit``).
    """
    if side == Side.BUY:
        check_position_limit(account, product, quantity, order, rules=rules, unstored=pending)
        if buffer is not None:
            delivery.check_can_receive(account)
        amount = freeze_needed(product, price, quantity)
        cash_freeze(cash=cash or cash_lock(account), amount=amount, actor=actor, memo=_("Order"), order=order,
                    post=post)
        return amount, None
    if buffer is not None:
        buffer.reserve(account=account, order=order, quantity=quantity, now=now)
        return Decimal("0"), None
    check_sellable(account, product, quantity, now)
    reservation = delivery.units_reserve(account=account, product=product, quantity=quantity,
                                         reference=f"trading order {order.pk}", day=local(now).date())
    return Decimal("0"), reservation


MAKER_FIELDS = ["filled_quantity", "open_quantity", "status", "frozen_amount", "updated_at"]


def _apply_fills(*, product: Product, fills, orders: dict[int, Order], now, actor,
                 cash: dict[int, CashAccount] | None = None, fees: CashAccount | None = None, post=None,
                 buffer: SettlementBuffer | None = None) -> list:
    """Settle the engine's fills; update every order touched (fills only ever reduce open quantity).

    ``orders`` (by id) and ``cash`` (by trading account id) hold rows already read in this
    transaction; makers not in ``orders`` are read in one query with what settlement needs.
    ``fees``, ``post`` and ``buffer``: see ``trade_settle``.
    """
    _load_makers(fills, orders)
    cash = {} if cash is None else cash
    trades = []
    for fill in fills:
        buy, sell = orders[fill.buy_order_id], orders[fill.sell_order_id]
        price = from_fen(fill.price_fen)
        trade = trade_settle(product=product, method=Method.LISTED, buyer=buy.account, seller=sell.account,
                             price=price, quantity=fill.quantity,
                             reservation=buffer.reservation_of(sell) if buffer else sell.reservation, now=now,
                             actor=actor, buy_order=buy, sell_order=sell, cash=cash, fees=fees, post=post,
                             buffer=buffer)
        trades.append(trade)
        for order in (buy, sell):
            order.filled_quantity += fill.quantity
        buy.frozen_amount -= trade.value + trade.buyer_fee
    makers = list({orders[f.maker_order_id].pk: orders[f.maker_order_id] for f in fills}.values())
    for order in makers:
        order.open_quantity = order.quantity - order.filled_quantity
        _release_excess(order, product, actor, cash, post)
        order.status = _status(order)
    if buffer is None:  # a batch writes its orders when it finishes
        update_rows(makers, MAKER_FIELDS)
    return trades


def _load_makers(fills, orders: dict[int, Order], accounts: dict[int, TradingAccount] | None = None) -> list[Order]:
    """The resting orders ``fills`` trade against, read (with what settlement needs) if not in ``orders``.

    ``accounts``: a batch's trading accounts by id (with participant and registry account), read once
    each and shared by all their orders; without it the orders are read with their account and reservation.
    """
    missing = {f.maker_order_id for f in fills} - orders.keys()
    if missing and accounts is None:
        orders.update({o.pk: o for o in Order.objects.filter(pk__in=missing).select_related(
            "account__participant", "account__registry_account", "reservation")})
    elif missing:
        makers = list(Order.objects.filter(pk__in=missing))
        unknown = {o.account_id for o in makers} - accounts.keys()
        if unknown:
            accounts.update({a.pk: a for a in TradingAccount.objects.filter(pk__in=unknown).select_related(
                "participant", "registry_account")})
        for maker in makers:
            maker.account = accounts[maker.account_id]
            orders[maker.pk] = maker
    return [orders[pk] for pk in dict.fromkeys(f.maker_order_id for f in fills)]


def _release_excess(order: Order, product: Product, actor, cash: dict[int, CashAccount] | None = None,
                    post=None) -> None:
    """Keep frozen exactly what the open part of a buy order needs; release the rest (filled cheaper)."""
    if order.side != Side.BUY:
        return
    needed = freeze_needed(product, order.price, order.open_quantity) if order.open_quantity else Decimal("0")
    excess = order.frozen_amount - needed
    if excess:
        row = (cash or {}).get(order.account_id) or CashAccount.objects.get(account_id=order.account_id)
        cash_release(cash=row, amount=excess, actor=actor, memo=_("Order price improvement"), order=order,
                     post=post)
        order.frozen_amount = needed


def _snapshot(order: Order) -> dict:
    return {"side": order.side, "price": str(order.price), "quantity": order.quantity,
            "open": order.open_quantity, "status": order.status}


@dataclass
class OrderRequest:
    """One limit order to place: who places it, for which trading account, side, price (yuan) and tonnes."""

    user: object
    account: TradingAccount
    side: str
    price: object
    quantity: object


@dataclass
class OrderResult:
    """What became of one request of a batch: the order and its trades, or the error that refused it."""

    request: OrderRequest
    order: Order | None = None
    trades: list = field(default_factory=list)
    error: DomainError | None = None


def _check_who(request: OrderRequest) -> None:
    """Who may place it and on which side (checked first: a stranger learns nothing of the market)."""
    check_acts_for(request.user, request.account)
    if request.side not in Side.values:
        raise DomainError(_("Side must be BUY or SELL."), "invalid_side", "side")


def _check_terms(product: Product, request: OrderRequest) -> tuple[Decimal, int]:
    """Tick, band, lot and size, before anything is written."""
    return (check_price(product, request.price, Method.LISTED),
            check_quantity(product, request.quantity, Method.LISTED))


class _Placement:
    """One transaction placing orders on one product, holding what it read once for all of them.

    Under the product's lock it holds: the requesting accounts' cash rows, locked together in key
    order (so their balances in memory are exact until commit: every journal entry also updates the
    copy), the book (taken at the first order that passed its checks), the fee account, the
    participant rules, the orders it has in memory and the surveillance reference price (the last
    trade it made, else the day's last listed trade, else the previous close). Nothing of the orders
    is written until ``finish``: new and changed orders, trades with their registry deliveries, the
    cash journal and the audit entries are written together then, in the same transaction. A refused
    order is undone in memory (``recover``): the book is rebuilt from the database, which still shows
    the batch's start, and the orders accepted before it are submitted again (the engine is
    deterministic, so it rebuilds exactly the book they left).
    """

    def __init__(self, product: Product, now, accounts, expected: int = 1):
        self.product, self.now = product, now
        self.expected = expected  # orders to place: their ids are allocated together
        self.ids: list[int] = []
        self.version = product_lock(product)
        self.accounts = sorted({a.pk for a in accounts})
        self.trading_accounts = {a.pk: a for a in accounts}
        self.cash = {c.account_id: c for c in lock_rows(CashAccount.objects.filter(account_id__in=self.accounts))}
        self.book = None
        self.fees = None
        self.rules: dict = {}
        self.orders: dict[int, Order] = {}  # open orders in memory (new and resting), by id
        self.new: dict[int, Order] = {}  # accepted orders by id, inserted by finish
        self.current = None  # id of the order being placed
        self.changed: dict[int, Order] = {}  # resting orders the batch filled, updated by finish
        self.opened: dict[int, int] = {}  # open tonnes of those as stored (position limits)
        self.accepted: list[tuple] = []  # what was submitted to the engine, to submit again after a refusal
        self.undo: list[tuple] = []  # makers of the order being placed, as they were before it
        self.reference = None
        self.journal = JournalBuffer()
        self.settlement = SettlementBuffer(product, now)
        self.placed: list[tuple] = []  # (user, order, snapshot, trades) for the audit entries
        self.mark = None

    def place(self, user, account: TradingAccount, side: str, price: Decimal, quantity: int):
        """Freeze or reserve, match and settle one checked order in memory; returns (order, trades)."""
        product, now = self.product, self.now
        self.mark = self.journal.mark(), self.settlement.mark(), len(self.placed)
        self.undo = []
        if not self.ids:
            self.ids = allocate_ids(Order, self.expected)
        self.current = self.ids.pop(0)
        order = Order(pk=self.current, product=product, account=account, side=side, price=price,
                      quantity=quantity, open_quantity=quantity, placed_by=user, created_at=now)
        order.frozen_amount, order.reservation = _reserve_or_freeze(
            actor=user, account=account, product=product, side=side, price=price, quantity=quantity, now=now,
            order=order, cash=self.cash[account.pk], rules=self.rules, post=self.journal.post,
            buffer=self.settlement, pending=self._pending_buys)
        if self.book is None:
            # Taken only once a request passed every check: a refusal leaves the cached book untouched.
            self.book = book_for_update(product, self.version)
        if self.fees is None:
            self.fees = system_account(CashAccount.Kind.FEES)
        submitted = (order.pk, EngineSide(side), to_fen(price), quantity, account.pk)
        incoming = EngineOrder(*submitted)
        try:
            fills = self.book.submit_limit(incoming)
        except EngineError as exc:
            raise DomainError(str(exc), "refused", None) from exc
        order.sequence = incoming.sequence
        self.orders[order.pk] = order
        makers = _load_makers(fills, self.orders, self.trading_accounts)
        self.undo = [(m, m.filled_quantity, m.open_quantity, m.status, m.frozen_amount) for m in makers]
        trades = _apply_fills(product=product, fills=fills, orders=self.orders, now=now, actor=user,
                              cash=self.cash, fees=self.fees, post=self.journal.post, buffer=self.settlement)
        order.open_quantity = incoming.quantity
        _release_excess(order, product, user, self.cash, self.journal.post)
        order.status = _status(order)
        # Accepted: from here on nothing refuses it.
        self.accepted.append(submitted)
        self.new[order.pk] = order
        for maker, _filled, opened, *_rest in self.undo:
            if maker.pk not in self.new and maker.pk not in self.changed:
                self.changed[maker.pk], self.opened[maker.pk] = maker, opened
        if trades:
            self.reference = trades[-1].price
        if order.open_quantity:
            if self.reference is None:
                self.reference = reference_price(product, local(now).date())
            check_far_from_market(order, now, self.reference)
        for done in [pk for pk, o in self.orders.items() if not o.open_quantity]:
            del self.orders[done]
        self.placed.append((user, order, _snapshot(order), trades))
        self.mark = None
        return order, trades

    def _pending_buys(self, account: TradingAccount) -> tuple[int, int]:
        """What the database does not show yet of ``account``'s purchases in this batch (position limit):
        tonnes bought, and the change in its open buy tonnes (new bids open, stored bids filled)."""
        new = sum(o.open_quantity for o in self.new.values() if o.account_id == account.pk and o.side == Side.BUY)
        filled = sum(self.opened[pk] - o.open_quantity for pk, o in self.changed.items()
                     if o.account_id == account.pk and o.side == Side.BUY)
        return self.settlement.bought(account), new - filled

    def recover(self) -> None:
        """After a refused order: undo what it changed in memory (nothing of it was written).

        The buffers forget what it added, the cash rows are read again with what the batch still owes
        them, the orders it filled get back their state, and, if the engine had seen it, the book is
        rebuilt from the database and the batch's accepted orders are submitted to it again.
        """
        if self.mark is None:
            return
        journal_mark, settlement_mark, placed = self.mark
        self.journal.rollback(journal_mark)
        self.settlement.rollback(settlement_mark)
        del self.placed[placed:]
        for maker, filled, opened, status, frozen in self.undo:
            maker.filled_quantity, maker.open_quantity, maker.status, maker.frozen_amount = (
                filled, opened, status, frozen)
            self.orders[maker.pk] = maker
        self.undo = []
        pending = self.journal.pending()
        for row in CashAccount.objects.filter(account_id__in=self.accounts):
            for bucket, amount in pending.get(row.pk, {}).items():
                setattr(row, bucket, getattr(row, bucket) + amount)
            self.cash[row.account_id] = row
        self.reference = None
        if self.book is not None:
            self.orders.pop(self.current, None)
            self.book = book_reload(self.product)
            for submitted in self.accepted:
                self.book.submit_limit(EngineOrder(*submitted))
        self.mark = None

    def finish(self) -> None:
        """Write the batch: orders, trades and deliveries, cash journal, audit entries (before commit)."""
        Order.objects.bulk_create(list(self.new.values()))
        update_rows(self.changed.values(), MAKER_FIELDS)
        reservations = dict(self.settlement.reservations)
        self.settlement.flush()
        for order in self.new.values():  # the returned orders show the reservation made for them
            if order.pk in reservations:
                order.reservation = reservations[order.pk]
        self.journal.flush()
        audit_record_many([dict(actor=user, action="trading.order_place", obj=order,
                                after={**snapshot, "trades": [t.pk for t in trades]})
                           for user, order, snapshot, trades in self.placed])
        self.new, self.changed, self.placed = {}, {}, []


@lock_errors_as_busy
@transaction.atomic
def order_place(*, user, account: TradingAccount, product: Product, side: str, price, quantity,
                now=None) -> tuple[Order, list]:
    """Place a limit order: take the best listings in price-time priority up to the limit, list the rest.

    Returns the order (its open part rests in the book) and the trades it made. Resting orders of
    the same account are skipped, never traded against (self-trades are refused).
    """
    now = now or rules.market_now()
    request = OrderRequest(user=user, account=account, side=side, price=price, quantity=quantity)
    _check_who(request)
    check_active(product)
    check_session(product, Method.LISTED, now)
    price, quantity = _check_terms(product, request)
    placement = _Placement(product, now, [account])
    order, trades = placement.place(user, account, side, price, quantity)
    placement.finish()
    return order, trades


@lock_errors_as_busy
@transaction.atomic
def orders_place_batch(*, product: Product, requests: list[OrderRequest], now=None) -> list[OrderResult]:
    """Place many limit orders of one product in one transaction, in the given (arrival) order.

    This is how order entry keeps up at peak load: committing is what costs (PERFORMANCE.md: 573
    orders/s at one order per transaction, 12,477 at 500), so a client's order list, or the
    requests queued for a product, are matched and settled together. It stays exactly as correct
    as ``order_place`` one by one, because:

    * the product's lock is held for the whole batch, so the orders are matched in sequence against
      the same book a one-by-one placement would see, and the engine decides the same trades;
    * each order runs its own checks (who, side, tick, band, lot, size, funds, position limit,
      units and T+1), against balances that include every earlier order of the batch (its cash rows
      are locked and kept exact in memory; units are checked by the registry in the same transaction);
    * every trade is settled delivery versus payment in the same transaction: its units, cash and
      audit entry are buffered as it is made (the batch's own checks stand in for the registry's until
      then) and written together before commit, the registry re-checking everything under its locks;
    * an order refused at any step is undone alone: every check runs before the order's first write,
      so nothing of it is stored, its buffered entries are dropped and the book is rebuilt from the
      database if the engine had seen it; its result carries the error and the other orders go on;
    * anything that is not a refusal (a database failure) rolls the whole batch back: all or nothing,
      and the book is rebuilt on next use. A refused session (market closed) refuses every request.

    Returns one ``OrderResult`` per request, in order.
    """
    now = now or rules.market_now()
    try:
        check_active(product)
        check_session(product, Method.LISTED, now)
    except DomainError as exc:
        return [OrderResult(request, error=exc) for request in requests]
    placement = _Placement(product, now, [request.account for request in requests], expected=len(requests))
    results = []
    for request in requests:
        result = OrderResult(request)
        try:
            _check_who(request)
            price, quantity = _check_terms(product, request)
            result.order, result.trades = placement.place(request.user, request.account, request.side, price,
                                                          quantity)
        except DomainError as exc:
            placement.recover()
            result.error = exc
        results.append(result)
    placement.finish()
    return results


@lock_errors_as_busy
@transaction.atomic
def order_take(*, user, account: TradingAccount, listing: Order, quantity, now=None) -> tuple[Order, object]:
    """Take a chosen listing, in full or in part, at its listed price (it must be among the best 5 levels).

    The taker's side is recorded as an order of its own, filled at once. Taking one's own listing
    is refused.
    """
    now = now or rules.market_now()
    check_acts_for(user, account)
    product = listing.product
    check_active(product)
    check_session(product, Method.LISTED, now)
    quantity = check_quantity(product, quantity, Method.LISTED)
    if listing.account_id == account.pk:
        raise DomainError(_("You cannot take your own listing."), "self_trade", "listing")
    version = product_lock(product)
    listing = Order.objects.select_related("account").get(pk=listing.pk)
    if not listing.is_open:
        raise Conflict(_("Listing #%(id)s is no longer open.") % {"id": listing.pk}, "listing_closed", "listing")
    if quantity > listing.open_quantity:
        raise DomainError(_("Listing #%(id)s has only %(open)s t open.") % {"id": listing.pk,
                                                                          "open": listing.open_quantity},
                          "over_listing", "quantity")
    side = Side.SELL if listing.side == Side.BUY else Side.BUY
    order = Order.objects.create(product=product, account=account, side=side, price=listing.price,
                                 quantity=quantity, open_quantity=quantity, placed_by=user, created_at=now)
    order.frozen_amount, order.reservation = _reserve_or_freeze(
        actor=user, account=account, product=product, side=side, price=listing.price, quantity=quantity, now=now,
        order=order)
    book = book_for_update(product, version)
    try:
        fill = book.take(listing.pk, quantity, account.pk, order.pk)
    except SelfTrade as exc:
        raise DomainError(_("You cannot take your own listing."), "self_trade", "listing") from exc
    except ListingNotTakeable as exc:
        raise DomainError(_("Only listings among the best 5 price levels can be taken."), "not_takeable",
                          "listing") from exc
    except EngineError as exc:
        raise DomainError(str(exc), "refused", "listing") from exc
    trades = _apply_fills(product=product, fills=[fill], orders={order.pk: order, listing.pk: listing}, now=now,
                          actor=user)
    order.open_quantity = 0
    _release_excess(order, product, user)
    order.status = Order.Status.FILLED
    order.save(update_fields=["open_quantity", "filled_quantity", "status", "frozen_amount", "reservation",
                              "updated_at"])
    audit_record(actor=user, action="trading.order_take", obj=order,
                 after={**_snapshot(order), "listing": listing.pk, "trade": trades[0].pk})
    return order, trades[0]


def _locked_open_order(order: Order):
    """Lock the order's product and return the fresh order with the product's book, ready to change."""
    book = book_for_update(order.product, product_lock(order.product))
    order = Order.objects.select_related("account", "product").get(pk=order.pk)
    if not order.is_open:
        raise Conflict(_("Order #%(id)s is no longer open (%(status)s).") % {"id": order.pk,
                                                                              "status": order.get_status_display()},
                       "order_closed", "order")
    return order, book


def _free_open_part(order: Order, actor) -> None:
    """Release the cash or units held for the order's open part."""
    if order.side == Side.BUY:
        cash_release(cash=CashAccount.objects.get(account_id=order.account_id), amount=order.frozen_amount,
                     actor=actor, memo=_("Order cancelled"), order=order)
        order.frozen_amount = Decimal("0")
    elif order.open_quantity:
        delivery.units_release(reservation=order.reservation, quantity=order.open_quantity)


def _withdraw(order: Order, book, actor, action: str) -> Order:
    before = _snapshot(order)
    try:
        book.cancel(order.pk)
    except EngineError as exc:
        raise Conflict(str(exc), "order_closed", "order") from exc
    _free_open_part(order, actor)
    order.open_quantity = 0
    order.status = Order.Status.CANCELLED
    order.save(update_fields=["open_quantity", "status", "frozen_amount", "updated_at"])
    audit_record(actor=actor, action=action, obj=order, before=before, after=_snapshot(order))
    return order


@lock_errors_as_busy
@transaction.atomic
def order_cancel(*, user, order: Order) -> Order:
    """Withdraw an open order: it leaves the book and its frozen cash or units are released."""
    check_acts_for(user, order.account)
    order, book = _locked_open_order(order)
    return _withdraw(order, book, user, "trading.order_cancel")


@transaction.atomic
def order_expire(*, order: Order) -> int:
    """Withdraw a day order still open at the session close (the system acts); 1 if withdrawn, else 0."""
    try:
        order, book = _locked_open_order(order)
    except Conflict:
        return 0
    _withdraw(order, book, None, "trading.order_expire")
    return 1


@lock_errors_as_busy
@transaction.atomic
def order_amend(*, user, order: Order, price, quantity, now=None) -> tuple[Order, list]:
    """Change an open order's price and open quantity; it loses its time priority and may trade at once."""
    now = now or rules.market_now()
    product = order.product
    check_session(product, Method.LISTED, now)
    price = check_price(product, price, Method.LISTED)
    quantity = check_quantity(product, quantity, Method.LISTED)
    check_acts_for(user, order.account)
    order, book = _locked_open_order(order)
    before = _snapshot(order)
    _free_open_part(order, user)
    # The old open part no longer counts towards the position limit checked below.
    Order.objects.filter(pk=order.pk).update(open_quantity=0)
    order.frozen_amount, reservation = _reserve_or_freeze(
        actor=user, account=order.account, product=product, side=order.side, price=price, quantity=quantity,
        now=now, order=order)
    if reservation is not None:
        order.reservation = reservation
    try:
        fills = book.amend(order.pk, to_fen(price), quantity)
    except EngineError as exc:
        raise DomainError(str(exc), "refused", None) from exc
    order.price = price
    order.quantity = order.filled_quantity + quantity
    trades = _apply_fills(product=product, fills=fills, orders={order.pk: order}, now=now, actor=user)
    try:
        resting = book.get(order.pk)
    except UnknownOrder:
        resting = None
    order.sequence = resting.sequence if resting else order.sequence
    order.open_quantity = resting.quantity if resting else 0
    _release_excess(order, product, user)
    order.status = _status(order)
    order.save(update_fields=["price", "quantity", "sequence", "open_quantity", "filled_quantity", "status",
                              "frozen_amount", "reservation", "updated_at"])
    audit_record(actor=user, action="trading.order_amend", obj=order, before=before,
                 after={**_snapshot(order), "trades": [t.pk for t in trades]})
    return order, trades

