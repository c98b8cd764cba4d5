"""Account governance as the EU Union Registry and the UK ETS registry do it (issue 14, point 7).

Every four-eyes request goes through the registry's one approval mechanism: a ``Transaction``
awaiting approval, listed in the admin's approval queue (``PendingApproval``) and decided by
``services.transaction_approve`` / ``transaction_reject`` / ``transaction_cancel``. A governance
request (closing an account, adding or restoring a representative) is a transaction of a
governance kind: no instrument, quantity 0, no legs, the account as ``from_account``.

Rules, and where a figure comes from
- Opening: a regulator other than the applicant approves (``Account.applied_by`` / ``opened_by``,
  also a database constraint), as a national administrator approves an account request.
- Closing: one regulator proposes, a second one with jurisdiction approves. The account must hold
  nothing and have no open movement when proposed and again, under lock, when approved. On closure
  its representatives end, pending representative requests are cancelled, and every trusted-list
  entry from or to it is removed.
- Representatives: adding one, or restoring a suspended one, takes effect when a second regulator
  approves; suspending takes effect at once (a protective act needs no delay); neither on a closed
  or rejected account. A proposed or ended representative does not count as named (``selectors``).
- Trusted list: entries only between open accounts; an entry is active ``trusted_delay_working_days``
  working days after it is added (default 4: the Union Registry's four-working-day delay before an
  addition to the trusted account list takes effect, as the Swedish Energy Agency and the Danish
  Business Authority describe it; some administrators state 7). Removal is immediate.
- Reversal: proposed within ``reversal_window_working_days`` working days of the original's
  execution (default 5: Commission Delegated Regulation (EU) 2019/1122 Art. 70(1), a reversal is
  requested within five working days of the finalisation of the process), never into a frozen or
  closed account (checked at the proposal and again, under lock, at approval).
- Issuance: into the national issuance (total quantity) account only, as the Union Registry issues
  into the total quantity account; the units then go onwards by a completed delivery to the
  proposal's ``deliver_to`` (national allocation account for CEAs; a CCER owner; a borrowing entity).
  One pending issuance per instrument and destination (a database constraint settles races); never
  above the instrument's ``issuance_cap``, the plan's total for the vintage, which the allowances
  service records with ``instrument_set_issuance_cap`` (the registry never reads allowances' tables;
  a vintage without a recorded total is not capped).
- Withdrawal: one pending withdrawal per account and vintage, single-account or a line of a bulk one.
- Surrender, CCER cancellation, voluntary retirement: on an account requiring a second approval a
  person's request reserves the units and waits for another representative, as a transfer does.
"""

import datetime as dt

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils.translation import gettext as _

from cets.common.audit import audit_record
from cets.common.errors import Conflict, DomainError, Forbidden
from cets.common.locks import lock_rows

from . import selectors, services
from .models import Account, AccountRepresentative, BulkWithdrawalLine, Instrument, Transaction, TrustedAccount

K = Account.Kind
S = Account.Status
RS = AccountRepresentative.Status
TK = Transaction.Kind
TS = Transaction.Status

#: Account statuses a reversal may put units back into (never frozen, closed, or not yet open).
REVERSAL_TARGET_STATUSES = (S.OPEN, S.RESTRICTED)
#: Statuses of a proposal still open (a bulk withdrawal runs as PROCESSING after approval).
PENDING = (TS.AWAITING_APPROVAL, TS.PROCESSING)


def trusted_delay_working_days() -> int:
    """Working days before a trusted-list entry takes effect (settings.REGISTRY_TRUSTED_DELAY_WORKING_DAYS)."""
    return int(getattr(settings, "REGISTRY_TRUSTED_DELAY_WORKING_DAYS", 4))


def reversal_window_working_days() -> int:
    """Working days after its execution a movement may still be reversed (REGISTRY_REVERSAL_WINDOW_WORKING_DAYS)."""
    return int(getattr(settings, "REGISTRY_REVERSAL_WINDOW_WORKING_DAYS", 5))


def _after_working_days(start: dt.datetime, days: int) -> dt.datetime:
    return services.delay_until(start, days * 24)


# --------------------------------------------------------------------------------------------- opening

def check_opening_approver(actor, account: Account) -> None:
    """The applicant never approves their own opening."""
    if actor is not None and account.applied_by_id == actor.pk:
        raise Forbidden(_("You applied for this account; another regulator must approve its opening."),
                        "own_proposal", "account")


# --------------------------------------------------------------------------------------------- requests

