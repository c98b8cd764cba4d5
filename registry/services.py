"""Writes to the registry: every movement of units, each atomic, locked, audited and refused when not allowed.

Serial numbers
    Each instrument has one series starting at 1. A serial renders as ``{prefix}-{number:012d}``
    where prefix is ``CN-{instrument code}``: ``CN-CEA21-000000000001``; CCER codes carry the
    project reference: ``CN-CCER-P000123-2024-000000000001``. A holding is a set of blocks
    (inclusive ranges), rendered ``CN-CEA21-000000000001…CN-CEA21-000000500000``.
    Instrument codes: CEA19-20 (vintage 2019 or 2020), CEA21, CEA22, ...; CCER-{project_ref}-{vintage}.

Accounts
    Numbers ``CN-{kind code}-{id:07d}``: 100-150 national accounts, 200 provincial, 300 entity holding,
    400 trading participant (e.g. ``CN-300-0000042``). Who acts for an account: its named representatives
    (initiate and approve / approve / read, each suspendable); an account with none named is acted for by
    its holder's own users (entity users and integrators of the entity; participants and project owners
    of the organisation). Statuses: proposed, open, partially_frozen (receives, does not send),
    fully_frozen (suspended), restricted (compliance transactions only), closed (only when empty, no open work).

Block order
    A movement of N units takes the sender's available blocks lowest serial first and splits the
    last one (the lower part moves, the upper part stays). Received ranges merge with an adjacent
    block of the same holder and state.

Public functions (keyword-only; ``actor`` is the acting User, or None for the system itself)
    Instruments and accounts
        instrument_get_or_create_cea(vintage) -> Instrument
        instrument_create_ccer(project_ref, vintage) -> Instrument   (returns the existing one if any)
        national_account(kind), provincial_account(province) -> Account   (opened on demand)
        account_for_entity(entity, create=True), account_for_organisation(org, create=True) -> Account | None
        account_apply(actor, kind, name, entity=None, organisation=None, province=None) -> Account (proposed)
        account_approve_opening(actor, account) (never by its applicant) / account_reject_opening(actor, account,
            comment)
        account_set_status(actor, account, status, comment); account_close_propose(actor, account, comment)
            -> Transaction (four-eyes; on approval the account closes, its representatives end, its trusted links go)
        account_set_second_approval(actor, account, required)
        representative_add(actor, account, user, right) (proposed, four-eyes); representative_set_status(actor,
            representative, status, comment) (suspension at once, restoring four-eyes)
        trusted_account_add(actor, account, trusted, description="") (open accounts, active after a delay);
            trusted_account_remove(actor, account, trusted)
        instrument_set_issuance_cap(actor, instrument, cap, reference="")   the plan's total for a vintage
        The governance rules, their settings and sources: registry.governance.
    Movements (each returns the Transaction)
        issuance_propose(actor, instrument, quantity, deliver_to=None, to_account=None, reason="", reference="")
            four-eyes; issued into the national issuance account, then delivered to ``deliver_to`` (default:
            CEA -> national allocation account, CCER -> stays); a system proposal
            (actor=None, e.g. a CCER registration reviewed in the voluntary app, or a borrowing approved by a
            province in the allowances app: next-vintage CEAs straight to the entity) still needs a national
            regulator to approve
        transaction_approve(actor, transaction)   executes a four-eyes proposal (another regulator) or a
            transfer awaiting a second representative
        transaction_reject(actor, transaction, reason); transaction_cancel(actor, transaction, reason="")
        transfer_create(actor, from_account, to_account, instrument, quantity, kind="transfer", reference="")
            never into a national management account (units reach those only by the movements that own
            them); immediate when: kind != "transfer", actor is None, the recipient is on the sender's
            trusted list or belongs to the same holder; otherwise DELAYED by
            settings.REGISTRY_TRANSFER_DELAY_HOURS working hours (default 26; units reserved, cancellable).
            AWAITING_APPROVAL first when the account requires a second representative.
        transfers_execute_due(now=None) -> int    runs delayed transfers whose time has come (Celery beat)
        allocation_execute(actor, instrument, allocations: {account_id: qty}, reference, job=None)
            from the national allocation account, in chunks (one DB transaction each); rerun with the
            same reference resumes and never doubles;
        allocation_enqueue(actor, instrument, allocations, reference) -> Job   (the same as a background job)
        surrender_execute(actor, account, instrument, quantity, compliance_year, reference="")   CEAs only, of a
            vintage the year lists (registry.vintages); called by compliance.services.surrender only (it owns
            the obligation's rules);
            these three wait for a second representative when the account requires one
        ccer_cancel(actor, account, instrument, quantity, purpose, beneficiary="", reference="",
            compliance_year)   ETS offsets, for compliance through voluntary.services.offset_cancel only
        voluntary_retire(actor, account, instrument, quantity, beneficiary, purpose="", reference="")
        deduction_propose(actor, account, instrument, quantity, reason, kind="deduction"|"withdrawal")
            deduction -> national deletion account, withdrawal -> national allocation account
        withdrawal_bulk_propose(actor, instrument, withdrawals: {account_id: qty}, reason, kind="withdrawal",
            reference="")   one four-eyes proposal over many accounts (a line per account, no from_account,
            nothing reserved); national regulators only
        withdrawal_bulk_approve(actor, transaction, job=None) -> {account_id: uncovered}   a second national
            regulator approves; executed in chunks of BULK_WITHDRAWAL_CHUNK accounts (one DB transaction
            each, accounts locked in pk order, set-based SQL, bulk legs), each account giving at most what
            it holds available then (never a negative balance; a fully frozen or closed account gives
            nothing); the uncovered rest per account is returned so the caller records an obligation.
            Resumable (rerun executes only lines not yet done); tx.quantity ends as what was withdrawn
            (CANCELLED when nothing was). transaction_approve on such a proposal runs it in one DB transaction.
        freeze_propose(actor, account, instrument, quantity, freeze_kind, reason); unfreeze_propose(actor, freeze,
            reason)
        reversal_propose(actor, transaction, reason)   once per transaction, four-eyes, within the reversal window;
            never a surrender or offset cancellation of a closed compliance year
        compliance_years_close(actor, years) / compliance_years_reopen(actor, years)   (compliance's closing)
    Reservations (trading)
        units_reserve(actor, account, instrument, quantity, reference="", sellable_on=None) -> Reservation
            with ``sellable_on=date`` units bought (trade legs in) on that date cannot be reserved (T+1)
        reservation_release(reservation, quantity=None, actor=None) -> Reservation
        reservation_settle(reservation, to_account, quantity, reference="", actor=None) -> Transaction (kind trade)
            atomic: call it inside the trade's own transaction.atomic for delivery versus payment
        reservations_settle(instrument, reserve: [Reservation], deliveries: [Delivery], sellable_on=None,
            actor=None) -> [Transaction]   many sell orders' reservations and trades' deliveries at once
            (trading's batched order entry), inside the caller's transaction

Reads (registry.selectors)
    balance(account, instrument) -> Balance(total, available, reserved, frozen); holdings_for(user);
    holdings_by_vintage(account); accounts_visible_to(user); account_get(user=, pk=); account_by_number(number);
    instrument_get(code); transactions_visible_to(user); transactions_of(account); approval_queue(user);
    account_statement(account=, instrument=None, start=None, end=None); units_bought_on(account=, instrument=, day=);
    surrendered_for(account=, compliance_year=) -> {"cea": t, "ccer": t}; serial_history(instrument, serial);
    parse_serial(text); vintage_totals(). Invariants: registry.ledger.ledger_check() / manage.py check_ledger.

Errors: DomainError (400, field named), Forbidden (403), NotFound (404), Conflict (409), Busy (409 lock
timeout, retry). Accounts are locked with cets.common.locks.lock_rows in primary-key order.
"""

import datetime as dt
import json
import re
import uuid
from collections import defaultdict
from contextlib import contextmanager
from copy import copy
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.db import IntegrityError, InternalError, connection, transaction
from django.db import transaction as _db_transaction  # for functions whose parameter is named transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from cets.common import clock
from cets.common.audit import audit_label, audit_record
from cets.common.calendar import is_working_day
from cets.common.errors import Conflict, DomainError, Forbidden
from cets.common.jobs import job_progress
from cets.common.locks import busy_when_locked, lock_pks, lock_rows
from cets.common.money import whole_tonnes
from cets.common.rows import fetch_rows, insert_row, insert_statement, inserted, update_rows

from . import carryover, governance, notify, selectors, vintages
from .models import (
    REGISTRY_PREFIX,
    Account,
    AccountRepresentative,
    Block,
    BulkWithdrawalLine,
    ComplianceYearClosure,
    Freeze,
    Holding,
    Instrument,
    Reservation,
    Transaction,
    TransactionLeg,
    TrustedAccount,
)

K = Account.Kind
S = Account.Status
TK = Transaction.Kind
TS = Transaction.Status

ALLOCATION_CHUNK = 500
MERGE_LIMIT = 20  # ranges per movement beyond which merging with neighbours is skipped (bulk moves)
SQL_MOVE = True  # PostgreSQL: movements through the registry_move function (tests compare it with the Python)


# --------------------------------------------------------------------------------------------- instruments

def instrument_get_or_create_cea(*, vintage: int) -> Instrument:
    """The CEA instrument of a vintage; 2019 and 2020 share CEA19-20 (the first allocation plan)."""
    vintage = int(vintage)
    if not 2019 <= vintage <= 2100:
        raise DomainError(_("A CEA vintage is a year from 2019."), "invalid_vintage", "vintage")
    if vintage in (2019, 2020):
        code, vintage = "CEA19-20", 2020
    else:
        code = f"CEA{vintage % 100:02d}"
    instrument, _created = _get_or_create_instrument(code=code, kind=Instrument.Kind.CEA, vintage=vintage)
    return instrument


def instrument_create_ccer(*, project_ref: str, vintage: int) -> Instrument:
    """The CCER instrument of a project's vintage (created once; later calls return it)."""
    project_ref = (project_ref or "").strip()
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9-]{0,39}", project_ref):
        raise DomainError(_("A project reference is 1-40 letters, digits or hyphens."), "invalid_project_ref",
                          "project_ref")
    vintage = int(vintage)
    if not 2012 <= vintage <= 2100:
        raise DomainError(_("A CCER vintage is a year from 2012."), "invalid_vintage", "vintage")
    instrument, _created = _get_or_create_instrument(code=f"CCER-{project_ref}-{vintage}",
                                                     kind=Instrument.Kind.CCER, vintage=vintage,
                                                     project_ref=project_ref)
    return instrument


def _get_or_create_instrument(*, code: str, **fields) -> tuple[Instrument, bool]:
    try:
        with transaction.atomic():
            return Instrument.objects.get_or_create(code=code, defaults={
                **fields, "serial_prefix": f"{REGISTRY_PREFIX}-{code}"})
    except IntegrityError:
        return Instrument.objects.get(code=code), False


# --------------------------------------------------------------------------------------------- accounts

def _new_number() -> str:
    return f"tmp-{uuid.uuid4().hex[:20]}"


def _create_account(**fields) -> Account:
    """Insert an account and give it its number ``CN-{kind code}-{id:07d}`` (e.g. CN-300-0000042)."""
    account = Account.objects.create(number=_new_number(), **fields)
    account.number = f"CN-{Account.KIND_CODES[account.kind]}-{account.pk:07d}"
    Account.objects.filter(pk=account.pk).update(number=account.number)
    return account


def _open_on_demand(lookup: dict, **fields) -> Account:
    """Find or open a system account (race-safe: the partial unique constraints decide)."""
    account = Account.objects.filter(**lookup).exclude(status=S.CLOSED).first()
    if account:
        return account
    try:
        with transaction.atomic():
            account = _create_account(status=S.OPEN, opened_at=clock.now(), **lookup, **fields)
            audit_record(actor=None, action="registry.account.open", obj=account,
                         after={"number": account.number, "kind": account.kind})
            return account
    except IntegrityError:
        return Account.objects.filter(**lookup).exclude(status=S.CLOSED).get()


def national_account(*, kind: str) -> Account:
    """One of the national management accounts, opened on first use."""
    if kind not in Account.NATIONAL_KINDS:
        raise DomainError(_("Not a national account kind."), "invalid_kind", "kind")
    return _open_on_demand({"kind": kind}, name=str(K(kind).label))


def provincial_account(*, province) -> Account:
    """A province's account (allocations held back from high-risk entities), opened on first use."""
    return _open_on_demand({"kind": K.PROVINCIAL, "province": province}, name=f"{province} {K.PROVINCIAL.label}")


