"""Reads of the registry, scoped to who may see what.

- The national regulator sees every account and transaction; a provincial regulator its province's
  holder accounts (entity, provincial, participant; not the national accounts); a municipal
  regulator its city's entity accounts.
- An entity user (or an integrator with its token) sees its entity's accounts; a trading
  participant or project owner its organisation's; anyone named as a representative sees that account.
- The public sees per-vintage totals and the serial trace. Disclosure rule for the trace: each event's
  date, kind and the *kind* of the accounts involved (national accounts by name), plus the public
  facts of an end of life (compliance year of a surrender, purpose and beneficiary of a cancellation
  or retirement); never a private holder's name or account number.
"""

import datetime as dt
from dataclasses import dataclass

from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cets.common.errors import NotFound

from . import vintages
from .models import (
    Account,
    AccountRepresentative,
    Block,
    BulkWithdrawalLine,
    Holding,
    Instrument,
    Transaction,
    TransactionLeg,
)

K = Account.Kind
TS = Transaction.Status
R = AccountRepresentative.Right


@dataclass(frozen=True)
class Balance:
    total: int
    available: int
    reserved: int
    frozen: int


def balance(account: Account, instrument: Instrument) -> Balance:
    """The cached balance of one account in one instrument (zeros when nothing is held)."""
    h = Holding.objects.filter(account=account, instrument=instrument).first()
    if h is None:
        return Balance(0, 0, 0, 0)
    return Balance(h.total, h.available, h.reserved, h.frozen)


def entity_balances(*, entity_ids, instruments) -> dict[int, dict[int, Balance]]:
    """``balance`` of many entities' holding accounts (not closed) in ``instruments``, in one query:
    {entity id: {instrument id: Balance}}, an entity or instrument absent where nothing is held."""
    out: dict[int, dict[int, Balance]] = {}
    for entity_id, instrument_id, total, reserved, frozen in Holding.objects.filter(
            account__kind=Account.Kind.ENTITY_HOLDING, account__entity_id__in=list(entity_ids),
            instrument__in=list(instruments)).exclude(account__status=Account.Status.CLOSED).values_list(
            "account__entity_id", "instrument_id", "total", "reserved", "frozen"):
        out.setdefault(entity_id, {})[instrument_id] = Balance(total, total - reserved - frozen, reserved, frozen)
    return out


# ---------------------------------------------------------------------------------------------- rights

def regulator_covers(user, account: Account) -> bool:
    """Whether a regulator's jurisdiction includes the account (national accounts: the nation only)."""
    role = getattr(user, "role", None)
    if role == "national_regulator":
        return True
    if account.is_national:
        return False
    if role == "provincial_regulator":
        return account.province_id == user.province_id
    if role == "municipal_regulator":
        return account.entity_id is not None and account.entity.city_id == user.city_id
    return False


def _holder_user(user, account: Account) -> bool:
    """A user of the holder itself (entity users and integrators, or the organisation's users)."""
    if account.entity_id and getattr(user, "acting_entity_id", None) == account.entity_id:
        return True
    return bool(account.organisation_id and not user.is_regulator and user.organisation_id == account.organisation_id
                and user.role in ("participant", "project_owner", "integrator"))


def _rights(user, account: Account) -> set[str] | None:
    """Rights from named representatives; None when the account names none (holder users act in full)."""
    reps = list(AccountRepresentative.objects.filter(account=account, status__in=AccountRepresentative.NAMED)
                .values_list("user_id", "right", "status"))
    if not reps:
        return None
    return {right for uid, right, status in reps if uid == user.pk and status == "active"}


