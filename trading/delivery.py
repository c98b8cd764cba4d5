"""The trading app's only door into the registry: holdings, reservations, delivery of units.

A sell order, a bulk sale and an auction reserve units in the seller's registry account at once;
a trade settles the reservation into the buyer's account inside the trade's own transaction
(delivery versus payment); a cancelled order releases what is left. The exchange acts on the
registry as the system (``actor=None``): the trading services have already checked that the user
acts for the trading account, and they audit the user's action themselves.
"""

from django.db.models import Sum

from registry import selectors as registry_selectors
from registry import services as registry_services
from registry.models import Reservation
from registry.services import Delivery

from .models import Product, Trade, TradingAccount
from .rules import local

_instruments: dict[int, object] = {}


def instrument_for(product: Product):
    """The registry instrument a product delivers (its CEA vintage), cached per process (it never changes)."""
    instrument = _instruments.get(product.vintage)
    if instrument is None:
        instrument = _instruments[product.vintage] = registry_services.instrument_get_or_create_cea(
            vintage=product.vintage)
    return instrument


def holding(account: TradingAccount, product: Product) -> tuple[int, int]:
    """(total, available) tonnes of the product's instrument in the account's registry account."""
    balance = registry_selectors.balance(account.registry_account, instrument_for(product))
    return balance.total, balance.available


def bought_on(account: TradingAccount, product: Product, day) -> int:
    """Tonnes the account bought of the product on ``day`` (any method): not sellable that day (T+1)."""
    return Trade.objects.filter(buyer=account, product=product, trade_date=day).aggregate(
        q=Sum("quantity"))["q"] or 0


def units_reserve(*, account: TradingAccount, product: Product, quantity: int, reference: str, day):
    """Reserve ``quantity`` units for a sale (refused if not available, T+1 enforced by the registry too)."""
    return registry_services.units_reserve(actor=None, account=account.registry_account,
                                           instrument=instrument_for(product), quantity=quantity,
                                           reference=reference, sellable_on=day)


def units_release(*, reservation, quantity: int) -> None:
    """Give back ``quantity`` reserved units to the seller's available balance."""
    registry_services.reservation_release(reservation=reservation, quantity=quantity, actor=None)


def units_deliver(*, reservation, quantity: int, buyer: TradingAccount, reference: str, now):
    """Move ``quantity`` reserved units to the buyer at the trade's time ``now``; returns the registry
    transaction."""
    return registry_services.reservation_settle(reservation=reservation, to_account=buyer.registry_account,
                                                quantity=quantity, reference=reference, actor=None, now=now)


def check_can_send(account: TradingAccount) -> None:
    """Refuse a sale from a trading account whose registry account may not send units (frozen, closed...)."""
    registry_services.trade_check(account.registry_account, sending=True)


def check_can_receive(account: TradingAccount) -> None:
    """Refuse a purchase into a trading account whose registry account may not receive units."""
    registry_services.trade_check(account.registry_account, sending=False)


def reservation_new(*, account: TradingAccount, quantity: int, reference: str) -> Reservation:
    """A reservation to be made by ``units_settle`` (not saved until then)."""
    return Reservation(account_id=account.registry_account_id, quantity=quantity, reference=reference[:120])


def reservation_ref(order) -> Reservation:
    """The reservation of a resting sell order, by key and account, without reading it (``units_settle``
    locks and checks it)."""
    return Reservation(pk=order.reservation_id, account_id=order.account.registry_account_id)


def units_settle(*, product: Product, reserve: list[Reservation], deliveries: list[Delivery], now):
    """Make the new reservations, then deliver the trades' units from reservations, in one registry call.

    Returns the registry transactions, one per delivery, dated ``now`` (the market's clock). T+1 is
    enforced by the registry for that day.
    """
    return registry_services.reservations_settle(instrument=instrument_for(product), reserve=reserve,
                                                 deliveries=deliveries, sellable_on=local(now).date(), now=now)


def instruments_forget() -> None:
    """Drop the cached instruments (a fresh process; tests call it after resetting the database)."""
    _instruments.clear()
