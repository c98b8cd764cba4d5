"""Single-direction bidding (单向竞价): one seller, many bidders, allocation at the close.

The seller's units are reserved when the auction is announced; each bid freezes its cash. At the
close bids are ranked by price (highest first) then time (earliest first) and filled until the
quantity is gone; the marginal bid may be filled in part. Pricing is set per auction:

* pay as bid: each winner pays its own bid price;
* uniform: every winner pays the lowest accepted price (the clearing price).

Unsold units and losing or unused cash are released in the same transaction.
"""

from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from cets.common.audit import audit_record
from cets.common.errors import Conflict, DomainError, Forbidden
from cets.common.money import whole_tonnes

from .. import delivery, rules
from ..books import product_lock
from ..models import Auction, AuctionBid, CashAccount, Method, Product, TradingAccount
from ..rules import check_active, freeze_needed, local, parse_price
from .cash import cash_freeze, cash_lock, cash_release, lock_errors_as_busy
from .participants import account_of_user, check_acts_for
from .settlement import check_position_limit, check_sellable, trade_settle


def _check_price(product: Product, value, field: str) -> Decimal:
    price = parse_price(value)
    if price <= 0:
        raise DomainError(_("Price must be greater than zero."), "invalid_price", field)
    if price % product.tick:
        raise DomainError(_("Price must be a multiple of the tick %(tick)s yuan.") % {"tick": product.tick},
                          "off_tick", field)
    return price


@transaction.atomic
def auction_create(*, user, seller: TradingAccount, product: Product, quantity, reserve_price, pricing: str,
                   opens_at, closes_at, now=None) -> Auction:
    """Announce an auction: quantity, reserve price, window and pricing; the units are reserved now.

    The seller's own users announce it, or exchange staff on behalf of a seller (reserve sales).
    """
    now = now or rules.market_now()
    if user.role != user.Role.EXCHANGE_STAFF:
        check_acts_for(user, seller)
    check_active(product)
    if pricing not in Auction.Pricing.values:
        raise DomainError(_("Pricing must be pay_as_bid or uniform."), "invalid_pricing", "pricing")
    quantity = whole_tonnes(quantity)
    reserve_price = _check_price(product, reserve_price, "reserve_price")
    if closes_at <= opens_at:
        raise DomainError(_("The auction must close after it opens."), "invalid_window", "closes_at")
    if closes_at <= now:
        raise DomainError(_("The closing time is in the past."), "invalid_window", "closes_at")
    product_lock(product)
    check_sellable(seller, product, quantity, now)
    auction = Auction.objects.create(product=product, seller=seller, quantity=quantity, reserve_price=reserve_price,
                                     pricing=pricing, opens_at=opens_at, closes_at=closes_at, created_by=user)
    auction.reservation = delivery.units_reserve(account=seller, product=product, quantity=quantity,
                                                 reference=f"auction {auction.pk}", day=local(now).date())
    auction.save(update_fields=["reservation"])
    audit_record(actor=user, action="trading.auction_create", obj=auction,
                 after={"quantity": quantity, "reserve_price": str(reserve_price), "pricing": pricing})
    return auction


@transaction.atomic
def auction_bid(*, user, account: TradingAccount, auction: Auction, price, quantity, now=None) -> AuctionBid:
    """Bid during the window at or above the reserve price; the bid's cash is frozen at once."""
    now = now or rules.market_now()
    check_acts_for(user, account)
    if account.pk == auction.seller_id:
        raise DomainError(_("The seller cannot bid in its own auction."), "self_trade", "auction")
    if auction.status != Auction.Status.OPEN or not auction.opens_at <= now < auction.closes_at:
        raise DomainError(_("The auction is not open for bids."), "auction_closed", "auction")
    product = auction.product
    price = _check_price(product, price, "price")
    if price < auction.reserve_price:
        raise DomainError(_("A bid must be at least the reserve price %(p)s yuan.") % {"p": auction.reserve_price},
                          "below_reserve", "price")
    quantity = whole_tonnes(quantity)
    if quantity > auction.quantity:
        raise DomainError(_("A bid cannot exceed the %(q)s t offered.") % {"q": auction.quantity},
                          "over_offer", "quantity")
    product_lock(product)
    check_position_limit(account, product, quantity)
    amount = freeze_needed(product, price, quantity)
    bid = AuctionBid.objects.create(auction=auction, account=account, price=price, quantity=quantity,
                                    frozen_amount=amount, created_at=now)
    cash_freeze(cash=cash_lock(account), amount=amount, actor=user, memo=f"auction #{auction.pk} bid #{bid.pk}")
    audit_record(actor=user, action="trading.auction_bid", obj=bid,
                 after={"auction": auction.pk, "price": str(price), "quantity": quantity})
    return bid


