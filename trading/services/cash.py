"""Participants' cash: a double-entry journal with cached available/frozen balances.

Every movement is one ``CashJournal`` with postings that sum to zero. Participant accounts cache
their balances (updated with ``F()`` in the same transaction, guarded by non-negative constraints);
the exchange's own accounts (bank clearing, fee income) do not cache, their balance is the sum of
their postings, so no trade ever waits on a single hot "fees" row.
"""

import functools
from decimal import Decimal

from django.db import transaction
from django.db.models import F
from django.db.models.functions import Round
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from cets.common.audit import audit_record
from cets.common.errors import DomainError, Forbidden
from cets.common.locks import busy_when_locked, lock_rows
from cets.common.money import yuan

from ..models import CashAccount, CashJournal, CashPosting, TradingAccount

AVAILABLE = CashPosting.Bucket.AVAILABLE
FROZEN = CashPosting.Bucket.FROZEN


def system_account(kind: str) -> CashAccount:
    """The exchange's bank clearing or fee income account (created on first use)."""
    account, _created = CashAccount.objects.get_or_create(kind=kind, account=None)
    return account


def _balanced(legs) -> list[tuple[CashAccount, str, Decimal]]:
    legs = [(acc, bucket, yuan(amount)) for acc, bucket, amount in legs if amount]
    if sum(amount for _acc, _bucket, amount in legs) != 0:
        raise ValueError(f"unbalanced cash journal: {legs}")
    return legs


def _participant_deltas(entries) -> dict[int, dict[str, Decimal]]:
    """Net change per participant cash row and bucket over the legs of ``entries`` (system rows do not cache)."""
    deltas: dict[int, dict[str, Decimal]] = {}
    for legs in entries:
        for acc, bucket, amount in legs:
            if acc.kind == CashAccount.Kind.PARTICIPANT:
                per = deltas.setdefault(acc.pk, {})
                per[bucket] = per.get(bucket, Decimal("0")) + amount
    return deltas


def _write_balances(deltas: dict[int, dict[str, Decimal]]) -> None:
    for pk in sorted(deltas):  # key order, like lock_rows: two writers queue instead of deadlocking
        per = deltas[pk]
        # Round to the fen in SQL: SQLite adds decimals as floats, which would leave -2e-10 behind.
        CashAccount.objects.filter(pk=pk).update(
            **{bucket: Round(F(bucket) + amount, 2) for bucket, amount in per.items()})


def _move_copies(legs) -> None:
    """Keep the caller's copies of participant rows equal to what the journal makes of them."""
    for acc, bucket, amount in legs:
        if acc.kind == CashAccount.Kind.PARTICIPANT:
            setattr(acc, bucket, getattr(acc, bucket) + amount)


def journal_post(*, kind: str, legs: list[tuple[CashAccount, str, Decimal]], actor=None, memo: str = "",
                 bank_reference: str = "", order=None, trade=None) -> CashJournal:
    """Write one balanced journal entry and move the cached participant balances.

    Callers have locked (or hold the money frozen for) the participant accounts they debit; the
    database constraints refuse a negative balance if a caller ever got that wrong.
    """
    legs = _balanced(legs)
    journal = CashJournal.objects.create(kind=kind, actor=actor, memo=memo[:200], bank_reference=bank_reference,
                                         order=order, trade=trade)
    CashPosting.objects.bulk_create(
        CashPosting(journal=journal, cash_account=acc, bucket=bucket, amount=amount) for acc, bucket, amount in legs)
    _write_balances(_participant_deltas([legs]))
    _move_copies(legs)
    return journal


class JournalBuffer:
    """Journal entries of one transaction kept in memory and written together before it commits.

    A batch of orders makes several entries per order (freeze, one per trade, release of a price
    improvement); ``flush`` writes them all with two bulk inserts and one balance update per cash
    row instead of three or four statements per entry. Each entry is checked balanced when posted,
    and the participant rows' copies in memory move at once: callers check funds against those
    copies, on rows they hold locked, so nothing is ever spent twice; the non-negative constraints
    still guard the rows when the balances are written. ``flush`` must run in the same transaction.
    """

    def __init__(self):
        self.entries: list[tuple[CashJournal, list]] = []

    def post(self, *, kind: str, legs, actor=None, memo: str = "", order=None, trade=None) -> CashJournal:
        legs = _balanced(legs)
        journal = CashJournal(kind=kind, actor=actor, memo=memo[:200], order=order, trade=trade)
        self.entries.append((journal, legs))
        _move_copies(legs)
        return journal

    def mark(self) -> int:
        return len(self.entries)

    def rollback(self, mark: int) -> None:
        """Forget the entries posted since ``mark`` (their savepoint was rolled back)."""
        del self.entries[mark:]

    def pending(self) -> dict[int, dict[str, Decimal]]:
        """Net change per participant cash row (pk) not yet written."""
        return _participant_deltas(legs for _journal, legs in self.entries)

    def flush(self) -> None:
        if not self.entries:
            return
        journals = CashJournal.objects.bulk_create([journal for journal, _legs in self.entries])
        CashPosting.objects.bulk_create(
            CashPosting(journal=journal, cash_account=acc, bucket=bucket, amount=amount)
            for journal, (_unused, legs) in zip(journals, self.entries, strict=True) for acc, bucket, amount in legs)
        _write_balances(self.pending())
        self.entries = []