def account_for_entity(*, entity, create: bool = True) -> Account | None:
    """The entity's holding account (not closed); opened by the registry when the entity joins the list."""
    account = Account.objects.filter(kind=K.ENTITY_HOLDING, entity=entity).exclude(status=S.CLOSED).first()
    if account or not create:
        return account
    return _open_on_demand({"kind": K.ENTITY_HOLDING, "entity": entity}, name=entity.name,
                           province_id=entity.province_id)


def account_for_organisation(*, organisation, create: bool = True) -> Account | None:
    """An organisation's trading participant account (project owners hold CCERs in it too)."""
    account = (Account.objects.filter(kind=K.TRADING_PARTICIPANT, organisation=organisation)
               .exclude(status=S.CLOSED).first())
    if account or not create:
        return account
    return _open_on_demand({"kind": K.TRADING_PARTICIPANT, "organisation": organisation}, name=organisation.name,
                           province_id=organisation.province_id)


def _require_regulator(actor, account: Account | None = None, *, national_only: bool = False, field=None) -> None:
    if actor is None:
        return
    if not getattr(actor, "is_regulator", False):
        raise Forbidden(_("Only a regulator may do this."), "not_regulator", field)
    if actor.role == "national_regulator":
        return
    if national_only or account is None or not selectors.regulator_covers(actor, account):
        raise Forbidden(_("This account is outside your jurisdiction."), "outside_jurisdiction", field)


@transaction.atomic
def account_apply(*, actor, kind: str, name: str, entity=None, organisation=None, province=None) -> Account:
    """Apply to open an account: it stays PROPOSED until a regulator approves the opening."""
    if kind not in (K.ENTITY_HOLDING, K.TRADING_PARTICIPANT):
        raise DomainError(_("Only holding and trading participant accounts are applied for."), "invalid_kind", "kind")
    if not (name or "").strip():
        raise DomainError(_("An account needs a name."), "required", "name")
    if kind == K.ENTITY_HOLDING and entity is None:
        raise DomainError(_("A holding account belongs to a key emitting entity."), "required", "entity")
    if kind == K.TRADING_PARTICIPANT and organisation is None:
        raise DomainError(_("A trading participant account belongs to an organisation."), "required", "organisation")
    if actor is not None and not actor.is_regulator:
        own = (entity is not None and actor.acting_entity_id == entity.pk) or (
            organisation is not None and actor.organisation_id == organisation.pk)
        if not own:
            raise Forbidden(_("You may apply only for your own organisation's account."), "not_own", "entity")
    try:
        with transaction.atomic():
            account = _create_account(kind=kind, name=name.strip(), entity=entity, organisation=organisation,
                                      province=province or (entity.province if entity else organisation.province),
                                      applied_by=actor if getattr(actor, "pk", None) else None)
    except IntegrityError:
        raise Conflict(_("This holder already has an account."), "duplicate_account", "entity")
    audit_record(actor=actor, action="registry.account.apply", obj=account,
                 after={"number": account.number, "kind": kind, "status": account.status})
    return account


def _set_status(account: Account, *, old: list[str], new: str, comment: str, actor, action: str, **extra) -> Account:
    """Compare-and-set a status with a comment and an audit entry."""
    if not (comment or "").strip():
        raise DomainError(_("A status change needs a comment."), "required", "comment")
    changed = Account.objects.filter(pk=account.pk, status__in=old).update(status=new, status_comment=comment[:500],
                                                                          **extra)
    if not changed:
        raise Conflict(_("The account is %(status)s; this change is not possible.") % {
            "status": account.get_status_display()}, "wrong_status", "status")
    before = account.status
    account.refresh_from_db()
    audit_record(actor=actor, action=action, obj=account, before={"status": before},
                 after={"status": new, "comment": comment})
    return account


@transaction.atomic
def account_approve_opening(*, actor, account: Account) -> Account:
    """Open an applied-for account: a regulator with jurisdiction other than the applicant (four-eyes)."""
    _require_regulator(actor, account)
    governance.check_opening_approver(actor, account)
    return _set_status(account, old=[S.PROPOSED], new=S.OPEN, comment=_("Opening approved"), actor=actor,
                       action="registry.account.approve_opening", opened_at=clock.now(),
                       opened_by=actor if getattr(actor, "pk", None) else None)


@transaction.atomic
def account_reject_opening(*, actor, account: Account, comment: str) -> Account:
    _require_regulator(actor, account)
    return _set_status(account, old=[S.PROPOSED], new=S.REJECTED, comment=comment, actor=actor,
                       action="registry.account.reject_opening")


@transaction.atomic
def account_set_status(*, actor, account: Account, status: str, comment: str) -> Account:
    """Freeze (partly or fully), restrict or reopen an account; every change needs a comment."""
    _require_regulator(actor, account, field="status")
    movable = [S.OPEN, S.PARTIALLY_FROZEN, S.FULLY_FROZEN, S.RESTRICTED]
    if status not in movable:
        raise DomainError(_("Use the opening or closing actions for this status."), "invalid_status", "status")
    return _set_status(account, old=[s for s in movable if s != status], new=status, comment=comment, actor=actor,
                       action="registry.account.set_status")


account_close_propose = governance.account_close_propose
instrument_set_issuance_cap = governance.instrument_set_issuance_cap


@transaction.atomic
def account_set_second_approval(*, actor, account: Account, required: bool) -> Account:
    """Require (or stop requiring) a second representative's approval of the account's transfers."""
    if actor is not None and not actor.is_regulator and not selectors.can_initiate(actor, account):
        raise Forbidden(_("You may not change this account's settings."), "not_representative", "account")
    if actor is not None and actor.is_regulator:
        _require_regulator(actor, account)
    before = account.requires_second_approval
    Account.objects.filter(pk=account.pk).update(requires_second_approval=bool(required))
    account.requires_second_approval = bool(required)
    audit_record(actor=actor, action="registry.account.second_approval", obj=account,
                 before={"requires_second_approval": before}, after={"requires_second_approval": bool(required)})
    return account


@transaction.atomic
def representative_add(*, actor, account: Account, user, right: str) -> AccountRepresentative:
    """Propose a representative (four-eyes): PROPOSED until a second regulator approves the request, then
    ACTIVE; from then on only named representatives act for the account. Refused on a closed account."""
    _require_regulator(actor, account)
    if right not in AccountRepresentative.Right.values:
        raise DomainError(_("Unknown right."), "invalid_right", "right")
    if user.is_regulator:
        raise DomainError(_("A regulator cannot represent an account holder."), "invalid_user", "user")
    account = _lock(account)[account.pk]
    governance._check_governable(account)
    rep, created = AccountRepresentative.objects.get_or_create(
        account=account, user=user, defaults={"right": right, "status": AccountRepresentative.Status.PROPOSED})
    if not created:
        if rep.status != AccountRepresentative.Status.ENDED:
            raise Conflict(_("This person already represents the account."), "duplicate_representative", "user")
        rep.right, rep.status = right, AccountRepresentative.Status.PROPOSED  # named again after an ended role
        rep.save(update_fields=["right", "status"])
    audit_record(actor=actor, action="registry.representative.add", obj=rep,
                 after={"account": account.number, "user": user.pk, "right": right, "status": rep.status})
    governance.representative_request(actor=actor, representative=rep, kind=TK.REPRESENTATIVE_ADD)
    return rep


@transaction.atomic
def representative_set_status(*, actor, representative: AccountRepresentative, status: str,
                              comment: str) -> AccountRepresentative:
    """Suspend a representative at once, or propose restoring a suspended one (four-eyes, not on a closed
    account): the representative stays suspended until a second regulator approves."""
    RS = AccountRepresentative.Status
    _require_regulator(actor, representative.account)
    if status not in (RS.ACTIVE, RS.SUSPENDED):
        raise DomainError(_("Unknown status."), "invalid_status", "status")
    if not (comment or "").strip():
        raise DomainError(_("A status change needs a comment."), "required", "comment")
    expected = RS.SUSPENDED if status == RS.ACTIVE else RS.ACTIVE
    if representative.status != expected:
        raise Conflict(_("The representative is %(status)s.") % {"status": representative.get_status_display()},
                       "wrong_status", "status")
    if status == RS.ACTIVE:
        governance._check_governable(_lock(representative.account)[representative.account_id])
        governance.representative_request(actor=actor, representative=representative,
                                          kind=TK.REPRESENTATIVE_RESTORE, reason=comment)
        return representative
    before = representative.status
    representative.status = status
    representative.save(update_fields=["status"])
    audit_record(actor=actor, action="registry.representative.set_status", obj=representative,
                 before={"status": before}, after={"status": status, "comment": comment})
    return representative


@transaction.atomic
def trusted_account_add(*, actor, account: Account, trusted: Account, description: str = "") -> TrustedAccount:
    """Put an open account on an open account's trusted list (a representative or regulator): from
    ``active_from`` (a delay of working days, ``registry.governance``) transfers to it run at once."""
    if actor is not None and not actor.is_regulator and not selectors.can_initiate(actor, account):
        raise Forbidden(_("You may not change this account's trusted list."), "not_representative", "account")
    if account.pk == trusted.pk:
        raise DomainError(_("An account cannot trust itself."), "same_account", "trusted")
    locked = _lock(account, trusted)
    governance.check_trusted_pair(locked[account.pk], locked[trusted.pk])
    active_from = governance.trusted_active_from(clock.now())
    entry, created = TrustedAccount.objects.get_or_create(account=account, trusted=trusted, defaults={
        "description": description[:200], "active_from": active_from})
    if not created:
        raise Conflict(_("The account is already trusted."), "duplicate_trusted", "trusted")
    audit_record(actor=actor, action="registry.trusted.add", obj=entry,
                 after={"account": account.number, "trusted": trusted.number, "active_from": active_from.isoformat()})
    return entry


@transaction.atomic
def trusted_account_remove(*, actor, account: Account, trusted: Account) -> None:
    if actor is not None and not actor.is_regulator and not selectors.can_initiate(actor, account):
        raise Forbidden(_("You may not change this account's trusted list."), "not_representative", "account")
    deleted, _rows = TrustedAccount.objects.filter(account=account, trusted=trusted).delete()
    if not deleted:
        raise Conflict(_("The account is not on the trusted list."), "not_trusted", "trusted")
    audit_record(actor=actor, action="registry.trusted.remove", object_type="registry.trustedaccount",
                 object_id=f"{account.pk}-{trusted.pk}", before={"trusted": trusted.number})


# --------------------------------------------------------------------------------------------- block mechanics
#
# Every movement runs these few statements, so they are plain SQL (portable between PostgreSQL and SQLite):
# the ORM's query building cost about as much client CPU as the database work (docs/benchmarks/registry.md).

BLOCK = Block._meta.db_table
HOLDING = Holding._meta.db_table
BULK_LINE = BulkWithdrawalLine._meta.db_table


def _state_sql(reservation_id, freeze_id) -> tuple[str, list]:
    """SQL selecting blocks in one state: available (both NULL), of a reservation, or of a freeze."""
    parts, params = [], []
    for column, value in (("reservation_id", reservation_id), ("freeze_id", freeze_id)):
        if value is None:
            parts.append(f"{column} IS NULL")
        else:
            parts.append(f"{column} = %s")
            params.append(value)
    return " AND ".join(parts), params


def _take(account_id: int, instrument_id: int, quantity: int, *, reservation_id=None, freeze_id=None) -> list:
    """Detach ``quantity`` units from the account's blocks in one state, lowest serial first.

    Whole blocks are deleted and the last one is shrunk (its upper part stays), so the ranges
    returned no longer exist as blocks when the caller places them elsewhere (no transient overlap).
    The caller holds the account's lock and has checked the quantity against the cached balance.
    """
    state, params = _state_sql(reservation_id, freeze_id)
    select = (f"SELECT id, serial_start, serial_end FROM {BLOCK} WHERE account_id = %s AND instrument_id = %s "
              f"AND {state} ORDER BY serial_start LIMIT 1000 OFFSET %s")
    need, ranges, whole, offset = quantity, [], [], 0
    with connection.cursor() as cur:
        while need > 0:
            cur.execute(select, [account_id, instrument_id, *params, offset])
            batch = cur.fetchall()
            if not batch:
                raise Conflict(_("The account's blocks do not cover the quantity."), "ledger_mismatch", "quantity")
            for pk, start, end in batch:
                size = end - start + 1
                if size <= need:
                    ranges.append((start, end))
                    whole.append(pk)
                    need -= size
                else:
                    ranges.append((start, start + need - 1))
                    cur.execute(f"UPDATE {BLOCK} SET serial_start = %s WHERE id = %s", [start + need, pk])
                    need = 0
                if need == 0:
                    break
            offset += len(batch)
        for i in range(0, len(whole), 5000):
            chunk = whole[i:i + 5000]
            cur.execute(f"DELETE FROM {BLOCK} WHERE id IN ({', '.join(['%s'] * len(chunk))})", chunk)
    return ranges


