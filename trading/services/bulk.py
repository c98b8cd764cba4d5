"""Bulk agreement trading (大宗协议): propose to a named counterparty, who confirms or rejects.

The initiator's side is frozen at once (cash to buy, units to sell); the counterparty's side is
checked and settled when it confirms, all within the bulk session of the same day. Proposals not
confirmed by the end of their session expire and release what they froze.
"""

from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from cets.common.audit import audit_record
from cets.common.errors import Conflict, DomainError, Forbidden

from .. import delivery, rules
from ..books import product_lock
from ..models import BulkProposal, CashAccount, Method, Product, Side, TradingAccount
from ..rules import check_active, check_price, check_quantity, check_session, freeze_needed, local, session_end
from .cash import cash_freeze, cash_lock, cash_release, lock_errors_as_busy
from .participants import account_of_user, check_acts_for
from .settlement import check_position_limit, check_sellable, trade_settle


def _snapshot(p: BulkProposal) -> dict:
    return {"status": p.status, "side": p.side, "price": str(p.price), "quantity": p.quantity,
            "initiator": p.initiator_id, "counterparty": p.counterparty_id}


def _hold(*, actor, account: TradingAccount, product: Product, buying: bool, price: Decimal, quantity: int,
          now, reference: str) -> tuple[Decimal, object]:
    if buying:
        check_position_limit(account, product, quantity)
        amount = freeze_needed(product, price, quantity)
        cash_freeze(cash=cash_lock(account), amount=amount, actor=actor, memo=reference)
        return amount, None
    check_sellable(account, product, quantity, now)
    return Decimal("0"), delivery.units_reserve(account=account, product=product, quantity=quantity,
                                                reference=reference, day=local(now).date())


def _unhold(p: BulkProposal, actor) -> None:
    if p.side == Side.BUY:
        cash_release(cash=CashAccount.objects.get(account_id=p.initiator_id), amount=p.frozen_amount, actor=actor,
                     memo=f"bulk #{p.pk}")
    else:
        delivery.units_release(reservation=p.reservation, quantity=p.quantity)


@transaction.atomic
def bulk_propose(*, user, account: TradingAccount, counterparty: TradingAccount, product: Product, side: str,
                 price, quantity, now=None) -> BulkProposal:
    """Propose a bulk trade; the initiator's cash or units are frozen until it is decided or expires."""
    now = now or rules.market_now()
    check_acts_for(user, account)
    if side not in Side.values:
        raise DomainError(_("Side must be BUY or SELL."), "invalid_side", "side")
    if counterparty.pk == account.pk:
        raise DomainError(_("The counterparty must be another participant."), "self_trade", "counterparty")
    if not counterparty.is_active or not counterparty.participant.is_active:
        raise DomainError(_("The counterparty's account is suspended."), "account_suspended", "counterparty")
    check_active(product)
    check_session(product, Method.BULK, now)
    price = check_price(product, price, Method.BULK)
    quantity = check_quantity(product, quantity, Method.BULK)
    product_lock(product)
    proposal = BulkProposal(product=product, initiator=account, counterparty=counterparty, side=side, price=price,
                            quantity=quantity, created_at=now, expires_at=session_end(product, Method.BULK, now))
    proposal.frozen_amount, proposal.reservation = _hold(
        actor=user, account=account, product=product, buying=side == Side.BUY, price=price, quantity=quantity,
        now=now, reference="bulk proposal")
    proposal.save()
    audit_record(actor=user, action="trading.bulk_propose", obj=proposal, after=_snapshot(proposal))
    return proposal


def _locked_pending(proposal: BulkProposal) -> BulkProposal:
    product_lock(proposal.product)
    proposal = BulkProposal.objects.select_related("product", "initiator", "counterparty").get(pk=proposal.pk)
    if proposal.status != BulkProposal.Status.PROPOSED:
        raise Conflict(_("Proposal #%(id)s is already %(status)s.") % {"id": proposal.pk,
                                                                       "status": proposal.get_status_display()},
                       "proposal_decided", "proposal")
    return proposal