def can_initiate(user, account: Account) -> bool:
    """May ``user`` start a movement out of ``account``? Named representatives (initiate right) decide;
    an account without named representatives is acted for by its holder's own users."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    rights = _rights(user, account)
    if rights is None:
        return _holder_user(user, account)
    return R.INITIATE_APPROVE in rights


def can_approve(user, account: Account) -> bool:
    """May ``user`` give the second approval of a transfer out of ``account``?"""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    rights = _rights(user, account)
    if rights is None:
        return _holder_user(user, account)
    return bool(rights & {R.INITIATE_APPROVE, R.APPROVE})


# ---------------------------------------------------------------------------------------------- scoping

def _account_filter(user) -> Q | None:
    """A Q over Account for what ``user`` sees; None = everything."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Q(pk__in=[])
    represented = Q(representatives__user=user, representatives__status="active")
    role = user.role
    if role == "national_regulator":
        return None
    if role == "provincial_regulator":
        return Q(province_id=user.province_id) & ~Q(kind__startswith="national_")
    if role == "municipal_regulator":
        return Q(entity__city_id=user.city_id)
    if user.acting_entity_id:
        return Q(entity_id=user.acting_entity_id) | represented
    if user.organisation_id and role in ("participant", "project_owner"):
        return Q(organisation_id=user.organisation_id) | represented
    return represented


def accounts_visible_to(user) -> QuerySet[Account]:
    qs = Account.objects.select_related("entity", "organisation", "province")
    condition = _account_filter(user)
    if condition is None:
        return qs
    return qs.filter(pk__in=Account.objects.filter(condition).values("pk"))


def account_get(*, user, pk, field: str = "account") -> Account:
    """The account if ``user`` may see it; NotFound otherwise (never reveal that it exists)."""
    account = accounts_visible_to(user).filter(pk=pk).first()
    if account is None:
        raise NotFound(_("No such account."), field=field)
    return account


def account_by_number(number: str, *, field: str = "to_account") -> Account:
    """A recipient by its account number (known to the sender from outside, like an IBAN)."""
    account = Account.objects.filter(number=(number or "").strip()).first()
    if account is None:
        raise NotFound(_("No account with this number."), "unknown_account", field)
    return account


def instrument_get(code: str, *, field: str = "instrument") -> Instrument:
    instrument = Instrument.objects.filter(code=(code or "").strip()).first()
    if instrument is None:
        raise NotFound(_("No such instrument."), "unknown_instrument", field)
    return instrument


def holdings_for(user) -> QuerySet[Holding]:
    """Every non-zero holding in the accounts ``user`` sees."""
    return (Holding.objects.filter(account__in=accounts_visible_to(user).values("pk"), total__gt=0)
            .select_related("account", "instrument").order_by("account__number", "instrument__vintage",
                                                              "instrument__code"))


def transactions_visible_to(user) -> QuerySet[Transaction]:
    """Transactions touching an account the user sees (an allocation: through its legs)."""
    qs = Transaction.objects.select_related("instrument", "from_account", "to_account", "proposed_by", "approved_by")
    condition = _account_filter(user)
    if condition is None:
        return qs
    visible = Account.objects.filter(condition).values("pk")
    leg_in = TransactionLeg.objects.filter(transaction=OuterRef("pk"), to_account__in=visible)
    return qs.filter(Q(from_account__in=visible) | Q(to_account__in=visible)
                     | Q(kind=Transaction.Kind.ALLOCATION) & Exists(leg_in))


def transactions_of(account: Account) -> QuerySet[Transaction]:
    """Every transaction that moved units in or out of one account (an allocation: through its legs)."""
    leg_in = TransactionLeg.objects.filter(transaction=OuterRef("pk"), to_account=account)
    return (Transaction.objects.select_related("instrument", "from_account", "to_account")
            .filter(Q(from_account=account) | Q(to_account=account) | Q(kind=Transaction.Kind.ALLOCATION)
                    & Exists(leg_in)))


def transaction_get(*, user, pk) -> Transaction:
    tx = transactions_visible_to(user).filter(pk=pk).first()
    if tx is None:
        raise NotFound(_("No such transaction."), field="transaction")
    return tx