def _coalesce(ranges: list) -> list:
    merged: list = []
    for start, end in sorted(ranges):
        if merged and merged[-1][1] + 1 == start:
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _place(account_id: int, instrument_id: int, ranges: list, *, reservation_id=None, freeze_id=None) -> None:
    """Create blocks for ``ranges``, merged with each other and with an adjacent block in the same state.

    Bulk moves (more than MERGE_LIMIT ranges) skip the neighbour lookups and insert in batches.
    """
    ranges = _coalesce(ranges)
    if len(ranges) > MERGE_LIMIT:
        Block.objects.bulk_create([Block(account_id=account_id, instrument_id=instrument_id, serial_start=start,
                                         serial_end=end, reservation_id=reservation_id, freeze_id=freeze_id)
                                   for start, end in ranges], batch_size=5000)
        return
    state, params = _state_sql(reservation_id, freeze_id)
    neighbours = (f"SELECT id, serial_end FROM {BLOCK} WHERE account_id = %s AND instrument_id = %s "
                  f"AND {state} AND (serial_end = %s OR serial_start = %s)")
    insert = (f"INSERT INTO {BLOCK} (instrument_id, account_id, serial_start, serial_end, reservation_id, "
              f"freeze_id) VALUES (%s, %s, %s, %s, %s, %s)")
    with connection.cursor() as cur:
        for start, end in ranges:
            cur.execute(neighbours, [account_id, instrument_id, *params, start - 1, end + 1])
            before = after = None
            for pk, hi in cur.fetchall():
                if hi == start - 1:
                    before = pk
                else:
                    after = (pk, hi)
            if after is not None:  # delete first: the merged range must not overlap it even for a moment
                cur.execute(f"DELETE FROM {BLOCK} WHERE id = %s", [after[0]])
                end = after[1]
            if before is not None:
                cur.execute(f"UPDATE {BLOCK} SET serial_end = %s WHERE id = %s", [end, before])
            else:
                cur.execute(insert, [instrument_id, account_id, start, end, reservation_id, freeze_id])


def _adjust(account_id: int, instrument_id: int, *, total: int = 0, reserved: int = 0, frozen: int = 0) -> None:
    """Change the cached balance (the account is locked, so the read-modify-write is safe)."""
    updated = Holding.objects.filter(account_id=account_id, instrument_id=instrument_id).update(
        total=F("total") + total, reserved=F("reserved") + reserved, frozen=F("frozen") + frozen)
    if not updated:
        Holding.objects.create(account_id=account_id, instrument_id=instrument_id, total=total, reserved=reserved,
                               frozen=frozen)


def _adjust_pair(from_id: int, to_id: int, instrument_id: int, quantity: int, *, state: str | None) -> None:
    """Both cached balances of a movement in one UPDATE (hot path: every transfer and trade)."""
    sets = "total = total + CASE WHEN account_id = %s THEN %s ELSE %s END"
    params = [from_id, -quantity, quantity]
    if state:  # the units left a reservation or a freeze of the sender
        sets += f", {state} = {state} - CASE WHEN account_id = %s THEN %s ELSE 0 END"
        params += [from_id, quantity]
    with connection.cursor() as cur:
        cur.execute(f"UPDATE {HOLDING} SET {sets} WHERE instrument_id = %s AND account_id IN (%s, %s)",
                    [*params, instrument_id, from_id, to_id])
        updated = cur.rowcount
    if updated < 2:  # the sender always has a holding (checked), so the recipient's is new
        Holding.objects.create(account_id=to_id, instrument_id=instrument_id, total=quantity)


def _legs(tx: Transaction, from_id, to_id: int, ranges: list, now) -> list[TransactionLeg]:
    return [TransactionLeg(transaction=tx, instrument_id=tx.instrument_id, from_account_id=from_id,
                           to_account_id=to_id, serial_start=s, serial_end=e, quantity=e - s + 1, executed_at=now)
            for s, e in ranges]


def _relocate(instrument_id: int, quantity: int, *, from_id: int, to_id: int, from_state=(None, None),
              to_state=(None, None), tx: Transaction | None = None, now=None) -> list:
    """Move ``quantity`` units from one account and state (reservation, freeze) to another; return the ranges.

    With ``tx`` the legs are written and both cached balances (total, and the sender's state) adjusted;
    a ``tx`` without a primary key is inserted first.
    On PostgreSQL this is one call of ``registry_move`` (migration 0007), the same steps as the
    statement-by-statement Python below, which runs on SQLite (and on PostgreSQL when SQL_MOVE is off).
    """
    if SQL_MOVE and connection.vendor == "postgresql":
        params = [instrument_id, quantity, from_id, *from_state, to_id, *to_state]
        if tx is not None and tx.pk is None:  # insert the transaction in the same round trip
            insert, insert_params = insert_statement(tx)
            tx_id = f"currval('{_tx_sequence()}')"
            sql = f"{insert}; SELECT range_start, range_end, {tx_id} "
            params = [*insert_params, *params]
        else:
            tx_id = "%s"
            sql = "SELECT range_start, range_end, NULL "
            params.append(getattr(tx, "pk", None))
        sql += f"FROM registry_move(%s, %s, %s, %s, %s, %s, %s, %s, {tx_id}, %s, %s)"
        with _blocks_must_cover(), connection.cursor() as cur:
            cur.execute(sql, [*params, now, MERGE_LIMIT])
            rows = cur.fetchall()
        if tx is not None and tx.pk is None:
            inserted(tx, rows[0][2])
        return [(start, end) for start, end, _tx in rows]
    if tx is not None and tx.pk is None:
        insert_row(tx)
    ranges = _coalesce(_take(from_id, instrument_id, quantity, reservation_id=from_state[0], freeze_id=from_state[1]))
    _place(to_id, instrument_id, ranges, reservation_id=to_state[0], freeze_id=to_state[1])
    if tx is not None:
        TransactionLeg.objects.bulk_create(_legs(tx, from_id, to_id, ranges, now), batch_size=5000)
        _adjust_pair(from_id, to_id, instrument_id, quantity,
                     state="reserved" if from_state[0] else "frozen" if from_state[1] else None)
    return ranges


@contextmanager
def _blocks_must_cover():
    """``registry_move`` raising ``ledger_mismatch`` (blocks short of the cached balance) -> Conflict."""
    try:
        yield
    except InternalError as exc:
        if "ledger_mismatch" not in str(exc):
            raise
        raise Conflict(_("The account's blocks do not cover the quantity."), "ledger_mismatch", "quantity") from exc


@cache
def _tx_sequence() -> str:
    with connection.cursor() as cur:
        cur.execute("SELECT pg_get_serial_sequence(%s, 'id')", [Transaction._meta.db_table])
        return cur.fetchone()[0]


def _move(tx: Transaction, *, from_account: Account, to_account: Account, quantity: int, reservation=None,
          freeze=None, now) -> list:
    """Move units (free, or of a reservation/freeze) and write the legs. Accounts are locked by the caller.

    A ``tx`` not saved yet is inserted with the movement (one round trip on PostgreSQL).
    """
    return _relocate(tx.instrument_id, quantity, from_id=from_account.pk, to_id=to_account.pk,
                     from_state=(getattr(reservation, "pk", None), getattr(freeze, "pk", None)), tx=tx, now=now)


# --------------------------------------------------------------------------------------------- checks

def _quantity(value, field="quantity") -> int:
    return whole_tonnes(value, field=field)


HOLDING_COLUMNS = (("held_id", "h.id"), ("held_total", "h.total"), ("held_reserved", "h.reserved"),
                   ("held_frozen", "h.frozen"))


def _lock(*accounts: Account, holding_of: Instrument | None = None) -> dict[int, Account]:
    """Lock accounts in pk order and return fresh copies (statuses may have changed since they were read).

    With ``holding_of`` each copy also carries its holding of that instrument, read in the same statement.
    """
    ids = [a.pk for a in accounts if a is not None]
    if holding_of is None:
        return {a.pk: a for a in lock_pks(Account, ids)}
    join = f"LEFT JOIN {HOLDING} h ON h.account_id = {Account._meta.db_table}.id AND h.instrument_id = %s"
    locked = lock_pks(Account, ids, join=join, join_params=[holding_of.pk], extra=HOLDING_COLUMNS)
    for account in locked:
        account.held = None if account.held_id is None else Holding(
            id=account.held_id, account_id=account.pk, instrument_id=holding_of.pk, total=account.held_total,
            reserved=account.held_reserved, frozen=account.held_frozen)
        account.held_instrument_id = holding_of.pk
    return {a.pk: a for a in locked}


def _sendable(kind: str, *, by_regulator: bool = False) -> list[str]:
    """The statuses from which an account may send units by a transaction of ``kind``."""
    statuses = [S.OPEN]
    if kind in Transaction.COMPLIANCE_KINDS:
        statuses.append(S.RESTRICTED)
    if by_regulator:
        statuses.append(S.PARTIALLY_FROZEN)
    return statuses


def _receivable(kind: str) -> list[str]:
    """The statuses in which an account may receive units by a transaction of ``kind``."""
    statuses = [S.OPEN, S.PARTIALLY_FROZEN]
    if kind in Transaction.COMPLIANCE_KINDS:
        statuses.append(S.RESTRICTED)
    return statuses


def _check_sender(account: Account, kind: str, *, by_regulator: bool = False) -> None:
    if account.status in _sendable(kind, by_regulator=by_regulator):
        return
    raise Conflict(_("Account %(number)s is %(status)s: it may not send units.") % {
        "number": account.number, "status": account.get_status_display()}, "account_not_open", "from_account")


def _check_recipient(account: Account, kind: str) -> None:
    if account.status in _receivable(kind):
        return
    raise Conflict(_("Account %(number)s is %(status)s: it may not receive units.") % {
        "number": account.number, "status": account.get_status_display()}, "account_not_open", "to_account")


def _check_available(account: Account, instrument: Instrument, quantity: int, *, sellable_on=None) -> Holding:
    """Refuse unless ``quantity`` is available (the holding read by ``_lock(holding_of=)`` when it was)."""
    if hasattr(account, "held") and account.held_instrument_id == instrument.pk:
        holding = account.held
    else:
        holding = next(iter(fetch_rows(Holding, "account_id = %s AND instrument_id = %s",
                                       [account.pk, instrument.pk])), None)
    if holding is None or holding.total == 0:
        raise DomainError(_("Account %(number)s holds no %(code)s.") % {"number": account.number,
                                                                       "code": instrument.code},
                          "not_held", "instrument")
    available = holding.available
    if sellable_on is not None:
        available -= selectors.units_bought_on(account=account, instrument=instrument, day=sellable_on)
    if available < quantity:
        raise DomainError(_("Only %(available)s %(code)s are available, %(quantity)s requested.") % {
            "available": f"{max(available, 0):,}", "code": instrument.code, "quantity": f"{quantity:,}"},
            "insufficient_units", "quantity")
    return holding


def _check_not_national(account: Account) -> None:
    """Units reach a national management account only by the movement that owns it (issuance, allocation
    return, surrender, cancellation, retirement, deduction, withdrawal), never by a plain transfer or trade."""
    if account.is_national:
        raise DomainError(_("Account %(number)s is a national management account: units reach it only by "
                            "surrender, cancellation, retirement or a regulator's four-eyes decision, never by a "
                            "transfer.") % {"number": account.number}, "national_account", "to_account")


def _check_cea(instrument: Instrument, what: str) -> None:
    """Allocation, surrender and withdrawal into the allocation account move CEAs only (CCERs offset by
    cancellation, within the cap, through compliance)."""
    if instrument.kind != Instrument.Kind.CEA:
        raise DomainError(_("%(what)s takes CEAs only; %(code)s is a CCER.") % {"what": what, "code": instrument.code},
                          "ccer_not_allowed", "instrument")


def _check_initiator(actor, account: Account) -> None:
    if actor is None:
        return
    if not selectors.can_initiate(actor, account):
        raise Forbidden(_("You may not initiate transactions from account %(number)s.") % {"number": account.number},
                        "not_representative", "from_account")