def _request(*, actor, kind: str, account: Account, reason: str, representative=None) -> Transaction:
    """A governance request awaiting a second regulator: one open request per subject."""
    if actor is None:
        raise Forbidden(_("A proposal needs a person."), "not_regulator", None)
    open_requests = Transaction.objects.filter(kind=kind, from_account=account, status=TS.AWAITING_APPROVAL)
    if representative is not None:
        open_requests = open_requests.filter(representative=representative)
    if open_requests.exists():
        raise Conflict(_("The same request is already awaiting approval."), "duplicate", "account")
    tx = Transaction.objects.create(kind=kind, status=TS.AWAITING_APPROVAL, instrument=None, quantity=0,
                                    from_account=account, representative=representative,
                                    reason=(reason or "").strip()[:500], proposed_by=actor)
    services._audit_tx(actor, tx, "propose")
    return tx


def _check_governable(account: Account, field: str = "account") -> None:
    if account.status in (S.CLOSED, S.REJECTED):
        raise Conflict(_("Account %(number)s is %(status)s: its representatives cannot change.") % {
            "number": account.number, "status": account.get_status_display()}, "account_closed", field)


def _check_closable(account: Account) -> None:
    if account.status not in (S.OPEN, S.PARTIALLY_FROZEN, S.FULLY_FROZEN, S.RESTRICTED):
        raise Conflict(_("The account is %(status)s; it cannot be closed.") % {
            "status": account.get_status_display()}, "wrong_status", "account")
    if account.blocks.exists():
        raise Conflict(_("An account with a balance cannot be closed."), "has_balance", "account")
    open_work = selectors.pending_transactions(account).exclude(kind__in=Transaction.GOVERNANCE_KINDS)
    if account.reservations.filter(status="open").exists() or open_work.exists():
        raise Conflict(_("An account with open work cannot be closed."), "has_open_work", "account")


@transaction.atomic
def account_close_propose(*, actor, account: Account, comment: str) -> Transaction:
    """Propose closing an account (four-eyes): only when empty and without open work; executed on approval."""
    services._require_regulator(actor, account)
    if not (comment or "").strip():
        raise DomainError(_("A closure needs a comment."), "required", "comment")
    account = services._lock(account)[account.pk]
    _check_closable(account)
    return _request(actor=actor, kind=TK.ACCOUNT_CLOSURE, account=account, reason=comment)


def representative_request(*, actor, representative: AccountRepresentative, kind: str,
                           reason: str = "") -> Transaction:
    """Ask a second regulator to make a proposed representative active, or to restore a suspended one."""
    return _request(actor=actor, kind=kind, account=representative.account, reason=reason,
                    representative=representative)


def execute(tx: Transaction, now) -> None:
    """Carry out an approved governance request (called by ``transaction_approve``, the tx row locked)."""
    if tx.kind == TK.ACCOUNT_CLOSURE:
        _close(tx, now)
    else:
        _activate_representative(tx)
    services._complete(tx, now)


def _close(tx: Transaction, now) -> None:
    account = services._lock(tx.from_account)[tx.from_account_id]
    _check_closable(account)
    services._set_status(account, old=[S.OPEN, S.PARTIALLY_FROZEN, S.FULLY_FROZEN, S.RESTRICTED], new=S.CLOSED,
                         comment=tx.reason or _("Closure approved"), actor=tx.approved_by,
                         action="registry.account.close", closed_at=now)
    ended = list(AccountRepresentative.objects.filter(account=account).exclude(status=RS.ENDED)
                 .values_list("pk", flat=True))
    AccountRepresentative.objects.filter(pk__in=ended).update(status=RS.ENDED)
    cancelled = list(Transaction.objects.filter(from_account=account, status=TS.AWAITING_APPROVAL,
                                                kind__in=(TK.REPRESENTATIVE_ADD, TK.REPRESENTATIVE_RESTORE))
                     .values_list("pk", flat=True))
    Transaction.objects.filter(pk__in=cancelled).update(status=TS.CANCELLED, reason=_("Account closed"))
    links = TrustedAccount.objects.filter(Q(account=account) | Q(trusted=account))
    removed = [[a, t] for a, t in links.values_list("account_id", "trusted_id")]
    links.delete()
    audit_record(actor=tx.approved_by, action="registry.account.close_effects", obj=account,
                 after={"representatives_ended": ended, "requests_cancelled": cancelled, "trusted_removed": removed})


def _activate_representative(tx: Transaction) -> None:
    account = services._lock(tx.from_account)[tx.from_account_id]
    _check_governable(account)
    (rep,) = lock_rows(AccountRepresentative.objects.filter(pk=tx.representative_id))
    expected = RS.PROPOSED if tx.kind == TK.REPRESENTATIVE_ADD else RS.SUSPENDED
    if rep.status != expected:
        raise Conflict(_("The representative is %(status)s; this request no longer applies.") % {
            "status": rep.get_status_display()}, "wrong_status", "representative")
    rep.status = RS.ACTIVE
    rep.save(update_fields=["status"])
    audit_record(actor=tx.approved_by, action="registry.representative.set_status", obj=rep,
                 before={"status": expected}, after={"status": RS.ACTIVE, "request": tx.pk})