def cash_lock(account: TradingAccount) -> CashAccount:
    """Lock a participant's cash row for a check-then-debit (spending the same cash twice is impossible)."""
    return lock_rows(CashAccount.objects.filter(account=account))[0]


def _check_staff(actor) -> None:
    if actor is None or actor.role != actor.Role.EXCHANGE_STAFF:
        raise Forbidden(_("Only the exchange's settlement staff record deposits and withdrawals."))


def _amount(value) -> Decimal:
    try:
        amount = yuan(value)
    except (ArithmeticError, ValueError):
        raise DomainError(_("Amount must be a number of yuan."), "invalid_amount", "amount") from None
    if amount <= 0 or Decimal(str(value)) != amount:
        raise DomainError(_("Amount must be positive with at most two decimals."), "invalid_amount", "amount")
    return amount


@transaction.atomic
def cash_deposit(*, actor, account: TradingAccount, amount, bank_reference: str) -> CashJournal:
    """Record a bank notice of money received for a participant (exchange staff or the bank API only).

    The bank reference is unique: the same notice posted twice is refused, not doubled.
    """
    _check_staff(actor)
    amount = _amount(amount)
    if not bank_reference:
        raise DomainError(_("A bank reference is required."), "required", "bank_reference")
    if CashJournal.objects.filter(bank_reference=bank_reference).exists():
        raise DomainError(_("Bank notice %(ref)s was already recorded.") % {"ref": bank_reference},
                          "duplicate_bank_reference", "bank_reference")
    cash = cash_lock(account)
    journal = journal_post(kind=CashJournal.Kind.DEPOSIT, actor=actor, bank_reference=bank_reference,
                           memo=_("Deposit"), legs=[(cash, AVAILABLE, amount),
                                                    (system_account(CashAccount.Kind.BANK), AVAILABLE, -amount)])
    audit_record(actor=actor, action="trading.cash_deposit", obj=journal,
                 after={"account": account.number, "amount": str(amount), "bank_reference": bank_reference})
    return journal


@transaction.atomic
def cash_withdraw(*, actor, account: TradingAccount, amount, bank_reference: str) -> CashJournal:
    """Pay available cash out to the participant's bank account (frozen cash never leaves)."""
    _check_staff(actor)
    amount = _amount(amount)
    if not bank_reference:
        raise DomainError(_("A bank reference is required."), "required", "bank_reference")
    if CashJournal.objects.filter(bank_reference=bank_reference).exists():
        raise DomainError(_("Bank notice %(ref)s was already recorded.") % {"ref": bank_reference},
                          "duplicate_bank_reference", "bank_reference")
    cash = cash_lock(account)
    if cash.available < amount:
        raise DomainError(_("Only %(available)s yuan is available to withdraw.") % {"available": cash.available},
                          "insufficient_funds", "amount")
    journal = journal_post(kind=CashJournal.Kind.WITHDRAWAL, actor=actor, bank_reference=bank_reference,
                           memo=pgettext("cash paid out", "Withdrawal"), legs=[(cash, AVAILABLE, -amount),
                                                       (system_account(CashAccount.Kind.BANK), AVAILABLE, amount)])
    audit_record(actor=actor, action="trading.cash_withdraw", obj=journal,
                 after={"account": account.number, "amount": str(amount), "bank_reference": bank_reference})
    return journal


def cash_freeze(*, cash: CashAccount, amount: Decimal, actor=None, memo: str = "", order=None, post=None) -> None:
    """Freeze cash for an order or bid; ``cash`` must be locked by the caller.

    ``post``: how to write the journal entry (``JournalBuffer.post`` in a batch; default at once).
    """
    if cash.available < amount:
        raise DomainError(_("Insufficient funds: %(need)s yuan needed, %(available)s available.")
                          % {"need": amount, "available": cash.available}, "insufficient_funds", "price")
    (post or journal_post)(kind=CashJournal.Kind.FREEZE, actor=actor, memo=memo, order=order,
                           legs=[(cash, AVAILABLE, -amount), (cash, FROZEN, amount)])


def cash_release(*, cash: CashAccount, amount: Decimal, actor=None, memo: str = "", order=None, post=None) -> None:
    """Return frozen cash to available (an order cancelled, filled cheaper, or a bid lost)."""
    if amount:
        (post or journal_post)(kind=CashJournal.Kind.RELEASE, actor=actor, memo=memo, order=order,
                               legs=[(cash, FROZEN, -amount), (cash, AVAILABLE, amount)])


def lock_errors_as_busy(service):
    """Turn a PostgreSQL deadlock or lock timeout inside ``service`` into ``Busy`` (409, retry).

    Settlement updates the counterparty's cash row after the caller locked its own, so two
    placements on different products between the same two participants can deadlock; PostgreSQL
    aborts one of them and the client is told to retry instead of seeing a server error. Apply it
    outside ``transaction.atomic`` so the transaction (or savepoint) is rolled back first.
    """

    @functools.wraps(service)
    def wrapper(*args, **kwargs):
        with busy_when_locked():
            return service(*args, **kwargs)

    return wrapper