def _tx_summary(tx: Transaction) -> dict:
    return {"kind": tx.kind, "status": tx.status, "quantity": tx.quantity,
            "instrument": tx.instrument.code if tx.instrument_id else None,
            "from": tx.from_account_id, "to": tx.to_account_id, "reference": tx.reference}


def _audit_tx(actor, tx: Transaction, action: str, before: str | None = None) -> None:
    audit_record(actor=actor, action=f"registry.transaction.{action}", obj=tx,
                 before={"status": before} if before else None, after=_tx_summary(tx))
    notify.transaction_notify(tx, action)


def _reserve(account: Account, instrument: Instrument, quantity: int, *, actor, reference: str) -> Reservation:
    reservation = Reservation.objects.create(account=account, instrument=instrument, quantity=quantity,
                                             original_quantity=quantity, reference=reference[:120],
                                             created_by=actor if getattr(actor, "pk", None) else None)
    _relocate(instrument.pk, quantity, from_id=account.pk, to_id=account.pk, to_state=(reservation.pk, None))
    _adjust(account.pk, instrument.pk, reserved=quantity)
    return reservation


def _release(reservation: Reservation, quantity: int) -> None:
    _relocate(reservation.instrument_id, quantity, from_id=reservation.account_id, to_id=reservation.account_id,
              from_state=(reservation.pk, None))
    _adjust(reservation.account_id, reservation.instrument_id, reserved=-quantity)
    _consume(reservation, quantity)


def _consume(reservation: Reservation, quantity: int) -> None:
    reservation.quantity -= quantity
    if reservation.quantity == 0:
        reservation.status = Reservation.Status.CLOSED
    reservation.save(update_fields=["quantity", "status"])


def _is_trusted(from_account: Account, to_account: Account) -> bool:
    if from_account.entity_id and from_account.entity_id == to_account.entity_id:
        return True
    if from_account.organisation_id and from_account.organisation_id == to_account.organisation_id:
        return True
    return TrustedAccount.objects.filter(account=from_account, trusted=to_account,
                                         active_from__lte=clock.now()).exists()


def transfer_delay_hours() -> int:
    """Working hours a transfer to an untrusted account waits (EU/UK registries: 26 hours)."""
    return int(getattr(settings, "REGISTRY_TRANSFER_DELAY_HOURS", 26))


def delay_until(start: dt.datetime, hours: int) -> dt.datetime:
    """``start`` plus ``hours`` hours counted on working days only (weekends and holidays do not count)."""
    moment = timezone.localtime(start)
    remaining = hours
    known: dict[dt.date, bool] = {}
    while remaining > 0:
        moment += dt.timedelta(hours=1)
        day = moment.date()
        if day not in known:
            known[day] = is_working_day(day)
        if known[day]:
            remaining -= 1
    return moment


# --------------------------------------------------------------------------------------------- issuance

@transaction.atomic
def issuance_propose(*, actor, instrument: Instrument, quantity, deliver_to: Account | None = None,
                     to_account: Account | None = None, reason: str = "", reference: str = "") -> Transaction:
    """Propose issuing new units (four-eyes: another national regulator approves, then serials are created).

    Units are issued into the national issuance account (``to_account``, if given, must be it) and
    on approval delivered to ``deliver_to``: by default the national allocation account for CEAs,
    none (they stay) for CCERs. One pending issuance per instrument and destination, never above the
    vintage's plan total (``registry.governance``). ``reason`` and ``reference`` name why (e.g. a
    borrowing approved by a province: a system proposal).
    """
    quantity = _quantity(quantity)
    _require_regulator(actor, national_only=True)
    issuing = national_account(kind=K.NATIONAL_ISSUANCE)
    if deliver_to is None:
        deliver_to = national_account(kind=K.NATIONAL_ALLOCATION) if instrument.kind == "cea" else issuing
    instrument = governance.check_issuance(instrument=instrument, quantity=quantity, to_account=to_account,
                                           deliver_to=deliver_to)
    _check_recipient(issuing, TK.ISSUANCE)
    _check_recipient(deliver_to, TK.ISSUANCE)
    tx = governance.create_issuance(kind=TK.ISSUANCE, status=TS.AWAITING_APPROVAL, instrument=instrument,
                                    quantity=quantity, to_account=issuing, deliver_to=deliver_to, proposed_by=actor,
                                    reason=(reason or "").strip()[:500], reference=(reference or "")[:120])
    _audit_tx(actor, tx, "propose")
    return tx


def _execute_issuance(tx: Transaction, now) -> None:
    (instrument,) = lock_rows(Instrument.objects.filter(pk=tx.instrument_id))
    governance.check_cap(instrument, tx.quantity)
    accounts = _lock(tx.to_account)
    _check_recipient(accounts[tx.to_account_id], TK.ISSUANCE)
    start = instrument.next_serial
    end = start + tx.quantity - 1
    Instrument.objects.filter(pk=instrument.pk).update(next_serial=end + 1)
    _place(tx.to_account_id, instrument.pk, [(start, end)])
    TransactionLeg.objects.bulk_create(_legs(tx, None, tx.to_account_id, [(start, end)], now))
    _adjust(tx.to_account_id, instrument.pk, total=tx.quantity)
    governance.deliver_issuance(tx, now)


# --------------------------------------------------------------------------------------------- approvals

def _check_approver(actor, tx: Transaction) -> None:
    """Four-eyes: a regulator with jurisdiction, never the proposer (also a DB constraint)."""
    if actor is None:
        raise Forbidden(_("An approval needs a person."), "not_regulator", None)
    if tx.proposed_by_id == actor.pk:
        raise Forbidden(_("You proposed this transaction; another person must approve it."), "own_proposal", None)
    if tx.kind in Transaction.SECOND_APPROVAL_KINDS:
        if not selectors.can_approve(actor, tx.from_account):
            raise Forbidden(_("Only another representative of account %(number)s may approve.") % {
                "number": tx.from_account.number}, "not_representative", None)
        return
    subject = tx.from_account if tx.kind != TK.ISSUANCE else None
    _require_regulator(actor, subject, national_only=tx.kind in (TK.ISSUANCE, TK.WITHDRAWAL, TK.REVERSAL,
                                                                  TK.CARRY_OVER))


def _check_grouped(tx: Transaction, grouped: bool) -> None:
    """The parts of a carry-over are decided together by their application, never one by one from the queue."""
    if not grouped and carryover.is_carry_over(tx):
        raise Conflict(_("This transaction is part of a carry-over; it is decided with its application."),
                       "carry_over_part", None)


@transaction.atomic
def transaction_approve(*, actor, transaction: Transaction, grouped: bool = False) -> Transaction:
    """Approve and execute a proposal (or a transfer awaiting its second representative).

    A bulk withdrawal approved here (e.g. from the approval queue) runs all its chunks inside this
    one database transaction; ``withdrawal_bulk_approve`` commits chunk by chunk. The parts of a
    carry-over (``registry.carryover``) are approved only through ``carryover.carry_over_decide``.
    """
    tx = transaction
    _check_grouped(tx, grouped)
    if tx.kind in (TK.DEDUCTION, TK.WITHDRAWAL) and tx.from_account_id is None:
        withdrawal_bulk_approve(actor=actor, transaction=tx)
        tx.refresh_from_db()
        return tx
    _check_approver(actor, tx)
    locked = lock_rows(Transaction.objects.filter(pk=tx.pk))[0]
    if locked.status != TS.AWAITING_APPROVAL:
        raise Conflict(_("This transaction is %(status)s, not awaiting approval.") % {
            "status": locked.get_status_display()}, "wrong_status", None)
    tx = locked
    now = clock.now()
    tx.approved_by = actor
    if tx.kind == TK.TRANSFER:
        if _is_trusted(tx.from_account, tx.to_account):
            _execute_reserved(tx, now)
        else:
            tx.status = TS.DELAYED
            tx.not_before = delay_until(now, transfer_delay_hours())
    elif tx.kind == TK.ISSUANCE:
        _execute_issuance(tx, now)
        _complete(tx, now)
    elif tx.kind in (TK.DEDUCTION, TK.WITHDRAWAL, TK.SURRENDER, TK.CCER_CANCELLATION, TK.VOLUNTARY_RETIREMENT,
                     TK.CARRY_OVER):
        _execute_reserved(tx, now)
    elif tx.kind in Transaction.GOVERNANCE_KINDS:
        governance.execute(tx, now)
    elif tx.kind == TK.FREEZE:
        _execute_freeze(tx, now)
    elif tx.kind == TK.UNFREEZE:
        _execute_unfreeze(tx, now)
    elif tx.kind == TK.REVERSAL:
        _execute_reversal(tx, now)
    tx.save()
    _audit_tx(actor, tx, "approve", TS.AWAITING_APPROVAL)
    return tx


def _complete(tx: Transaction, now) -> None:
    tx.status = TS.COMPLETED
    tx.executed_at = now


def _execute_reserved(tx: Transaction, now) -> None:
    """Move the units a transaction reserved at proposal to its destination."""
    accounts = _lock(tx.from_account, tx.to_account)
    _check_recipient(accounts[tx.to_account_id], tx.kind)
    reservation = Reservation.objects.get(pk=tx.reservation_id)
    _move(tx, from_account=accounts[tx.from_account_id], to_account=accounts[tx.to_account_id],
          quantity=tx.quantity, reservation=reservation, now=now)
    _consume(reservation, tx.quantity)
    _complete(tx, now)


@transaction.atomic
def transaction_reject(*, actor, transaction: Transaction, reason: str, grouped: bool = False) -> Transaction:
    """Reject a proposal; reserved units become available again."""
    if not (reason or "").strip():
        raise DomainError(_("A rejection needs a reason."), "required", "reason")
    _check_grouped(transaction, grouped)
    _check_approver(actor, transaction)
    return _end(actor, transaction, TS.REJECTED, reason, [TS.AWAITING_APPROVAL], "reject")


@transaction.atomic
def transaction_cancel(*, actor, transaction: Transaction, reason: str = "") -> Transaction:
    """Cancel a delayed transfer or withdraw one's own proposal; reserved units are released."""
    tx = transaction
    if actor is not None and tx.proposed_by_id != actor.pk:
        allowed = (selectors.can_initiate(actor, tx.from_account)
                   if tx.kind in Transaction.SECOND_APPROVAL_KINDS and tx.from_account
                   else False) or (actor.is_regulator and tx.from_account is not None
                                   and selectors.regulator_covers(actor, tx.from_account))
        if not allowed:
            raise Forbidden(_("You may not cancel this transaction."), "not_representative", None)
    return _end(actor, tx, TS.CANCELLED, reason, [TS.AWAITING_APPROVAL, TS.DELAYED], "cancel")


def _end(actor, tx: Transaction, status: str, reason: str, old: list[str], action: str) -> Transaction:
    locked = lock_rows(Transaction.objects.filter(pk=tx.pk))[0]
    if locked.status not in old:
        raise Conflict(_("This transaction is %(status)s; it can no longer be changed.") % {
            "status": locked.get_status_display()}, "wrong_status", None)
    before = locked.status
    if locked.reservation_id:
        _lock(locked.from_account)
        reservation = Reservation.objects.get(pk=locked.reservation_id)
        if reservation.quantity:
            _release(reservation, reservation.quantity)
    locked.status = status
    locked.reason = (reason or "")[:500]
    locked.save(update_fields=["status", "reason"])
    governance.on_end(locked)
    _audit_tx(actor, locked, action, before)
    return locked


# --------------------------------------------------------------------------------------------- transfers

def transfer_create(*, actor, from_account: Account, to_account: Account, instrument: Instrument, quantity,
                    kind: str = TK.TRANSFER, reference: str = "") -> Transaction:
    """Transfer units between accounts (see the module docstring for when it runs at once).

    Atomic: on PostgreSQL an immediate transfer is one statement (``_transfer_at_once``); everything
    else runs in one database transaction.
    """
    quantity = _quantity(quantity)
    if kind not in (TK.TRANSFER, TK.TRADE):
        raise DomainError(_("Unknown transfer kind."), "invalid_kind", "kind")
    if to_account is None:
        raise DomainError(_("Unknown recipient account."), "unknown_account", "to_account")
    if from_account.pk == to_account.pk:
        raise DomainError(_("An account cannot transfer to itself."), "same_account", "to_account")
    _check_not_national(to_account)
    _check_initiator(actor, from_account)
    if SQL_MOVE and connection.vendor == "postgresql":
        second = actor is not None and from_account.requires_second_approval and kind == TK.TRANSFER
        if not second and (kind != TK.TRANSFER or actor is None or _is_trusted(from_account, to_account)):
            tx = _transfer_at_once(actor=actor, sender=from_account, recipient=to_account, instrument=instrument,
                                   quantity=quantity, kind=kind, reference=reference)
            if tx is not None:
                return tx
    with transaction.atomic():
        return _transfer_locked(actor=actor, from_account=from_account, to_account=to_account,
                                instrument=instrument, quantity=quantity, kind=kind, reference=reference)