def approval_queue(user) -> QuerySet[Transaction]:
    """What ``user`` may approve: four-eyes proposals for regulators, second approvals for representatives."""
    qs = transactions_visible_to(user).filter(status=TS.AWAITING_APPROVAL).exclude(proposed_by=user)
    if getattr(user, "is_regulator", False):
        qs = qs.filter(kind__in=Transaction.FOUR_EYES_KINDS)
        if user.role != "national_regulator":
            qs = qs.exclude(kind__in=(Transaction.Kind.ISSUANCE, Transaction.Kind.WITHDRAWAL,
                                      Transaction.Kind.REVERSAL))
        return qs.order_by("created_at")
    return qs.filter(kind__in=Transaction.SECOND_APPROVAL_KINDS).order_by("created_at")


def bulk_withdrawal_by_reference(reference: str) -> Transaction | None:
    """The live (not rejected, not cancelled by a person) bulk withdrawal or deduction with ``reference``."""
    return (Transaction.objects.filter(reference=reference, from_account=None,
                                       kind__in=(Transaction.Kind.WITHDRAWAL, Transaction.Kind.DEDUCTION))
            .exclude(status=TS.REJECTED).exclude(status=TS.CANCELLED, approved_by=None).order_by("pk").first())


def bulk_withdrawal_lines(transaction: Transaction) -> dict[int, BulkWithdrawalLine]:
    """A bulk withdrawal's lines by account id (``withdrawn`` is None until the account's chunk ran)."""
    return {line.account_id: line for line in BulkWithdrawalLine.objects.filter(transaction=transaction)}


def pending_transactions(account: Account) -> QuerySet[Transaction]:
    """Open work on an account: proposals awaiting approval (bulk withdrawals naming it too), delayed
    transfers, running jobs."""
    open_work = [TS.AWAITING_APPROVAL, TS.DELAYED, TS.PROCESSING, TS.PROPOSED]
    bulk = BulkWithdrawalLine.objects.filter(account=account, withdrawn__isnull=True).values("transaction_id")
    return Transaction.objects.filter(Q(from_account=account) | Q(to_account=account) | Q(pk__in=bulk),
                                      status__in=open_work)


# ---------------------------------------------------------------------------------------------- holdings

def blocks_of(account: Account, instrument: Instrument | None = None) -> QuerySet[Block]:
    qs = Block.objects.filter(account=account).select_related("instrument").order_by("instrument__code",
                                                                                     "serial_start")
    return qs.filter(instrument=instrument) if instrument else qs


# A serial range's state (code) -> its label for people; the codes stay for callers that branch on them.
RANGE_STATE_LABELS = {"available": gettext_lazy("Available"), "reserved": gettext_lazy("Reserved"),
                      "frozen": gettext_lazy("Frozen")}


def holdings_by_vintage(account: Account) -> list[dict]:
    """The account's holdings grouped by instrument, each with its serial ranges and their state
    (``state`` the code, ``state_label`` the translated label for pages) and, for a CEA, the compliance
    years it settles (``settles_years``, from ``registry.vintages``: CEA24 settles 2024 only)."""
    rows: dict[int, dict] = {}
    for h in Holding.objects.filter(account=account, total__gt=0).select_related("instrument").order_by(
            "instrument__kind", "instrument__vintage", "instrument__code"):
        rows[h.instrument_id] = {"instrument": h.instrument, "holding": h, "ranges": [], "settles_years": []}
    for b in Block.objects.filter(account=account).order_by("serial_start"):
        row = rows.get(b.instrument_id)
        if row is None:
            continue
        state = "frozen" if b.freeze_id else "reserved" if b.reservation_id else "available"
        row["ranges"].append({"start": b.serial_start, "end": b.serial_end, "quantity": b.quantity,
                              "label": row["instrument"].serial_range(b.serial_start, b.serial_end),
                              "state": state, "state_label": RANGE_STATE_LABELS[state]})
    cea = [row for row in rows.values() if row["instrument"].kind == Instrument.Kind.CEA]
    settles = vintages.years_settled_by({row["instrument"].vintage for row in cea})
    for row in cea:
        row["settles_years"] = settles[row["instrument"].vintage]
    return list(rows.values())