def on_end(tx: Transaction) -> None:
    """A representative addition rejected or withdrawn: the proposed person ends (never becomes named)."""
    if tx.kind == TK.REPRESENTATIVE_ADD:
        AccountRepresentative.objects.filter(pk=tx.representative_id, status=RS.PROPOSED).update(status=RS.ENDED)


# --------------------------------------------------------------------------------------------- trusted list

def check_trusted_pair(account: Account, trusted: Account) -> None:
    """Trusted-list entries only between open accounts."""
    for acc, field in ((account, "account"), (trusted, "trusted")):
        if acc.status != S.OPEN:
            raise Conflict(_("Account %(number)s is %(status)s: trusted-list entries are only between open "
                             "accounts.") % {"number": acc.number, "status": acc.get_status_display()},
                           "account_not_open", field)


def trusted_active_from(now: dt.datetime) -> dt.datetime:
    """When an entry added at ``now`` takes effect: ``trusted_delay_working_days`` working days later."""
    return _after_working_days(now, trusted_delay_working_days())


# --------------------------------------------------------------------------------------------- reversal

def check_reversal_window(original: Transaction, now: dt.datetime) -> None:
    """A reversal is proposed within the configured number of working days after the original executed."""
    executed = original.executed_at or original.created_at
    days = reversal_window_working_days()
    if now > _after_working_days(executed, days):
        raise Conflict(_("A movement can be reversed only within %(days)s working days of its execution.") % {
            "days": days}, "reversal_window_passed", "transaction")


def reversal_targets(original: Transaction, back_to_id: int) -> set[int]:
    """The accounts a reversal of ``original`` puts units back into."""
    return {leg_from or back_to_id for leg_from in original.legs.values_list("from_account_id", flat=True)}


def check_reversal_targets(accounts) -> None:
    """Never reverse into a frozen, closed or not yet open account."""
    for account in accounts:
        if account.status not in REVERSAL_TARGET_STATUSES:
            raise Conflict(_("Account %(number)s is %(status)s: a reversal may not put units back into it.") % {
                "number": account.number, "status": account.get_status_display()}, "account_not_open",
                "transaction")


# --------------------------------------------------------------------------------------------- issuance

def _pending_issuance(instrument: Instrument) -> int:
    return Transaction.objects.filter(kind=TK.ISSUANCE, instrument=instrument,
                                      status=TS.AWAITING_APPROVAL).aggregate(n=Sum("quantity"))["n"] or 0


def check_issuance(*, instrument: Instrument, quantity: int, to_account: Account | None,
                   deliver_to: Account) -> Instrument:
    """Lock the instrument and refuse an issuance outside the national issuance account, a second pending
    one to the same destination, or one above the vintage's plan total. Returns the locked instrument."""
    if to_account is not None and to_account.kind != K.NATIONAL_ISSUANCE:
        raise DomainError(_("Units are issued into the national issuance account only; name the account they go "
                            "to next as the destination."), "issuance_not_national", "to_account")
    (locked,) = lock_rows(Instrument.objects.filter(pk=instrument.pk))
    if Transaction.objects.filter(kind=TK.ISSUANCE, instrument=locked, deliver_to=deliver_to,
                                  status=TS.AWAITING_APPROVAL).exists():
        raise Conflict(_("An issuance of %(code)s is already awaiting approval.") % {"code": locked.code},
                       "pending_issuance", "instrument")
    check_cap(locked, quantity, pending=_pending_issuance(locked))
    return locked


def check_cap(instrument: Instrument, quantity: int, *, pending: int = 0) -> None:
    """Never above the plan's total for the vintage (``issuance_cap``), counting proposals still pending."""
    cap = instrument.issuance_cap
    if cap is not None and instrument.issued + pending + quantity > cap:
        raise DomainError(_("%(code)s: issuing %(q)s would exceed the plan's total of %(cap)s (issued %(issued)s, "
                            "pending %(pending)s).") % {"code": instrument.code, "q": f"{quantity:,}",
                                                        "cap": f"{cap:,}", "issued": f"{instrument.issued:,}",
                                                        "pending": f"{pending:,}"},
                          "above_plan_total", "quantity")


def create_issuance(**fields) -> Transaction:
    """Insert the proposal; the unique constraint turns a concurrent duplicate into a Conflict."""
    try:
        with transaction.atomic():
            return Transaction.objects.create(**fields)
    except IntegrityError:
        raise Conflict(_("An issuance of this instrument is already awaiting approval."), "pending_issuance",
                       "instrument")