def _transfer_locked(*, actor, from_account: Account, to_account: Account, instrument: Instrument, quantity: int,
                     kind: str, reference: str) -> Transaction:
    """The statement-by-statement transfer: lock, check, then move at once or reserve for later."""
    accounts = _lock(from_account, to_account, holding_of=instrument)
    sender, recipient = accounts[from_account.pk], accounts[to_account.pk]
    _check_sender(sender, kind)
    _check_recipient(recipient, kind)
    _check_available(sender, instrument, quantity)
    now = clock.now()
    tx = Transaction(kind=kind, instrument=instrument, quantity=quantity, from_account=sender, to_account=recipient,
                     reference=reference[:120], proposed_by=actor if getattr(actor, "pk", None) else None)
    needs_second = actor is not None and sender.requires_second_approval and kind == TK.TRANSFER
    immediate = kind != TK.TRANSFER or actor is None or _is_trusted(sender, recipient)
    if needs_second or not immediate:
        tx.reservation = _reserve(sender, instrument, quantity, actor=actor, reference=f"transaction {reference}")
        if needs_second:
            tx.status = TS.AWAITING_APPROVAL
        else:
            tx.status = TS.DELAYED
            tx.not_before = delay_until(now, transfer_delay_hours())
        tx.save()
    else:  # recorded completed at once: the row and its legs commit together or not at all
        _complete(tx, now)
        _move(tx, from_account=sender, to_account=recipient, quantity=quantity, now=now)
    _audit_tx(actor, tx, "create")
    return tx


def _transfer_at_once(*, actor, sender: Account, recipient: Account, instrument: Instrument, quantity: int,
                      kind: str, reference: str) -> Transaction | None:
    """PostgreSQL: an immediate transfer with its audit entry in one call (``registry_transfer``, migration
    0008), with the rules of the statement-by-statement path passed in as data. One statement is atomic by
    itself, so outside a caller's transaction it needs no BEGIN and COMMIT of its own.

    The function re-reads both accounts and the holding under the lock and writes nothing when a rule
    fails; the same checks then run here on what it read and raise the same errors. Returns None when
    the sender started to require a second approval meanwhile: the caller takes the general path.
    """
    now = clock.now()
    proposer = actor if getattr(actor, "pk", None) else None
    tx = Transaction(kind=kind, status=TS.COMPLETED, instrument=instrument, quantity=quantity, from_account=sender,
                     to_account=recipient, reference=reference[:120], proposed_by=proposer, created_at=now,
                     executed_at=now)
    sql = "SELECT * FROM registry_transfer(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
    params = [instrument.pk, quantity, sender.pk, recipient.pk, _sendable(kind), _receivable(kind),
              actor is not None and kind == TK.TRANSFER, kind, tx.reference, getattr(proposer, "pk", None), now,
              MERGE_LIMIT, audit_label(actor), json.dumps(_tx_summary(tx), ensure_ascii=False),
              f"{int(settings.LOCK_TIMEOUT_MS)}ms"]
    with busy_when_locked(), _blocks_must_cover(), connection.cursor() as cur:
        cur.execute(sql, params)
        tx_id, sender_status, recipient_status, second, total, reserved, frozen = cur.fetchone()
    if tx_id is not None:
        return inserted(tx, tx_id)
    sender, recipient = copy(sender), copy(recipient)  # what was read under the lock, not the caller's objects
    sender.status, recipient.status, sender.requires_second_approval = sender_status, recipient_status, second
    sender.held = None if total is None else Holding(account_id=sender.pk, instrument_id=instrument.pk, total=total,
                                                     reserved=reserved, frozen=frozen)
    sender.held_instrument_id = instrument.pk
    _check_sender(sender, kind)
    _check_recipient(recipient, kind)
    _check_available(sender, instrument, quantity)
    return None


def transfers_execute_due(*, now: dt.datetime | None = None) -> int:
    """Execute delayed transfers whose delay has passed; each in its own transaction. Returns how many ran."""
    now = now or clock.now()
    done = 0
    for pk in Transaction.objects.filter(status=TS.DELAYED, not_before__lte=now).values_list("pk", flat=True):
        with transaction.atomic():
            tx = lock_rows(Transaction.objects.filter(pk=pk, status=TS.DELAYED))
            if not tx:
                continue
            tx = tx[0]
            recipient = Account.objects.get(pk=tx.to_account_id)
            try:
                _check_recipient(recipient, tx.kind)
            except Conflict as exc:
                _end(None, tx, TS.CANCELLED, str(exc.message), [TS.DELAYED], "cancel")
                continue
            _execute_reserved(tx, now)
            tx.save()
            _audit_tx(None, tx, "execute_delayed", TS.DELAYED)
            done += 1
    return done


# --------------------------------------------------------------------------------------------- allocation

def allocation_execute(*, actor, instrument: Instrument, allocations: dict, reference: str,
                       job=None) -> Transaction:
    """Allocate from the national allocation account to many accounts: one transaction, chunked.

    Each chunk of ``ALLOCATION_CHUNK`` accounts is its own database transaction (locks: the
    allocation account and the chunk's accounts, in pk order), so a national run never holds
    locks for long and reports progress. The Transaction stays PROCESSING until the last chunk;
    a rerun with the same reference skips accounts that already have a leg, so it resumes and
    never doubles. With ``job``, progress advances by the accounts of each committed chunk (the
    caller's job sets the total). Correct because the allocation account's lock serialises chunks against
    every other spender of it, and the pre-check guarantees the whole run is covered.
    """
    if not (reference or "").strip():
        raise DomainError(_("An allocation needs a reference (the allocation run)."), "required", "reference")
    _require_regulator(actor, national_only=True)
    if not allocations:
        raise DomainError(_("Nothing to allocate."), "required", "allocations")
    _check_cea(instrument, _("An allocation"))
    plan: dict[int, int] = {}
    for account_id, qty in allocations.items():
        plan[int(account_id)] = _quantity(qty, field=f"allocations[{account_id}]")
    total = sum(plan.values())
    found = dict(Account.objects.filter(pk__in=plan).values_list("pk", "kind"))
    missing = set(plan) - set(found)
    if missing:
        raise DomainError(_("Unknown account %(id)s.") % {"id": min(missing)}, "unknown_account",
                          f"allocations[{min(missing)}]")
    wrong = [pk for pk, kind in found.items() if kind not in (K.ENTITY_HOLDING, K.PROVINCIAL)]
    if wrong:
        raise DomainError(_("Allocations go to entity holding or provincial accounts."), "invalid_account",
                          f"allocations[{wrong[0]}]")
    source = national_account(kind=K.NATIONAL_ALLOCATION)
    with transaction.atomic():
        tx, created = Transaction.objects.get_or_create(
            kind=TK.ALLOCATION, reference=reference[:120],
            defaults={"status": TS.PROCESSING, "instrument": instrument, "quantity": total, "from_account": source,
                      "proposed_by": actor if getattr(actor, "pk", None) else None, "job": job})
        if not created and (tx.quantity != total or tx.instrument_id != instrument.pk):
            raise Conflict(_("Allocation %(ref)s already exists with other figures.") % {"ref": reference},
                           "duplicate_reference", "reference")
        if created:
            _audit_tx(actor, tx, "start")
    if tx.status == TS.COMPLETED:
        return tx
    done_ids = set(TransactionLeg.objects.filter(transaction=tx).values_list("to_account_id", flat=True))
    todo = [(pk, qty) for pk, qty in sorted(plan.items()) if pk not in done_ids]
    remaining = sum(qty for _pk, qty in todo)
    holding = Holding.objects.filter(account=source, instrument=instrument).first()
    if (holding.available if holding else 0) < remaining:
        raise DomainError(_("The allocation account holds %(available)s %(code)s available; %(need)s needed.") % {
            "available": holding.available if holding else 0, "code": instrument.code, "need": remaining},
            "insufficient_units", "allocations")
    for i in range(0, len(todo), ALLOCATION_CHUNK):
        chunk = todo[i:i + ALLOCATION_CHUNK]
        with transaction.atomic():
            _allocate_chunk(tx, source, instrument, chunk)
            audit_record(actor=actor, action="registry.transaction.allocate_chunk", obj=tx,
                         after={"accounts": len(chunk), "quantity": sum(q for _p, q in chunk)})
        if job is not None:
            job_progress(job, advance=len(chunk))
    with transaction.atomic():
        Transaction.objects.filter(pk=tx.pk).update(status=TS.COMPLETED, executed_at=clock.now())
        tx.refresh_from_db()
        _audit_tx(actor, tx, "complete", TS.PROCESSING)
    return tx


def allocation_enqueue(*, actor, instrument: Instrument, allocations: dict, reference: str):
    """Run ``allocation_execute`` as a background Job with a progress bar (returns the Job)."""
    from cets.common.jobs import job_create

    _require_regulator(actor, national_only=True)
    if not allocations:
        raise DomainError(_("Nothing to allocate."), "required", "allocations")
    return job_create(kind="registry.allocation", user=actor, total=len(allocations),
                      params={"instrument": instrument.code, "reference": reference,
                              "allocations": {str(k): int(v) for k, v in allocations.items()}})


def _allocate_chunk(tx: Transaction, source: Account, instrument: Instrument, chunk: list) -> None:
    ids = [pk for pk, _q in chunk]
    locked = {a.pk: a for a in lock_rows(Account.objects.filter(pk__in=[source.pk, *ids]))}
    for pk in ids:
        _check_recipient(locked[pk], TK.ALLOCATION)
    quantity = sum(q for _p, q in chunk)
    _check_available(locked[source.pk], instrument, quantity)
    ranges = _take(source.pk, instrument.pk, quantity)
    now = clock.now()
    blocks, legs, cursor = [], [], 0
    carved = defaultdict(list)
    for pk, qty in chunk:
        need = qty
        while need:
            start, end = ranges[cursor]
            size = end - start + 1
            part = min(size, need)
            carved[pk].append((start, start + part - 1))
            need -= part
            if part == size:
                cursor += 1
            else:
                ranges[cursor] = (start + part, end)
    for pk, parts in carved.items():
        for start, end in _coalesce(parts):
            blocks.append(Block(instrument=instrument, account_id=pk, serial_start=start, serial_end=end))
            legs.append(TransactionLeg(transaction=tx, instrument=instrument, from_account_id=source.pk,
                                       to_account_id=pk, serial_start=start, serial_end=end,
                                       quantity=end - start + 1, executed_at=now))
    Block.objects.bulk_create(blocks, batch_size=5000)
    TransactionLeg.objects.bulk_create(legs, batch_size=5000)
    existing = {h.account_id: h for h in Holding.objects.filter(instrument=instrument, account_id__in=ids)}
    for h in existing.values():
        h.total += dict(chunk)[h.account_id]
    update_rows(existing.values(), ["total"])
    Holding.objects.bulk_create([Holding(account_id=pk, instrument=instrument, total=qty) for pk, qty in chunk
                                 if pk not in existing], batch_size=5000)
    _adjust(source.pk, instrument.pk, total=-quantity)


# --------------------------------------------------------------------------------------------- bulk withdrawal

BULK_WITHDRAWAL_CHUNK = 500  # accounts per database transaction when a bulk withdrawal executes