def units_bought_on(*, account: Account, instrument: Instrument, day: dt.date) -> int:
    """Units received by trade settlement on ``day`` (local time): the T+1 rule forbids selling them that day."""
    start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
    end = start + dt.timedelta(days=1)
    total = TransactionLeg.objects.filter(
        to_account=account, instrument=instrument, transaction__kind=Transaction.Kind.TRADE,
        executed_at__gte=start, executed_at__lt=end).aggregate(n=Sum("quantity"))["n"]
    return total or 0


def surrendered_for(*, account: Account, compliance_year: int) -> dict[str, int]:
    """Units surrendered (CEA) and cancelled as ETS offsets (CCER) from one account for one compliance year."""
    totals = {"cea": 0, "ccer": 0}
    for row in _compliance_rows(compliance_transactions().filter(from_account=account,
                                                                 compliance_year=compliance_year), ()):
        totals["cea" if row["kind"] == Transaction.Kind.SURRENDER else "ccer"] += row["n"]
    return totals


# ---------------------------------------------------------------------------------------------- compliance uses
#
# What an obligation has covered is read from here (compliance.selectors.obligation_coverage): the
# completed surrenders and CCER offset cancellations of an entity for a compliance year, minus the
# completed reversals of them. A reversal writes ``reversed`` on its original in the same database
# transaction, and ``check_consistency`` proves the two agree.

COMPLIANCE_KINDS = (Transaction.Kind.SURRENDER, Transaction.Kind.CCER_CANCELLATION)


def compliance_transactions() -> QuerySet[Transaction]:
    """Surrenders and offset cancellations that moved units (completed, or completed and later reversed)."""
    return Transaction.objects.filter(kind__in=COMPLIANCE_KINDS, status__in=[TS.COMPLETED, TS.REVERSED],
                                      compliance_year__isnull=False)


def live_compliance_transaction_ids() -> QuerySet:
    """Ids of the surrenders and offset cancellations that still count (not reversed): a subquery."""
    return compliance_transactions().exclude(reversed_by__status=TS.COMPLETED).values("pk")


def _compliance_rows(qs: QuerySet[Transaction], keys: tuple[str, ...]):
    """Grouped net quantities (moved minus reversed) by ``keys`` and kind, one query."""
    return (qs.order_by().values(*keys, "kind")
            .annotate(n=Sum("quantity") - Coalesce(Sum("reversed_by__quantity",
                                                       filter=Q(reversed_by__status=TS.COMPLETED)), 0)))


def compliance_coverage(*, entity_ids=None, years=None, by_instrument: bool = False) -> dict[tuple, dict[str, int]]:
    """Net CEAs surrendered and CCERs cancelled per ``(entity_id, compliance_year)`` in one grouped query.

    ``{(entity, year): {"cea": t, "ccer": t}}``; with ``by_instrument`` the key carries the instrument
    code last: ``(entity, year, code)`` (vintage for CEAs, project and vintage for CCERs).
    """
    qs = compliance_transactions()
    if entity_ids is not None:
        qs = qs.filter(from_account__entity_id__in=list(entity_ids))
    if years is not None:
        qs = qs.filter(compliance_year__in=list(years))
    keys = ("from_account__entity_id", "compliance_year") + (("instrument__code",) if by_instrument else ())
    totals: dict[tuple, dict[str, int]] = {}
    for row in _compliance_rows(qs, keys):
        key = tuple(row[k] for k in keys)
        totals.setdefault(key, {"cea": 0, "ccer": 0})["cea" if row["kind"] == Transaction.Kind.SURRENDER
                                                      else "ccer"] += row["n"]
    return totals