@transaction.atomic
def auction_withdraw_bid(*, user, bid: AuctionBid, now=None) -> AuctionBid:
    """A bidder withdraws its bid before the close; the cash is released."""
    now = now or rules.market_now()
    mine = account_of_user(user)
    if mine is None or mine.pk != bid.account_id:
        raise Forbidden(_("Only the bidder can withdraw its bid."))
    product_lock(bid.auction.product)
    bid = AuctionBid.objects.select_related("auction").get(pk=bid.pk)
    if bid.status != AuctionBid.Status.OPEN or now >= bid.auction.closes_at:
        raise Conflict(_("The bid can no longer be withdrawn."), "bid_closed", "bid")
    cash_release(cash=CashAccount.objects.get(account_id=bid.account_id), amount=bid.frozen_amount, actor=user,
                 memo=f"bid #{bid.pk} withdrawn")
    bid.status = AuctionBid.Status.WITHDRAWN
    bid.frozen_amount = Decimal("0")
    bid.save(update_fields=["status", "frozen_amount"])
    audit_record(actor=user, action="trading.auction_withdraw_bid", obj=bid, after={"status": bid.status})
    return bid


def allocate(quantity: int, bids: list[AuctionBid]) -> list[tuple[AuctionBid, int]]:
    """Price then time priority: (bid, tonnes allocated) for every bid, in ranking order."""
    ranked = sorted(bids, key=lambda b: (-b.price, b.created_at, b.pk))
    left = quantity
    out = []
    for bid in ranked:
        take = min(left, bid.quantity)
        out.append((bid, take))
        left -= take
    return out


@lock_errors_as_busy
@transaction.atomic
def auction_close(*, auction: Auction, now=None, actor=None) -> Auction:
    """Allocate and settle an auction after its window (idempotent: a closed auction is returned as is)."""
    now = now or rules.market_now()
    product_lock(auction.product)
    auction = Auction.objects.select_related("product", "seller").get(pk=auction.pk)
    if auction.status != Auction.Status.OPEN:
        return auction
    if now < auction.closes_at:
        raise Conflict(_("The auction closes at %(t)s.") % {"t": auction.closes_at}, "auction_open", "auction")
    product = auction.product
    bids = list(auction.bids.filter(status=AuctionBid.Status.OPEN).select_related("account"))
    allocation = allocate(auction.quantity, bids)
    winners = [(bid, q) for bid, q in allocation if q]
    clearing = min((bid.price for bid, _q in winners), default=None)
    sold = 0
    for bid, q in allocation:
        cash = CashAccount.objects.get(account_id=bid.account_id)
        if not q:
            cash_release(cash=cash, amount=bid.frozen_amount, actor=actor, memo=f"bid #{bid.pk} lost")
            bid.status, bid.frozen_amount = AuctionBid.Status.LOST, Decimal("0")
            bid.save(update_fields=["status", "frozen_amount"])
            continue
        price = clearing if auction.pricing == Auction.Pricing.UNIFORM else bid.price
        trade = trade_settle(product=product, method=Method.AUCTION, buyer=bid.account, seller=auction.seller,
                             price=price, quantity=q, reservation=auction.reservation, now=now, actor=actor)
        cash_release(cash=cash, amount=bid.frozen_amount - trade.value - trade.buyer_fee, actor=actor,
                     memo=f"bid #{bid.pk} settled")
        sold += q
        bid.allocated_quantity, bid.trade, bid.frozen_amount = q, trade, Decimal("0")
        bid.status = AuctionBid.Status.WON if q == bid.quantity else AuctionBid.Status.PARTIAL
        bid.save(update_fields=["allocated_quantity", "trade", "frozen_amount", "status"])
    if sold < auction.quantity:
        delivery.units_release(reservation=auction.reservation, quantity=auction.quantity - sold)
    auction.status = Auction.Status.CLOSED
    auction.sold_quantity = sold
    auction.clearing_price = clearing
    auction.save(update_fields=["status", "sold_quantity", "clearing_price"])
    audit_record(actor=actor, action="trading.auction_close", obj=auction,
                 after={"sold": sold, "clearing_price": str(clearing) if clearing else None,
                        "winners": [[bid.pk, q] for bid, q in winners]})
    return auction