@transaction.atomic
def withdrawal_bulk_propose(*, actor, instrument: Instrument, withdrawals: dict, reason: str,
                            kind: str = TK.WITHDRAWAL, reference: str = "") -> Transaction:
    """Propose taking units from many accounts in one four-eyes proposal (one line per account).

    Nothing is reserved: the units stay usable until a second national regulator approves
    (``withdrawal_bulk_approve``), when each account gives at most what it then holds available.
    A withdrawal returns the units to the national allocation account, a deduction sends them to
    the national deletion account. National regulators only: a nationwide correction is the Ministry's act.
    """
    if kind not in (TK.DEDUCTION, TK.WITHDRAWAL):
        raise DomainError(_("Unknown kind."), "invalid_kind", "kind")
    if kind == TK.WITHDRAWAL:
        _check_cea(instrument, _("A withdrawal to the allocation account"))
    if not (reason or "").strip():
        raise DomainError(_("State the reason."), "required", "reason")
    if actor is None:
        raise Forbidden(_("A proposal needs a person."), "not_regulator", None)
    _require_regulator(actor, national_only=True, field="withdrawals")
    if not withdrawals:
        raise DomainError(_("Nothing to withdraw."), "required", "withdrawals")
    plan: dict[int, int] = {}
    for account_id, qty in withdrawals.items():
        plan[int(account_id)] = _quantity(qty, field=f"withdrawals[{account_id}]")
    found = dict(Account.objects.filter(pk__in=plan).values_list("pk", "kind"))
    missing = set(plan) - set(found)
    if missing:
        raise DomainError(_("Unknown account %(id)s.") % {"id": min(missing)}, "unknown_account",
                          f"withdrawals[{min(missing)}]")
    wrong = sorted(pk for pk, account_kind in found.items() if account_kind in Account.NATIONAL_KINDS)
    if wrong:
        raise DomainError(_("Units are not withdrawn from national accounts."), "invalid_account",
                          f"withdrawals[{wrong[0]}]")
    if kind == TK.WITHDRAWAL:
        governance.check_no_pending_withdrawal(instrument, plan, field="withdrawals")
    destination = national_account(kind=K.NATIONAL_DELETION if kind == TK.DEDUCTION else K.NATIONAL_ALLOCATION)
    tx = Transaction.objects.create(kind=kind, status=TS.AWAITING_APPROVAL, instrument=instrument,
                                    quantity=sum(plan.values()), to_account=destination, reason=reason.strip()[:500],
                                    reference=(reference or "")[:120], proposed_by=actor)
    BulkWithdrawalLine.objects.bulk_create([BulkWithdrawalLine(transaction=tx, account_id=pk, requested=qty)
                                            for pk, qty in sorted(plan.items())], batch_size=5000)
    _audit_tx(actor, tx, "propose")
    return tx


def withdrawal_bulk_approve(*, actor, transaction: Transaction, job=None) -> dict[int, int]:
    """Approve (second national regulator) and execute a bulk withdrawal in chunks; returns the shortfalls.

    Each chunk of ``BULK_WITHDRAWAL_CHUNK`` accounts is one database transaction: it locks the
    destination and the chunk's accounts in primary-key order (one statement, so no deadlock with
    any other pk-ordered locker), takes from each account ``min(requested, available)`` lowest serial
    first with a constant number of statements (one SELECT of the chunk's blocks, bulk DELETE,
    bulk UPDATE of the split blocks, bulk INSERT of the received blocks and the legs, bulk UPDATE of
    the cached balances), and fills each line's ``withdrawn``. An account that may not send (fully
    frozen, closed) gives nothing. The Transaction stays PROCESSING until the last chunk; a rerun (the
    same approver, or another national regulator who is not the proposer) resumes with the lines not
    yet executed. On completion ``quantity`` becomes what was actually withdrawn; when no account
    held anything the transaction ends CANCELLED (nothing moved). Returns ``{account_id: requested -
    withdrawn}`` for the accounts that could not cover their line, so the caller records obligations.
    """
    tx = transaction
    if tx.from_account_id is not None or not tx.bulk_lines.exists():
        raise DomainError(_("Not a bulk withdrawal."), "not_bulk", "transaction")
    _check_approver(actor, tx)
    _require_regulator(actor, national_only=True)
    with _db_transaction.atomic():
        (locked,) = lock_rows(Transaction.objects.filter(pk=tx.pk))
        if locked.status == TS.AWAITING_APPROVAL:
            locked.status, locked.approved_by = TS.PROCESSING, actor
            locked.save(update_fields=["status", "approved_by"])
            _audit_tx(actor, locked, "approve", TS.AWAITING_APPROVAL)
        elif locked.status not in (TS.PROCESSING, TS.COMPLETED, TS.CANCELLED) or (
                locked.status == TS.CANCELLED and locked.approved_by_id is None):
            raise Conflict(_("This transaction is %(status)s, not awaiting approval.") % {
                "status": locked.get_status_display()}, "wrong_status", None)
    tx = locked
    if tx.status == TS.PROCESSING:
        todo = list(BulkWithdrawalLine.objects.filter(transaction=tx, withdrawn__isnull=True)
                    .order_by("account_id").values_list("pk", "account_id", "requested"))
        for i in range(0, len(todo), BULK_WITHDRAWAL_CHUNK):
            chunk = todo[i:i + BULK_WITHDRAWAL_CHUNK]
            with _db_transaction.atomic():
                taken = _withdraw_chunk(tx, chunk)
                audit_record(actor=actor, action="registry.transaction.withdraw_chunk", obj=tx,
                             after={"accounts": len(chunk), "quantity": taken})
            if job is not None:
                job_progress(job, advance=len(chunk))
        with _db_transaction.atomic():
            withdrawn = sum(BulkWithdrawalLine.objects.filter(transaction=tx).values_list("withdrawn", flat=True))
            now = clock.now()
            if withdrawn:
                Transaction.objects.filter(pk=tx.pk).update(status=TS.COMPLETED, executed_at=now, quantity=withdrawn)
            else:
                Transaction.objects.filter(pk=tx.pk).update(
                    status=TS.CANCELLED, executed_at=now, reason=(_("No account held units to withdraw.") + " "
                                                                  + tx.reason)[:500])
            tx.refresh_from_db()
            _audit_tx(actor, tx, "complete", TS.PROCESSING)
    return {pk: requested - withdrawn for pk, requested, withdrawn in BulkWithdrawalLine.objects.filter(
        transaction=tx).values_list("account_id", "requested", "withdrawn") if withdrawn < requested}


def _withdraw_chunk(tx: Transaction, chunk: list) -> int:
    """Execute one chunk of a bulk withdrawal (see ``withdrawal_bulk_approve``); returns the units taken."""
    line_ids = [pk for pk, _a, _r in chunk]
    # a concurrent rerun waits here, then skips the lines the first one executed
    open_lines = set(BulkWithdrawalLine.objects.select_for_update().filter(pk__in=line_ids, withdrawn__isnull=True)
                     .values_list("pk", flat=True))
    chunk = [row for row in chunk if row[0] in open_lines]
    if not chunk:
        return 0
    ids = [account_id for _p, account_id, _r in chunk]
    locked = {a.pk: a for a in lock_rows(Account.objects.filter(pk__in=[tx.to_account_id, *ids]))}
    _check_recipient(locked[tx.to_account_id], tx.kind)
    available = {account_id: total - reserved - frozen for account_id, total, reserved, frozen in
                 Holding.objects.filter(instrument_id=tx.instrument_id, account_id__in=ids)
                 .values_list("account_id", "total", "reserved", "frozen")}
    take, notes = {}, {}
    for _pk, account_id, requested in chunk:
        try:
            _check_sender(locked[account_id], tx.kind, by_regulator=True)
        except Conflict:
            take[account_id], notes[account_id] = 0, "account_not_open"
            continue
        take[account_id] = min(requested, max(available.get(account_id, 0), 0))
        if take[account_id] < requested:
            notes[account_id] = "insufficient_units"
    takers = sorted(pk for pk, qty in take.items() if qty)
    ranges: dict[int, list] = defaultdict(list)
    deletes, shrinks = [], []
    if takers:
        marks = ", ".join(["%s"] * len(takers))
        with connection.cursor() as cur:
            cur.execute(f"SELECT id, account_id, serial_start, serial_end FROM {BLOCK} WHERE instrument_id = %s "
                        f"AND account_id IN ({marks}) AND reservation_id IS NULL AND freeze_id IS NULL "
                        f"ORDER BY account_id, serial_start", [tx.instrument_id, *takers])
            need = dict(take)
            for pk, account_id, start, end in cur.fetchall():
                left = need[account_id]
                if not left:
                    continue
                size = end - start + 1
                if size <= left:
                    ranges[account_id].append((start, end))
                    deletes.append(pk)
                    need[account_id] = left - size
                else:
                    ranges[account_id].append((start, start + left - 1))
                    shrinks.append((start + left, pk))
                    need[account_id] = 0
            if any(need.values()):
                raise Conflict(_("The account's blocks do not cover the quantity."), "ledger_mismatch", "quantity")
            for i in range(0, len(deletes), 5000):
                part = deletes[i:i + 5000]
                cur.execute(f"DELETE FROM {BLOCK} WHERE id IN ({', '.join(['%s'] * len(part))})", part)
            if shrinks:  # one statement: the split blocks keep their upper part
                cases = " ".join(["WHEN %s THEN %s"] * len(shrinks))
                cur.execute(f"UPDATE {BLOCK} SET serial_start = CASE id {cases} END "
                            f"WHERE id IN ({', '.join(['%s'] * len(shrinks))})",
                            [v for start, pk in shrinks for v in (pk, start)] + [pk for _s, pk in shrinks])
            cases = " ".join(["WHEN %s THEN %s"] * len(takers))
            cur.execute(f"UPDATE {HOLDING} SET total = total - CASE account_id {cases} END "
                        f"WHERE instrument_id = %s AND account_id IN ({marks})",
                        [v for pk in takers for v in (pk, take[pk])] + [tx.instrument_id, *takers])
        now = clock.now()
        _place(tx.to_account_id, tx.instrument_id, [r for pk in takers for r in ranges[pk]])
        TransactionLeg.objects.bulk_create([leg for pk in takers for leg in _legs(tx, pk, tx.to_account_id,
                                                                                   ranges[pk], now)],
                                           batch_size=5000)
        _adjust(tx.to_account_id, tx.instrument_id, total=sum(take.values()))
    # one statement for the chunk's lines (the ORM's bulk_update built the same CASE four times slower)
    cases = " ".join(["WHEN %s THEN %s"] * len(chunk))
    with connection.cursor() as cur:
        cur.execute(f"UPDATE {BULK_LINE} SET withdrawn = CASE id {cases} END, note = CASE id {cases} END "
                    f"WHERE id IN ({', '.join(['%s'] * len(chunk))})",
                    [v for pk, account_id, _r in chunk for v in (pk, take[account_id])]
                    + [v for pk, account_id, _r in chunk for v in (pk, notes.get(account_id, ""))]
                    + [pk for pk, _a, _r in chunk])
    return sum(take.values())


# --------------------------------------------------------------------------------------------- end of life

def _retire(*, actor, kind: str, account: Account, instrument: Instrument, quantity, destination: str,
            reference: str = "", **fields) -> Transaction:
    """Move units to a national end-of-life account (surrender, cancellation, retirement): at once, or after
    a second representative's approval when the account requires one (units reserved meanwhile)."""
    quantity = _quantity(quantity)
    _check_initiator(actor, account)
    target = national_account(kind=destination)
    accounts = _lock(account, target)
    if kind in (TK.SURRENDER, TK.CCER_CANCELLATION):
        _check_year_open(fields.get("compliance_year"))
    sender = accounts[account.pk]
    _check_sender(sender, kind)
    _check_available(sender, instrument, quantity)
    if governance.retirement_waits(actor, sender):
        return governance.retirement_request(actor=actor, kind=kind, sender=sender, target=accounts[target.pk],
                                             instrument=instrument, quantity=quantity, reference=reference, **fields)
    now = clock.now()
    tx = Transaction.objects.create(kind=kind, status=TS.COMPLETED, executed_at=now, instrument=instrument,
                                    quantity=quantity, from_account=sender, to_account=target,
                                    reference=(reference or "")[:120],
                                    proposed_by=actor if getattr(actor, "pk", None) else None, **fields)
    _move(tx, from_account=sender, to_account=accounts[target.pk], quantity=quantity, now=now)
    _audit_tx(actor, tx, "create")
    return tx


@transaction.atomic
def surrender_execute(*, actor, account: Account, instrument: Instrument, quantity, compliance_year: int,
                      reference: str = "") -> Transaction:
    """Surrender CEAs for an entity's obligation of ``compliance_year`` (to the national surrender account).

    The one caller is ``compliance.services.surrender``, which owns the obligation's rules (the
    obligation exists and is open, the vintage is on the year's eligible list, no more than owed,
    the cap) and locks the obligation; no registry door calls this (the API's registry surrender path
    is served by compliance). What needs only registry data is refused here for every caller: CEAs
    only, of a vintage the year lists (``registry.vintages``: never later, 2019-2024 vintages never for
    2025 or later), from an entity holding account.
    """
    if not compliance_year or not 2019 <= int(compliance_year) <= 2100:
        raise DomainError(_("A surrender names its compliance year."), "invalid_year", "compliance_year")
    _check_cea(instrument, _("A surrender"))
    vintages.check_settles(vintage=instrument.vintage, year=int(compliance_year), field="instrument")
    if account.kind != K.ENTITY_HOLDING:
        raise DomainError(_("Only an entity holding account surrenders."), "invalid_account", "account")
    return _retire(actor=actor, kind=TK.SURRENDER, account=account, instrument=instrument, quantity=quantity,
                   destination=K.NATIONAL_SURRENDER, reference=reference, compliance_year=int(compliance_year))