def compliance_legs(*, by_instrument: bool = True) -> dict[tuple, int]:
    """Net units the national surrender and CCER cancellation accounts received per ``(entity, year, code)``,
    read from the legs (in by the surrenders and cancellations, out by their reversals): the independent
    side of ``check_consistency``'s first invariant."""
    national = [K.NATIONAL_SURRENDER, K.NATIONAL_CCER_CANCELLATION]
    legs = TransactionLeg.objects.order_by()
    keys = ("from_account__entity_id", "compliance_year", "instrument__code")
    totals: dict[tuple, int] = {}
    into = (legs.filter(to_account__kind__in=national, transaction__kind__in=COMPLIANCE_KINDS)
            .values(*(f"transaction__{k}" for k in keys)).annotate(n=Sum("quantity")))
    back = (legs.filter(from_account__kind__in=national, transaction__kind=Transaction.Kind.REVERSAL,
                        transaction__reverses__kind__in=COMPLIANCE_KINDS)
            .values(*(f"transaction__reverses__{k}" for k in keys)).annotate(n=Sum("quantity")))
    for rows, prefix, sign in ((into, "transaction__", 1), (back, "transaction__reverses__", -1)):
        for row in rows:
            key = tuple(row[prefix + k] for k in keys)
            totals[key] = totals.get(key, 0) + sign * row["n"]
    return totals


def end_of_life_ccer_transaction_ids() -> list[int]:
    """CCER offset cancellations and voluntary retirements that moved units (each needs its public record)."""
    return list(Transaction.objects.filter(kind__in=[Transaction.Kind.CCER_CANCELLATION,
                                                     Transaction.Kind.VOLUNTARY_RETIREMENT],
                                           instrument__kind=Instrument.Kind.CCER,
                                           status__in=[TS.COMPLETED, TS.REVERSED]).values_list("pk", flat=True))


def transactions_by_id(ids) -> dict[int, Transaction]:
    """Transactions by primary key with their instrument and sender (consistency checks across apps)."""
    return Transaction.objects.select_related("instrument", "from_account").in_bulk(list(ids))


def legs_of(transaction_ids) -> list[TransactionLeg]:
    """The legs of these transactions with their instrument, in serial order: what moved, serial by serial
    (a confirmation page shows them before a surrender, a receipt after)."""
    return list(TransactionLeg.objects.filter(transaction_id__in=list(transaction_ids))
                .select_related("instrument").order_by("transaction_id", "serial_start"))


def net_moved_by_reference(references) -> dict[str, int]:
    """Units moved by the completed allocations and withdrawals carrying these references (legs, net of
    reversals is not needed: allocations and bulk withdrawals are not reversed as a whole)."""
    rows = (TransactionLeg.objects.order_by().filter(transaction__reference__in=list(references),
                                                     transaction__kind__in=[Transaction.Kind.ALLOCATION,
                                                                            Transaction.Kind.WITHDRAWAL])
            .exclude(transaction__status__in=[TS.CANCELLED, TS.REJECTED])
            .values("transaction__reference").annotate(n=Sum("quantity")))
    return {row["transaction__reference"]: row["n"] for row in rows}


# ---------------------------------------------------------------------------------------------- carry-over

def holdings_at(*, first_vintage: int, last_vintage: int, at: dt.datetime) -> dict[int, tuple[int, int]]:
    """Each entity holding account's CEAs of ``first_vintage..last_vintage`` at the moment ``at``, in one
    grouped query: ``{account_id: (entity_id, units)}`` (every entity holding account, 0 when none).

    Read from the legs (in minus out, executed by ``at``), so frozen and reserved units count, minus the
    surrenders pending at ``at`` (proposed by then, not yet executed by then): the carry-over cap
    (S5 Annex 5: holdings at the cut-off, frozen included, pending surrenders excluded).
    """
    sql = f"""
        WITH inst AS (SELECT id FROM {Instrument._meta.db_table}
                      WHERE kind = 'cea' AND vintage BETWEEN %s AND %s),
        moves AS (
          SELECT to_account_id AS account_id, quantity AS q FROM {TransactionLeg._meta.db_table}
          WHERE instrument_id IN (SELECT id FROM inst) AND executed_at <= %s
          UNION ALL
          SELECT from_account_id, -quantity FROM {TransactionLeg._meta.db_table}
          WHERE instrument_id IN (SELECT id FROM inst) AND executed_at <= %s AND from_account_id IS NOT NULL
          UNION ALL
          SELECT from_account_id, -quantity FROM {Transaction._meta.db_table}
          WHERE kind = 'surrender' AND instrument_id IN (SELECT id FROM inst) AND created_at <= %s
            AND (executed_at IS NULL OR executed_at > %s) AND status IN ('awaiting_approval', 'completed', 'reversed'))
        SELECT a.id, a.entity_id, COALESCE(SUM(m.q), 0)
        FROM {Account._meta.db_table} a LEFT JOIN moves m ON m.account_id = a.id
        WHERE a.kind = 'entity_holding' GROUP BY a.id, a.entity_id"""
    at = connection.ops.adapt_datetimefield_value(at)  # SQLite compares stored UTC text
    with connection.cursor() as cur:
        cur.execute(sql, [first_vintage, last_vintage, at, at, at, at])
        return {account_id: (entity_id, int(units)) for account_id, entity_id, units in cur.fetchall()}


