"""Carry-over (结转) in the registry: older CEAs retired, the same quantity issued as the target vintage.

The one door by which carried units leave their holder: compliance owns the rule (quota, deadline,
excluded entities) and calls ``carry_over_propose`` when a first national regulator proposes an
application, then ``carry_over_decide`` when a second one approves or rejects it (four-eyes; the
registry's own constraint forbids the proposer approving). The parts are one ``carry_over``
transaction per retired vintage (units reserved at once, moved to the national deletion account on
approval, where they stay and count as issued) and one issuance of the target vintage delivered to
the holder. Their ``reference`` starts with ``carryover:``, and ``services.transaction_approve`` /
``transaction_reject`` refuse them one by one from the approval queue, so the retirement and the
issuance never part. The carried quantity belongs to the target vintage's determined total, which
compliance records through allowances (``vintage_total_add``, source ``carry_over``) before it proposes,
so the issuance is checked against a cap that includes it.
"""

from django.db import transaction
from django.utils.translation import gettext as _

from cets.common.errors import Conflict, DomainError

from . import services
from .models import Account, Instrument, Transaction

TK = Transaction.Kind
TS = Transaction.Status
REF_PREFIX = "carryover:"


def is_carry_over(tx: Transaction) -> bool:
    """A part of a carry-over: its retirement, or the issuance proposed with it."""
    return tx.kind == TK.CARRY_OVER or (tx.kind == TK.ISSUANCE and (tx.reference or "").startswith(REF_PREFIX))


@transaction.atomic
def carry_over_propose(*, actor, account: Account, parts: list[tuple[Instrument, int]], target: Instrument,
                       reference: str, reason: str) -> list[Transaction]:
    """Propose a carry-over: reserve each ``(instrument, quantity)`` of ``parts`` and propose issuing their sum
    of ``target`` to ``account``. National regulators only; CEAs older than the target vintage only."""
    services._require_regulator(actor, national_only=True, field="account")
    if account.kind != Account.Kind.ENTITY_HOLDING:
        raise DomainError(_("Only an entity holding account carries allowances over."), "invalid_account", "account")
    if not parts:
        raise DomainError(_("A carry-over moves at least one vintage."), "required", "quantity")
    for instrument, _quantity in parts:
        services._check_cea(instrument, _("A carry-over"))
        if instrument.vintage >= target.vintage:
            raise DomainError(_("%(code)s is not older than %(target)s: nothing to carry over.") % {
                "code": instrument.code, "target": target.code}, "not_older_vintage", "instrument")
    ref = f"{REF_PREFIX}{reference}"[:120]
    deletion = services.national_account(kind=Account.Kind.NATIONAL_DELETION)
    txs = [services._propose_reserving(actor=actor, kind=TK.CARRY_OVER, account=account, instrument=instrument,
                                       quantity=quantity, reason=reason, to_account=deletion, reference=ref)
           for instrument, quantity in parts]
    total = sum(tx.quantity for tx in txs)
    txs.append(services.issuance_propose(actor=actor, instrument=target, quantity=total, deliver_to=account,
                                         reason=reason, reference=ref))
    return txs


@transaction.atomic
def carry_over_decide(*, actor, transactions: list[Transaction], approve: bool, reason: str = "") -> list[Transaction]:
    """Approve every part (retirements first, then the issuance) or reject those still awaiting approval.

    On rejection the reserved units become available again.
    """
    parts = sorted(transactions, key=lambda t: t.pk)
    if not parts or not all(is_carry_over(tx) for tx in parts):
        raise Conflict(_("These transactions are not the parts of one carry-over."), "not_carry_over", None)
    if approve:
        return [services.transaction_approve(actor=actor, transaction=tx, grouped=True) for tx in parts]
    decided = []
    for tx in parts:
        tx.refresh_from_db()
        if tx.status != TS.AWAITING_APPROVAL:
            continue
        decided.append(services.transaction_reject(actor=actor, transaction=tx, reason=reason, grouped=True))
    return decided