def surrender_accounts_lock(*, entity_ids) -> dict[int, Account]:
    """Lock the entities' holding accounts and the national surrender account in one statement, in pk order,
    and return the entities' accounts (fresh copies) by entity id; an entity without an open one is absent.

    For ``compliance.surrender_bulk``: a batch of surrenders takes the locks each ``surrender_execute``
    would take, once and in the same order (obligations first, then accounts by pk), so its surrenders
    only find them held and a concurrent single surrender or trade waits for the batch, never deadlocks.
    """
    accounts = {a.entity_id: a.pk for a in Account.objects.filter(kind=K.ENTITY_HOLDING, entity_id__in=entity_ids)
                .exclude(status=S.CLOSED).only("pk", "entity_id")}
    locked = lock_pks(Account, [*accounts.values(), national_account(kind=K.NATIONAL_SURRENDER).pk])
    by_pk = {a.pk: a for a in locked}
    return {entity_id: by_pk[pk] for entity_id, pk in accounts.items()}


@transaction.atomic
def ccer_cancel(*, actor, account: Account, instrument: Instrument, quantity, purpose: str, beneficiary: str = "",
                reference: str = "", compliance_year: int | None = None) -> Transaction:
    """Cancel CCERs as ETS offsets: they end in the national CCER cancellation account.

    The one caller is ``voluntary.services.offset_cancel`` (project eligibility: never an ETS project's
    credits) on behalf of ``compliance.services.surrender`` (the obligation exists, the 5% cap), so an
    offset always names the compliance year it counts for.
    """
    if instrument.kind != Instrument.Kind.CCER:
        raise DomainError(_("Only CCERs are cancelled."), "not_ccer", "instrument")
    if not (purpose or "").strip():
        raise DomainError(_("A cancellation states its purpose."), "required", "purpose")
    if not compliance_year or not 2019 <= int(compliance_year) <= 2100:
        raise DomainError(_("An offset cancellation names the compliance year it counts for."), "invalid_year",
                          "compliance_year")
    return _retire(actor=actor, kind=TK.CCER_CANCELLATION, account=account, instrument=instrument,
                   quantity=quantity, destination=K.NATIONAL_CCER_CANCELLATION, reference=reference,
                   purpose=purpose.strip()[:200], beneficiary=(beneficiary or "").strip()[:200],
                   compliance_year=compliance_year)


@transaction.atomic
def voluntary_retire(*, actor, account: Account, instrument: Instrument, quantity, beneficiary: str,
                     purpose: str = "", reference: str = "") -> Transaction:
    """Retire units voluntarily on behalf of a named beneficiary (never usable again)."""
    if not (beneficiary or "").strip():
        raise DomainError(_("A retirement names its beneficiary."), "required", "beneficiary")
    return _retire(actor=actor, kind=TK.VOLUNTARY_RETIREMENT, account=account, instrument=instrument,
                   quantity=quantity, destination=K.NATIONAL_VOLUNTARY_RETIREMENT, reference=reference,
                   purpose=(purpose or "").strip()[:200], beneficiary=beneficiary.strip()[:200])


# --------------------------------------------------------------------------------------------- compliance years

def _check_year_open(year, field: str = "compliance_year") -> None:
    if year and ComplianceYearClosure.objects.filter(year=year).exists():
        raise Conflict(_("Compliance year %(year)s is closed: its surrenders and offset cancellations are final.")
                       % {"year": year}, "compliance_year_closed", field)


@transaction.atomic
def compliance_years_close(*, actor, years) -> None:
    """Make the surrenders and offset cancellations of ``years`` final (compliance, when a cycle starts closing).

    Locks the national surrender and CCER cancellation accounts first: a reversal or surrender of those
    years holds one of them while it checks, so either it commits before the closure (and the closing
    reads it) or it waits and is refused.
    """
    _lock(national_account(kind=K.NATIONAL_SURRENDER), national_account(kind=K.NATIONAL_CCER_CANCELLATION))
    ComplianceYearClosure.objects.bulk_create([ComplianceYearClosure(year=int(y)) for y in years],
                                              ignore_conflicts=True)
    audit_record(actor=actor, action="registry.compliance_years_close", object_type="registry.complianceyearclosure",
                 object_id=",".join(str(y) for y in years), after={"years": [int(y) for y in years]})


@transaction.atomic
def compliance_years_reopen(*, actor, years) -> None:
    """Undo ``compliance_years_close`` (a closing that failed and leaves its cycle open again)."""
    _lock(national_account(kind=K.NATIONAL_SURRENDER), national_account(kind=K.NATIONAL_CCER_CANCELLATION))
    ComplianceYearClosure.objects.filter(year__in=[int(y) for y in years]).delete()
    audit_record(actor=actor, action="registry.compliance_years_reopen", object_type="registry.complianceyearclosure",
                 object_id=",".join(str(y) for y in years), after={"years": [int(y) for y in years]})


# --------------------------------------------------------------------------------------------- regulator actions

def _propose_reserving(*, actor, kind: str, account: Account, instrument: Instrument, quantity, reason: str,
                       to_account: Account | None = None, **fields) -> Transaction:
    quantity = _quantity(quantity)
    if not (reason or "").strip():
        raise DomainError(_("State the reason."), "required", "reason")
    _require_regulator(actor, account, national_only=kind == TK.WITHDRAWAL, field="account")
    if actor is None:
        raise Forbidden(_("A proposal needs a person."), "not_regulator", None)
    accounts = _lock(account)
    sender = accounts[account.pk]
    _check_sender(sender, kind, by_regulator=True)
    _check_available(sender, instrument, quantity)
    reservation = _reserve(sender, instrument, quantity, actor=actor, reference=f"{kind} proposal")
    tx = Transaction.objects.create(kind=kind, status=TS.AWAITING_APPROVAL, instrument=instrument, quantity=quantity,
                                    from_account=sender, to_account=to_account, reason=reason.strip()[:500],
                                    reservation=reservation, proposed_by=actor, **fields)
    _audit_tx(actor, tx, "propose")
    return tx


@transaction.atomic
def deduction_propose(*, actor, account: Account, instrument: Instrument, quantity, reason: str,
                      kind: str = TK.DEDUCTION) -> Transaction:
    """Propose taking units from an account (four-eyes); the units are reserved until decided.

    A deduction (penalty for non-compliance) ends in the national deletion account; a withdrawal
    (over-allocation corrected) returns to the national allocation account.
    """
    if kind not in (TK.DEDUCTION, TK.WITHDRAWAL):
        raise DomainError(_("Unknown kind."), "invalid_kind", "kind")
    if kind == TK.WITHDRAWAL:
        _check_cea(instrument, _("A withdrawal to the allocation account"))
        governance.check_no_pending_withdrawal(instrument, [account.pk])
    destination = national_account(kind=K.NATIONAL_DELETION if kind == TK.DEDUCTION else K.NATIONAL_ALLOCATION)
    return _propose_reserving(actor=actor, kind=kind, account=account, instrument=instrument, quantity=quantity,
                              reason=reason, to_account=destination)


@transaction.atomic
def freeze_propose(*, actor, account: Account, instrument: Instrument, quantity, freeze_kind: str,
                   reason: str) -> Transaction:
    """Propose freezing units (judicial freeze, pledge, regulatory); reserved now, frozen on approval."""
    if freeze_kind not in Freeze.Kind.values:
        raise DomainError(_("Unknown freeze kind."), "invalid_kind", "freeze_kind")
    return _propose_reserving(actor=actor, kind=TK.FREEZE, account=account, instrument=instrument, quantity=quantity,
                              reason=reason, freeze_kind=freeze_kind)


def _execute_freeze(tx: Transaction, now) -> None:
    _lock(tx.from_account)
    reservation = Reservation.objects.get(pk=tx.reservation_id)
    freeze = Freeze.objects.create(account_id=tx.from_account_id, instrument_id=tx.instrument_id,
                                   quantity=tx.quantity, kind=tx.freeze_kind, reason=tx.reason)
    _relocate(tx.instrument_id, tx.quantity, from_id=tx.from_account_id, to_id=tx.from_account_id,
              from_state=(reservation.pk, None), to_state=(None, freeze.pk))
    _adjust(tx.from_account_id, tx.instrument_id, reserved=-tx.quantity, frozen=tx.quantity)
    _consume(reservation, tx.quantity)
    tx.freeze = freeze
    _complete(tx, now)


@transaction.atomic
def unfreeze_propose(*, actor, freeze: Freeze, reason: str) -> Transaction:
    """Propose lifting a freeze (four-eyes)."""
    if not (reason or "").strip():
        raise DomainError(_("State the reason."), "required", "reason")
    _require_regulator(actor, freeze.account, field="account")
    if actor is None:
        raise Forbidden(_("A proposal needs a person."), "not_regulator", None)
    if freeze.status != Freeze.Status.ACTIVE:
        raise Conflict(_("This freeze is already released."), "wrong_status", "freeze")
    if Transaction.objects.filter(kind=TK.UNFREEZE, freeze=freeze, status=TS.AWAITING_APPROVAL).exists():
        raise Conflict(_("An unfreeze of this freeze is already awaiting approval."), "duplicate", "freeze")
    tx = Transaction.objects.create(kind=TK.UNFREEZE, status=TS.AWAITING_APPROVAL, instrument_id=freeze.instrument_id,
                                    quantity=freeze.quantity, from_account_id=freeze.account_id, freeze=freeze,
                                    reason=reason.strip()[:500], proposed_by=actor)
    _audit_tx(actor, tx, "propose")
    return tx


def _execute_unfreeze(tx: Transaction, now) -> None:
    _lock(tx.from_account)
    freeze = lock_rows(Freeze.objects.filter(pk=tx.freeze_id))[0]
    if freeze.status != Freeze.Status.ACTIVE:
        raise Conflict(_("This freeze is already released."), "wrong_status", "freeze")
    _relocate(freeze.instrument_id, freeze.quantity, from_id=freeze.account_id, to_id=freeze.account_id,
              from_state=(None, freeze.pk))
    _adjust(freeze.account_id, freeze.instrument_id, frozen=-freeze.quantity)
    freeze.status = Freeze.Status.RELEASED
    freeze.save(update_fields=["status"])
    _complete(tx, now)


@transaction.atomic
def reversal_propose(*, actor, transaction: Transaction, reason: str) -> Transaction:
    """Propose reversing a completed movement by a new transaction (once; a second regulator approves).

    On approval the very serial ranges of the original legs go back (issuance: to the national
    deletion account); if any of them has moved on since, the reversal is refused. Only within the
    reversal window and never into a frozen or closed account (``registry.governance``).
    """
    original = transaction
    if not (reason or "").strip():
        raise DomainError(_("State the reason."), "required", "reason")
    _require_regulator(actor, national_only=True)
    if actor is None:
        raise Forbidden(_("A proposal needs a person."), "not_regulator", None)
    if original.status != TS.COMPLETED or original.kind in (TK.FREEZE, TK.UNFREEZE, TK.REVERSAL):
        raise Conflict(_("Only a completed movement can be reversed."), "wrong_status", "transaction")
    if Transaction.objects.filter(reverses=original).exists():
        raise Conflict(_("This transaction has already been reversed once."), "already_reversed", "transaction")
    if carryover.is_carry_over(original):
        raise Conflict(_("A carry-over is final: its retirement and its issuance are never reversed one without the "
                         "other."), "carry_over_part", "transaction")
    if original.kind in (TK.SURRENDER, TK.CCER_CANCELLATION):
        _check_year_open(original.compliance_year, field="transaction")
    governance.check_reversal_window(original, clock.now())
    back_to = original.from_account or national_account(kind=K.NATIONAL_DELETION)
    governance.check_reversal_targets(Account.objects.filter(pk__in=governance.reversal_targets(original,
                                                                                                 back_to.pk)))
    tx = Transaction.objects.create(kind=TK.REVERSAL, status=TS.AWAITING_APPROVAL, instrument=original.instrument,
                                    quantity=original.quantity, from_account=original.to_account, to_account=back_to,
                                    reverses=original, reason=reason.strip()[:500], proposed_by=actor)
    _audit_tx(actor, tx, "propose")
    return tx