def available_cea(account: Account, *, first_vintage: int, last_vintage: int) -> dict[int, int]:
    """``{vintage: units available now}`` of the account's CEAs of ``first_vintage..last_vintage`` (not reserved,
    not frozen): what a carry-over can still take."""
    rows = (Holding.objects.filter(account=account, instrument__kind=Instrument.Kind.CEA,
                                   instrument__vintage__range=(first_vintage, last_vintage))
            .values_list("instrument__vintage", "total", "reserved", "frozen"))
    return {vintage: total - reserved - frozen for vintage, total, reserved, frozen in rows}


def carry_over_moved() -> dict[str, dict[str, int]]:
    """Per carry-over reference: units retired into the national deletion account and units of the target
    vintage delivered to the holder, read from the legs (``check_consistency``'s carry-over invariant)."""
    out: dict[str, dict[str, int]] = {}
    retired = (TransactionLeg.objects.order_by().filter(transaction__kind=Transaction.Kind.CARRY_OVER,
                                                        to_account__kind=K.NATIONAL_DELETION)
               .values("transaction__reference").annotate(n=Sum("quantity")))
    issued = (TransactionLeg.objects.order_by().filter(transaction__kind=Transaction.Kind.ISSUANCE,
                                                       transaction__reference__startswith="carryover:")
              .values("transaction__reference").annotate(n=Sum("quantity")))
    for rows, what in ((retired, "retired"), (issued, "issued")):
        for row in rows:
            out.setdefault(row["transaction__reference"], {"retired": 0, "issued": 0})[what] += row["n"]
    return out


# ---------------------------------------------------------------------------------------------- statements

def account_statement(*, account: Account, instrument: Instrument | None = None, start: dt.date | None = None,
                      end: dt.date | None = None) -> list[dict]:
    """Every leg in or out of the account, oldest first, with the running balance per instrument."""
    legs = TransactionLeg.objects.filter(Q(to_account=account) | Q(from_account=account))
    if instrument is not None:
        legs = legs.filter(instrument=instrument)
    running: dict[int, int] = {}
    if start is not None:
        since = timezone.make_aware(dt.datetime.combine(start, dt.time.min))
        before = legs.filter(executed_at__lt=since)
        for row in before.filter(to_account=account).values("instrument_id").annotate(n=Sum("quantity")):
            running[row["instrument_id"]] = running.get(row["instrument_id"], 0) + row["n"]
        for row in before.filter(from_account=account).values("instrument_id").annotate(n=Sum("quantity")):
            running[row["instrument_id"]] = running.get(row["instrument_id"], 0) - row["n"]
        legs = legs.filter(executed_at__gte=since)
    if end is not None:
        legs = legs.filter(executed_at__lt=timezone.make_aware(dt.datetime.combine(end + dt.timedelta(days=1),
                                                                                   dt.time.min)))
    rows = []
    for leg in legs.select_related("transaction", "instrument", "from_account", "to_account").order_by(
            "executed_at", "pk"):
        incoming = leg.to_account_id == account.pk
        running[leg.instrument_id] = running.get(leg.instrument_id, 0) + (leg.quantity if incoming else -leg.quantity)
        other = leg.from_account if incoming else leg.to_account
        rows.append({
            "date": timezone.localtime(leg.executed_at), "transaction": leg.transaction_id,
            "kind": leg.transaction.get_kind_display(), "instrument": leg.instrument.code,
            "counterparty": other.number if other else "",
            "received": leg.quantity if incoming else 0, "sent": 0 if incoming else leg.quantity,
            "balance": running[leg.instrument_id],
            "serials": leg.instrument.serial_range(leg.serial_start, leg.serial_end),
            "reference": leg.transaction.reference,
        })
    return rows