def deliver_issuance(tx: Transaction, now) -> Transaction | None:
    """After an issuance: move the new units from the national issuance account to ``deliver_to``.

    A completed ``delivery`` transaction of its own (the issuance's legs stay ``None -> national
    issuance``), by the same proposer and approver, so the serials' trace shows both steps; a kind of
    its own keeps it out of transfer counts and of the rules for holders' transfers.
    """
    if tx.deliver_to_id is None or tx.deliver_to_id == tx.to_account_id:
        return None
    accounts = services._lock(tx.to_account, tx.deliver_to)
    recipient = accounts[tx.deliver_to_id]
    services._check_recipient(recipient, TK.ISSUANCE)
    delivery = Transaction(kind=TK.DELIVERY, status=TS.COMPLETED, executed_at=now, instrument_id=tx.instrument_id,
                           quantity=tx.quantity, from_account_id=tx.to_account_id, to_account=recipient,
                           reference=f"issuance:{tx.pk}", proposed_by=tx.proposed_by, approved_by=tx.approved_by)
    services._move(delivery, from_account=accounts[tx.to_account_id], to_account=recipient, quantity=tx.quantity,
                   now=now)
    services._audit_tx(tx.approved_by, delivery, "deliver_issuance")
    return delivery


@transaction.atomic
def instrument_set_issuance_cap(*, actor, instrument: Instrument, cap: int, reference: str = "") -> Instrument:
    """Record the plan's total for a vintage (the allowances service calls this when a plan is approved).

    National regulators or the system only; never below what is issued plus what is pending.
    """
    services._require_regulator(actor, national_only=True, field="cap")
    cap = services._quantity(cap, field="cap")
    (locked,) = lock_rows(Instrument.objects.filter(pk=instrument.pk))
    floor = locked.issued + _pending_issuance(locked)
    if cap < floor:
        raise DomainError(_("%(code)s: the total cannot be below %(floor)s already issued or pending.") % {
            "code": locked.code, "floor": f"{floor:,}"}, "below_issued", "cap")
    before = locked.issuance_cap
    Instrument.objects.filter(pk=locked.pk).update(issuance_cap=cap)
    locked.issuance_cap = cap
    audit_record(actor=actor, action="registry.instrument.issuance_cap", obj=locked, before={"issuance_cap": before},
                 after={"issuance_cap": cap, "reference": reference})
    return locked


# --------------------------------------------------------------------------------------------- withdrawal

def check_no_pending_withdrawal(instrument: Instrument, account_ids, *, field: str = "account") -> None:
    """One pending withdrawal per account and vintage (single-account proposals and bulk lines alike).

    Locks the instrument row first, so two proposals for one vintage are checked one after the other.
    """
    lock_rows(Instrument.objects.filter(pk=instrument.pk))
    ids = list(account_ids)
    single = Transaction.objects.filter(kind=TK.WITHDRAWAL, instrument=instrument, status__in=PENDING,
                                        from_account_id__in=ids).values_list("from_account_id", flat=True)
    bulk = BulkWithdrawalLine.objects.filter(transaction__kind=TK.WITHDRAWAL, transaction__instrument=instrument,
                                             transaction__status__in=PENDING, withdrawn__isnull=True,
                                             account_id__in=ids).values_list("account_id", flat=True)
    clash = sorted({*single, *bulk})
    if clash:
        raise Conflict(_("A withdrawal of %(code)s from account %(id)s is already pending.") % {
            "code": instrument.code, "id": clash[0]}, "pending_withdrawal",
            field if field == "account" else f"{field}[{clash[0]}]")


# --------------------------------------------------------------------------------------------- second approval

def retirement_waits(actor, sender: Account) -> bool:
    """A person's surrender, cancellation or retirement waits when the account requires a second approval."""
    return actor is not None and sender.requires_second_approval


def retirement_request(*, actor, kind: str, sender: Account, target: Account, instrument: Instrument,
                       quantity: int, reference: str, **fields) -> Transaction:
    """Reserve the units and leave the request awaiting another representative (``transaction_approve``)."""
    reservation = services._reserve(sender, instrument, quantity, actor=actor, reference=f"{kind} {reference}")
    tx = Transaction.objects.create(kind=kind, status=TS.AWAITING_APPROVAL, instrument=instrument,
                                    quantity=quantity, from_account=sender, to_account=target,
                                    reference=(reference or "")[:120], reservation=reservation,
                                    proposed_by=actor if getattr(actor, "pk", None) else None, **fields)
    services._audit_tx(actor, tx, "create")
    return tx