def _take_range(account_id: int, instrument_id: int, start: int, end: int) -> None:
    """Detach exactly [start, end] from the account's available blocks, or refuse (units moved on)."""
    blocks = list(Block.objects.filter(account_id=account_id, instrument_id=instrument_id, reservation=None,
                                       freeze=None, serial_start__lte=end, serial_end__gte=start)
                  .order_by("serial_start"))
    covered = sum(min(b.serial_end, end) - max(b.serial_start, start) + 1 for b in blocks)
    if covered != end - start + 1:
        raise Conflict(_("Units of this transaction have moved on or are reserved; it cannot be reversed."),
                       "units_moved_on", "transaction")
    for b in blocks:
        head = (b.serial_start, start - 1) if b.serial_start < start else None
        tail = (end + 1, b.serial_end) if b.serial_end > end else None
        if head:
            Block.objects.filter(pk=b.pk).update(serial_end=head[1])
        else:
            Block.objects.filter(pk=b.pk).delete()
        if tail:
            Block.objects.create(instrument_id=instrument_id, account_id=account_id, serial_start=tail[0],
                                 serial_end=tail[1])


def _execute_reversal(tx: Transaction, now) -> None:
    original = tx.reverses
    legs = list(original.legs.order_by("pk"))
    back_to = tx.to_account_id
    targets = governance.reversal_targets(original, back_to)
    locked = _lock(*Account.objects.filter(pk__in={leg.to_account_id for leg in legs} | targets))
    if original.kind in (TK.SURRENDER, TK.CCER_CANCELLATION):  # under the national account's lock
        _check_year_open(original.compliance_year, field="transaction")
    governance.check_reversal_targets(locked[pk] for pk in targets)
    moved = defaultdict(int)
    new_legs = []
    for leg in legs:
        _take_range(leg.to_account_id, leg.instrument_id, leg.serial_start, leg.serial_end)
        target = leg.from_account_id or back_to
        _place(target, leg.instrument_id, [(leg.serial_start, leg.serial_end)])
        new_legs.append(TransactionLeg(transaction=tx, instrument_id=leg.instrument_id,
                                       from_account_id=leg.to_account_id, to_account_id=target,
                                       serial_start=leg.serial_start, serial_end=leg.serial_end,
                                       quantity=leg.quantity, executed_at=now))
        moved[leg.to_account_id] -= leg.quantity
        moved[target] += leg.quantity
    TransactionLeg.objects.bulk_create(new_legs, batch_size=5000)
    for account_id, delta in moved.items():
        if delta:
            _adjust(account_id, original.instrument_id, total=delta)
    Transaction.objects.filter(pk=original.pk).update(status=TS.REVERSED)
    _complete(tx, now)


# --------------------------------------------------------------------------------------------- reservations

@transaction.atomic
def units_reserve(*, actor, account: Account, instrument: Instrument, quantity, reference: str = "",
                  sellable_on: dt.date | None = None) -> Reservation:
    """Reserve units for a pending use (a sell order): they cannot move until released or settled.

    ``sellable_on``: enforce T+1 by excluding units bought by trade settlement on that date.
    """
    quantity = _quantity(quantity)
    _check_initiator(actor, account)
    sender = _lock(account)[account.pk]
    _check_sender(sender, TK.TRADE)
    _check_available(sender, instrument, quantity, sellable_on=sellable_on)
    reservation = _reserve(sender, instrument, quantity, actor=actor, reference=reference)
    audit_record(actor=actor, action="registry.reservation.create", obj=reservation,
                 after={"account": sender.number, "instrument": instrument.code, "quantity": quantity,
                        "reference": reference})
    return reservation


@transaction.atomic
def reservation_release(*, reservation: Reservation, quantity=None, actor=None) -> Reservation:
    """Release all (default) or part of a reservation: the units become available again."""
    _lock(reservation.account)
    reservation = lock_rows(Reservation.objects.filter(pk=reservation.pk))[0]
    quantity = reservation.quantity if quantity is None else _quantity(quantity)
    if reservation.status != Reservation.Status.OPEN or quantity > reservation.quantity:
        raise Conflict(_("Only %(q)s units are still reserved.") % {"q": reservation.quantity},
                       "insufficient_reserved", "quantity")
    _release(reservation, quantity)
    audit_record(actor=actor, action="registry.reservation.release", obj=reservation,
                 after={"released": quantity, "left": reservation.quantity})
    return reservation


@transaction.atomic
def reservation_settle(*, reservation: Reservation, to_account: Account, quantity, reference: str = "",
                       actor=None, now: dt.datetime | None = None) -> Transaction:
    """Deliver reserved units to a buyer (trade settlement): a completed ``trade`` transaction.

    Called by trading inside the same database transaction that records the trade and moves cash;
    ``now``: when the trade was made (the market's clock), which T+1 dates the purchase by.
    """
    quantity = _quantity(quantity)
    if to_account is None:
        raise DomainError(_("Unknown recipient account."), "unknown_account", "to_account")
    if reservation.account_id == to_account.pk:
        raise DomainError(_("An account cannot transfer to itself."), "same_account", "to_account")
    _check_not_national(to_account)
    accounts = _lock(reservation.account, to_account)
    reservation = lock_rows(Reservation.objects.filter(pk=reservation.pk))[0]
    if reservation.status != Reservation.Status.OPEN or quantity > reservation.quantity:
        raise Conflict(_("Only %(q)s units are still reserved.") % {"q": reservation.quantity},
                       "insufficient_reserved", "quantity")
    recipient = accounts[to_account.pk]
    _check_recipient(recipient, TK.TRADE)
    now = now or clock.now()
    tx = Transaction.objects.create(kind=TK.TRADE, status=TS.COMPLETED, executed_at=now,
                                    instrument_id=reservation.instrument_id, quantity=quantity,
                                    from_account_id=reservation.account_id, to_account=recipient,
                                    reference=(reference or "")[:120],
                                    proposed_by=actor if getattr(actor, "pk", None) else None)
    _move(tx, from_account=accounts[reservation.account_id], to_account=recipient, quantity=quantity,
          reservation=reservation, now=now)
    _consume(reservation, quantity)
    _audit_tx(actor, tx, "settle")
    return tx


def trade_check(account: Account, *, sending: bool) -> None:
    """Refuse trading from (``sending``) or into an account whose status does not allow it (no lock: callers
    settling later re-check under lock)."""
    (_check_sender if sending else _check_recipient)(account, TK.TRADE)


@dataclass
class Delivery:
    """Units of ``reservation`` (saved, or one of the same call's new ones) delivered to a buyer by a trade."""

    reservation: Reservation
    to_account_id: int
    quantity: int
    reference: str = ""


@transaction.atomic
def reservations_settle(*, instrument: Instrument, reserve: list[Reservation], deliveries: list[Delivery],
                        sellable_on: dt.date | None = None, actor=None,
                        now: dt.datetime | None = None) -> list[Transaction]:
    """Reserve the units of new sell orders and deliver trades from reservations: one call for a batch.

    The same checks as ``units_reserve`` per new reservation and ``reservation_settle`` per delivery:
    senders may send and hold the new reservations' units free (less what they bought on
    ``sellable_on``, T+1), recipients may receive, a reservation delivers at most what it holds. Units
    of a new reservation that this call delivers go straight from the seller's free units (they would
    only pass through the reservation inside this transaction); what stays open is reserved after the
    deliveries. Every movement takes the lowest serials it may take at that moment. Accounts and
    reservations are locked once, in key order; the rows are written in bulk, the movements sent to
    PostgreSQL in one round trip, and one audit entry records the call. Any refusal raises and, with
    the caller's transaction, leaves nothing changed. Returns one completed ``trade`` transaction per
    delivery, in order; the new reservations are saved with what is left reserved. ``now``: when the
    trades were made (the market's clock), which is what a later T+1 check dates the purchases by.
    """
    for item in [*reserve, *deliveries]:
        _quantity(item.quantity)
    new = {id(r) for r in reserve}
    senders = {r.account_id for r in reserve} | {d.reservation.account_id for d in deliveries}
    accounts = _lock(*[Account(pk=pk) for pk in senders | {d.to_account_id for d in deliveries}],
                     holding_of=instrument)
    existing = {d.reservation.pk for d in deliveries if id(d.reservation) not in new}
    locked = {r.pk: r for r in lock_pks(Reservation, existing)} if existing else {}
    for delivery in deliveries:
        saved = locked.get(delivery.reservation.pk) if id(delivery.reservation) not in new else delivery.reservation
        if saved is None or saved.account_id != delivery.reservation.account_id:
            raise Conflict(_("Unknown reservation."), "unknown_reservation", "reservation")
    needed: dict[int, int] = defaultdict(int)
    for reservation in reserve:
        needed[reservation.account_id] += reservation.quantity
    for account_id, quantity in needed.items():
        sender = accounts[account_id]
        _check_sender(sender, TK.TRADE)
        _check_available(sender, instrument, quantity, sellable_on=sellable_on)

    def key(reservation):  # a new reservation by identity, a saved one by key (copies may differ)
        return ("new", id(reservation)) if id(reservation) in new else ("saved", reservation.pk)

    left = {key(r): r.quantity for r in reserve}
    left |= {key(r): r.quantity for r in locked.values() if r.status == Reservation.Status.OPEN}
    for delivery in deliveries:
        _check_not_national(accounts[delivery.to_account_id])
        _check_recipient(accounts[delivery.to_account_id], TK.TRADE)
        held = left.get(key(delivery.reservation), 0)
        if held < delivery.quantity:
            raise Conflict(_("Only %(q)s units are still reserved.") % {"q": held}, "insufficient_reserved",
                           "quantity")
        left[key(delivery.reservation)] = held - delivery.quantity
    now = now or clock.now()
    for reservation in [*reserve, *locked.values()]:
        if key(reservation) in left:
            reservation.original_quantity = reservation.original_quantity or reservation.quantity
            reservation.quantity = left[key(reservation)]
            reservation.status = Reservation.Status.OPEN if reservation.quantity else Reservation.Status.CLOSED
    for reservation in reserve:
        reservation.instrument_id = instrument.pk
        reservation.created_by = actor if getattr(actor, "pk", None) else None
    Reservation.objects.bulk_create(reserve)
    update_rows(locked.values(), ["quantity", "status"])
    transactions = Transaction.objects.bulk_create([
        Transaction(kind=TK.TRADE, status=TS.COMPLETED, executed_at=now, instrument=instrument,
                    quantity=d.quantity, from_account_id=d.reservation.account_id, to_account_id=d.to_account_id,
                    reference=d.reference[:120], proposed_by=actor if getattr(actor, "pk", None) else None)
        for d in deliveries])
    moves = [dict(from_id=d.reservation.account_id, to_id=d.to_account_id, quantity=d.quantity, tx=tx,
                  from_state=(None if id(d.reservation) in new else d.reservation.pk, None))
             for d, tx in zip(deliveries, transactions, strict=True)]
    moves += [dict(from_id=r.account_id, to_id=r.account_id, quantity=r.quantity, to_state=(r.pk, None))
              for r in reserve if r.quantity]
    _relocate_many(instrument.pk, moves, now)
    reserved: dict[int, int] = defaultdict(int)
    for reservation in reserve:
        reserved[reservation.account_id] += reservation.quantity
    for account_id, quantity in reserved.items():
        if quantity:
            _adjust(account_id, instrument.pk, reserved=quantity)
    audit_record(actor=actor, action="registry.reservations.settle", object_type="registry.instrument",
                 object_id=instrument.pk, after={"instrument": instrument.code,
                                                 "reserved": [[r.pk, r.original_quantity, r.quantity] for r in reserve],
                                                 "transactions": [t.pk for t in transactions],
                                                 "delivered": sum(d.quantity for d in deliveries)})
    return transactions


def _relocate_many(instrument_id: int, moves: list[dict], now) -> None:
    """``_relocate`` each move in order; on PostgreSQL all of them in one round trip."""
    if not (SQL_MOVE and connection.vendor == "postgresql"):
        for move in moves:
            _relocate(instrument_id, now=now, **move)
        return
    statements, params = [], []
    for move in moves:
        tx = move.get("tx")
        statements.append("SELECT count(*) FROM registry_move(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)")
        params += [instrument_id, move["quantity"], move["from_id"], *move.get("from_state", (None, None)),
                   move["to_id"], *move.get("to_state", (None, None)), getattr(tx, "pk", None), now, MERGE_LIMIT]
    with _blocks_must_cover(), connection.cursor() as cur:
        cur.execute("; ".join(statements), params)