STATEMENT_HEADERS = ["date", "transaction", "kind", "instrument", "counterparty", "received", "sent", "balance",
                     "serials", "reference"]


# ---------------------------------------------------------------------------------------------- public

def _public_account(account: Account | None) -> str:
    if account is None:
        return ""
    if account.is_national:
        return account.name
    return str(account.get_kind_display())


def serial_history(instrument: Instrument, serial: int) -> dict:
    """The public trace of one serial number: its events and where it is now (see the disclosure rule)."""
    events = []
    legs = (TransactionLeg.objects.filter(instrument=instrument, serial_start__lte=serial, serial_end__gte=serial)
            .select_related("transaction", "from_account", "to_account").order_by("executed_at", "pk"))
    for leg in legs:
        tx = leg.transaction
        events.append({
            "date": timezone.localtime(leg.executed_at), "kind": tx.kind, "kind_label": tx.get_kind_display(),
            "from": _public_account(leg.from_account), "to": _public_account(leg.to_account),
            "compliance_year": tx.compliance_year, "purpose": tx.purpose, "beneficiary": tx.beneficiary,
        })
    block = Block.objects.filter(instrument=instrument, serial_start__lte=serial,
                                 serial_end__gte=serial).select_related("account").first()
    return {"instrument": instrument.code, "serial": instrument.serial(serial), "issued": block is not None,
            "held_in": _public_account(block.account) if block else "", "events": events}


def parse_serial(text: str) -> tuple[Instrument, int]:
    """``CN-CEA21-000000000001`` -> (instrument, 1); NotFound when the prefix is unknown."""
    text = (text or "").strip()
    prefix, _sep, number = text.rpartition("-")
    if not number.isdigit():
        raise NotFound(_("Not a serial number."), "invalid_serial", "serial")
    instrument = Instrument.objects.filter(serial_prefix=prefix).first()
    if instrument is None:
        raise NotFound(_("No instrument with this serial prefix."), "invalid_serial", "serial")
    return instrument, int(number)


def vintage_totals() -> list[dict]:
    """Public per-instrument totals: issued, allocated, surrendered, cancelled, retired, carried over, deleted.

    Carried-over units lie in the national deletion account (``registry.carryover``): they are shown apart
    from units deleted as penalties."""
    national = {kind: dict(Holding.objects.filter(account__kind=kind).values_list("instrument_id", "total"))
                for kind in Account.TERMINAL_KINDS}
    allocated = dict(TransactionLeg.objects.filter(transaction__kind=Transaction.Kind.ALLOCATION,
                                                   transaction__status__in=[TS.COMPLETED, TS.PROCESSING])
                     .values("instrument_id").annotate(n=Sum("quantity")).values_list("instrument_id", "n"))
    carried = dict(TransactionLeg.objects.filter(transaction__kind=Transaction.Kind.CARRY_OVER)
                   .values("instrument_id").annotate(n=Sum("quantity")).values_list("instrument_id", "n"))
    rows = []
    for inst in Instrument.objects.order_by("kind", "vintage", "code"):
        rows.append({
            "instrument": inst.code, "kind": inst.kind, "vintage": inst.vintage, "issued": inst.issued,
            "allocated": allocated.get(inst.pk, 0),
            "surrendered": national[K.NATIONAL_SURRENDER].get(inst.pk, 0),
            "cancelled": national[K.NATIONAL_CCER_CANCELLATION].get(inst.pk, 0),
            "retired": national[K.NATIONAL_VOLUNTARY_RETIREMENT].get(inst.pk, 0),
            "carried_over": carried.get(inst.pk, 0),
            "deleted": national[K.NATIONAL_DELETION].get(inst.pk, 0) - carried.get(inst.pk, 0),
        })
    return rows