@lock_errors_as_busy
@transaction.atomic
def bulk_confirm(*, user, proposal: BulkProposal, now=None) -> BulkProposal:
    """The named counterparty accepts: its side is checked and the trade settles at once."""
    now = now or rules.market_now()
    check_acts_for(user, proposal.counterparty)
    proposal = _locked_pending(proposal)
    if now >= proposal.expires_at:
        raise Conflict(_("Proposal #%(id)s expired at the end of its session.") % {"id": proposal.pk},
                       "proposal_expired", "proposal")
    check_session(proposal.product, Method.BULK, now)
    product = proposal.product
    counter_buys = proposal.side == Side.SELL
    frozen, reservation = _hold(actor=user, account=proposal.counterparty, product=product, buying=counter_buys,
                                price=proposal.price, quantity=proposal.quantity, now=now,
                                reference=f"bulk #{proposal.pk}")
    buyer, seller = ((proposal.counterparty, proposal.initiator) if counter_buys
                     else (proposal.initiator, proposal.counterparty))
    frozen = frozen if counter_buys else proposal.frozen_amount
    trade = trade_settle(product=product, method=Method.BULK, buyer=buyer, seller=seller, price=proposal.price,
                         quantity=proposal.quantity, reservation=reservation or proposal.reservation, now=now,
                         actor=user)
    excess = frozen - trade.value - trade.buyer_fee
    cash_release(cash=CashAccount.objects.get(account_id=buyer.pk), amount=excess, actor=user,
                 memo=f"bulk #{proposal.pk}")
    before = _snapshot(proposal)
    proposal.status = BulkProposal.Status.CONFIRMED
    proposal.decided_at = now
    proposal.trade = trade
    proposal.frozen_amount = Decimal("0")
    proposal.save(update_fields=["status", "decided_at", "trade", "frozen_amount"])
    audit_record(actor=user, action="trading.bulk_confirm", obj=proposal, before=before,
                 after={**_snapshot(proposal), "trade": trade.pk})
    return proposal


def _close(proposal: BulkProposal, status: str, actor, now) -> BulkProposal:
    before = _snapshot(proposal)
    _unhold(proposal, actor)
    proposal.status = status
    proposal.decided_at = now
    proposal.frozen_amount = Decimal("0")
    proposal.save(update_fields=["status", "decided_at", "frozen_amount"])
    audit_record(actor=actor, action=f"trading.bulk_{status}", obj=proposal, before=before,
                 after=_snapshot(proposal))
    return proposal


@transaction.atomic
def bulk_reject(*, user, proposal: BulkProposal, now=None) -> BulkProposal:
    """The counterparty declines; the initiator's frozen cash or units are released."""
    check_acts_for(user, proposal.counterparty)
    return _close(_locked_pending(proposal), BulkProposal.Status.REJECTED, user, now or rules.market_now())


@transaction.atomic
def bulk_withdraw(*, user, proposal: BulkProposal, now=None) -> BulkProposal:
    """The initiator withdraws a proposal not yet decided."""
    mine = account_of_user(user)
    if mine is None or mine.pk != proposal.initiator_id:
        raise Forbidden(_("Only the initiator can withdraw a proposal."))
    return _close(_locked_pending(proposal), BulkProposal.Status.CANCELLED, user, now or rules.market_now())


def bulk_expire(*, now=None) -> int:
    """Expire every proposal past its session end (one transaction each); returns how many."""
    now = now or rules.market_now()
    count = 0
    for proposal in BulkProposal.objects.filter(status=BulkProposal.Status.PROPOSED, expires_at__lte=now):
        with transaction.atomic():
            try:
                _close(_locked_pending(proposal), BulkProposal.Status.EXPIRED, None, now)
            except Conflict:
                continue
        count += 1
    return count
