"""Tables of the registry: instruments, accounts, serial-numbered unit blocks and the transaction ledger.

The truth is in two tables: ``Block`` (who holds which serial range now) and ``TransactionLeg``
(every movement ever made, never edited). ``Holding`` caches per (account, instrument) totals for
fast reads; ``manage.py check_ledger`` proves the cache equals the blocks and the blocks equal
what was issued. Business rules live in ``registry.services``.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

REGISTRY_PREFIX = "CN"
SERIAL_DIGITS = 12


class Instrument(models.Model):
    """A unit type with its own serial series: a CEA vintage (CEA21) or a CCER project vintage.

    Serials are issued in ascending order from ``next_serial``; a serial number renders as
    ``{serial_prefix}-{number:012d}``, e.g. ``CN-CEA21-000000000001``.
    """

    class Kind(models.TextChoices):
        CEA = "cea", _("China Emission Allowance (CEA)")
        CCER = "ccer", _("China Certified Emission Reduction (CCER)")

    code = models.CharField(_("code"), max_length=60, unique=True)
    kind = models.CharField(_("kind"), max_length=4, choices=Kind.choices)
    vintage = models.PositiveSmallIntegerField(_("vintage"), help_text=_("last year covered (CEA19-20: 2020)"))
    project_ref = models.CharField(_("CCER project reference"), max_length=60, blank=True)
    serial_prefix = models.CharField(_("serial prefix"), max_length=80, unique=True)
    next_serial = models.BigIntegerField(_("next serial"), default=1)
    issuance_cap = models.BigIntegerField(
        _("issuance cap"), null=True, blank=True,
        help_text=_("The plan's total for this vintage, recorded by the allowances service when a plan or run is "
                    "approved: never more may be issued (blank: no plan total recorded)."))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("instrument")
        verbose_name_plural = _("instruments")
        ordering = ["kind", "vintage", "code"]
        constraints = [
            models.CheckConstraint(condition=Q(next_serial__gte=1), name="registry_instrument_next_serial_positive"),
            models.CheckConstraint(condition=Q(kind="cea", project_ref="") | Q(kind="ccer") & ~Q(project_ref=""),
                                   name="registry_instrument_project_ref_iff_ccer"),
            models.UniqueConstraint(fields=["kind", "vintage", "project_ref"],
                                    name="registry_instrument_one_per_vintage"),
            # the last line of defence of "never above the plan's total": the serial counter cannot pass the cap
            models.CheckConstraint(condition=Q(issuance_cap__isnull=True) | Q(next_serial__lte=F("issuance_cap") + 1),
                                   name="registry_instrument_issued_within_cap"),
        ]

    def __str__(self):
        return self.code

    @property
    def issued(self) -> int:
        return self.next_serial - 1

    def serial(self, number: int) -> str:
        return f"{self.serial_prefix}-{number:0{SERIAL_DIGITS}d}"

    def serial_range(self, start: int, end: int) -> str:
        return self.serial(start) if start == end else f"{self.serial(start)}…{self.serial(end)}"


class Account(models.Model):
    """A registry account: national management accounts, provincial, entity holding, trading participant."""

    class Kind(models.TextChoices):
        NATIONAL_ISSUANCE = "national_issuance", _("National issuance (total quantity) account")
        NATIONAL_ALLOCATION = "national_allocation", _("National allocation account")
        NATIONAL_SURRENDER = "national_surrender", _("National surrender account")
        NATIONAL_DELETION = "national_deletion", _("National deletion account")
        NATIONAL_CCER_CANCELLATION = "national_ccer_cancellation", _("National CCER cancellation account")
        NATIONAL_VOLUNTARY_RETIREMENT = "national_voluntary_retirement", _("National voluntary retirement account")
        PROVINCIAL = "provincial", _("Provincial account")
        ENTITY_HOLDING = "entity_holding", _("Entity holding account")
        TRADING_PARTICIPANT = "trading_participant", _("Trading participant account")

    NATIONAL_KINDS = (Kind.NATIONAL_ISSUANCE, Kind.NATIONAL_ALLOCATION, Kind.NATIONAL_SURRENDER,
                      Kind.NATIONAL_DELETION, Kind.NATIONAL_CCER_CANCELLATION, Kind.NATIONAL_VOLUNTARY_RETIREMENT)
    #: Units that reach these accounts have ended their life; they stay there and still count as issued.
    TERMINAL_KINDS = (Kind.NATIONAL_SURRENDER, Kind.NATIONAL_DELETION, Kind.NATIONAL_CCER_CANCELLATION,
                      Kind.NATIONAL_VOLUNTARY_RETIREMENT)
    KIND_CODES = {"national_issuance": 100, "national_allocation": 110, "national_surrender": 120,
                  "national_deletion": 130, "national_ccer_cancellation": 140, "national_voluntary_retirement": 150,
                  "provincial": 200, "entity_holding": 300, "trading_participant": 400}

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposed (opening applied for)")
        OPEN = "open", _("Open")
        PARTIALLY_FROZEN = "partially_frozen", _("Partially frozen (may receive, may not send)")
        FULLY_FROZEN = "fully_frozen", _("Fully frozen / suspended")
        RESTRICTED = "restricted", _("Restricted to compliance transactions")
        CLOSED = "closed", _("Closed")
        REJECTED = "rejected", _("Opening rejected")

    number = models.CharField(_("account number"), max_length=24, unique=True)
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=200)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.PROPOSED)
    entity = models.ForeignKey("entities.KeyEntity", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="registry_accounts", verbose_name=_("entity"))
    organisation = models.ForeignKey("entities.Organisation", null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="registry_accounts", verbose_name=_("organisation"))
    province = models.ForeignKey("entities.Province", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="registry_accounts", verbose_name=_("province"))
    requires_second_approval = models.BooleanField(
        _("transfers need a second representative"), default=False,
        help_text=_("Transfers initiated by a representative run only after another representative approves."))
    status_comment = models.CharField(_("last status comment"), max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    opened_at = models.DateTimeField(_("opened"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    applied_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("opening applied for by"))
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+", verbose_name=_("opening approved by"))

    class Meta:
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(fields=["kind"], condition=Q(kind__startswith="national_"),
                                    name="registry_account_one_per_national_kind"),
            models.UniqueConstraint(fields=["province"], condition=Q(kind="provincial"),
                                    name="registry_account_one_per_province"),
            models.UniqueConstraint(fields=["entity"], condition=Q(kind="entity_holding") & ~Q(status="closed"),
                                    name="registry_account_one_open_per_entity"),
            models.CheckConstraint(condition=~Q(kind="entity_holding") | Q(entity__isnull=False),
                                   name="registry_account_entity_holding_has_entity"),
            models.CheckConstraint(condition=~Q(kind="provincial") | Q(province__isnull=False),
                                   name="registry_account_provincial_has_province"),
            models.CheckConstraint(condition=~Q(kind="trading_participant") | Q(organisation__isnull=False),
                                   name="registry_account_participant_has_organisation"),
            models.CheckConstraint(condition=Q(applied_by__isnull=True) | Q(opened_by__isnull=True)
                                   | ~Q(applied_by=F("opened_by")),
                                   name="registry_account_opening_four_eyes"),
        ]

    def __str__(self):
        return f"{self.number} {self.name}"

    @property
    def is_national(self) -> bool:
        return self.kind in self.NATIONAL_KINDS


class AccountRepresentative(models.Model):
    """A person who acts for an account, with rights (UK ETS: initiate and approve / approve / read)."""

    class Right(models.TextChoices):
        INITIATE_APPROVE = "initiate_approve", _("Initiate and approve")
        APPROVE = "approve", _("Approve only")
        READ = "read", _("Read only")

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposed (awaiting a second regulator)")
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")
        ENDED = "ended", _("Ended (proposal refused or account closed)")

    #: Statuses of a person who is named for the account (the account is then acted for by its named people only).
    NAMED = (Status.ACTIVE, Status.SUSPENDED)

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="representatives")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="registry_roles")
    right = models.CharField(_("right"), max_length=20, choices=Right.choices)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("account representative")
        verbose_name_plural = _("account representatives")
        constraints = [models.UniqueConstraint(fields=["account", "user"], name="registry_accountrepresentative_once")]

    def __str__(self):
        return f"{self.user} @ {self.account.number} ({self.right})"


class TrustedAccount(models.Model):
    """An account on another account's trusted list: from ``active_from`` transfers to it run at once.

    The entry takes effect only after a delay (``registry.governance.trusted_delay_working_days``), so
    a hijacked session cannot add an account and empty the holding into it at once.
    """

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="trusted")
    trusted = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="trusted_by")
    description = models.CharField(_("description"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    active_from = models.DateTimeField(_("active from"), default=timezone.now)

    class Meta:
        verbose_name = _("trusted account")
        verbose_name_plural = _("trusted accounts")
        constraints = [
            models.UniqueConstraint(fields=["account", "trusted"], name="registry_trustedaccount_once"),
            models.CheckConstraint(condition=~Q(account=F("trusted")), name="registry_trustedaccount_not_self"),
        ]

    def __str__(self):
        return f"{self.account_id} trusts {self.trusted_id}"


class Reservation(models.Model):
    """Units set aside in an account for a pending use (a sell order, a delayed transfer, a surrender).

    Reserved blocks carry this reservation and cannot move by any other transaction; the
    reservation is settled (units move) or released (units become available again).
    """

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="reservations")
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="reservations")
    quantity = models.BigIntegerField(_("quantity still reserved"))
    original_quantity = models.BigIntegerField(_("quantity reserved"))
    reference = models.CharField(_("reference"), max_length=120, blank=True)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.OPEN)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("reservation")
        verbose_name_plural = _("reservations")
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=0) & Q(quantity__lte=F("original_quantity")),
                                   name="registry_reservation_quantity_range"),
            models.CheckConstraint(condition=Q(status="closed") | Q(quantity__gt=0),
                                   name="registry_reservation_open_has_units"),
        ]

    def __str__(self):
        return f"reservation #{self.pk} {self.quantity} {self.instrument_id}"


class Freeze(models.Model):
    """Units frozen in an account by a regulator (judicial freeze, pledge) until unfrozen."""

    class Kind(models.TextChoices):
        JUDICIAL = "judicial", _("Judicial freeze")
        PLEDGE = "pledge", _("Pledge")
        REGULATORY = "regulatory", _("Regulatory freeze")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        RELEASED = "released", _("Released")

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="freezes")
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="freezes")
    quantity = models.BigIntegerField(_("quantity"))
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    reason = models.CharField(_("reason"), max_length=500)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("freeze")
        verbose_name_plural = _("freezes")
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="registry_freeze_quantity_positive")]

    def __str__(self):
        return f"freeze #{self.pk} {self.quantity} {self.instrument_id}"


class Block(models.Model):
    """A contiguous serial range ``[serial_start, serial_end]`` of one instrument held by one account.

    Never one row per tonne. A block is either available, reserved (``reservation``) or frozen
    (``freeze``), never both. On PostgreSQL an exclusion constraint (migration 0002) forbids two
    blocks of one instrument from overlapping.
    """

    # No single-column FK indexes: the composite indexes below lead with these columns (fewer index
    # writes on the hot path of every movement).
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="blocks", db_index=False)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="blocks", db_index=False)
    serial_start = models.BigIntegerField(_("first serial"))
    serial_end = models.BigIntegerField(_("last serial"))
    reservation = models.ForeignKey(Reservation, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="blocks", db_index=False)
    freeze = models.ForeignKey(Freeze, null=True, blank=True, on_delete=models.PROTECT, related_name="blocks",
                               db_index=False)

    class Meta:
        verbose_name = _("unit block")
        verbose_name_plural = _("unit blocks")
        # Serves "take this account's available blocks of an instrument in serial order".
        indexes = [models.Index(fields=["account", "instrument", "serial_start"], name="registry_block_holder_idx"),
                   # Serves the serial trace and the disjointness check (instrument, serial order).
                   models.Index(fields=["instrument", "serial_start"], name="registry_block_serial_idx"),
                   # Serve "take blocks in one state in serial order" (registry_move, migration 0007).
                   models.Index(fields=["account", "instrument", "serial_start"],
                                condition=Q(reservation__isnull=True, freeze__isnull=True),
                                name="registry_block_free_idx"),
                   models.Index(fields=["reservation", "serial_start"], condition=Q(reservation__isnull=False),
                                name="registry_block_reserved_idx"),
                   models.Index(fields=["freeze", "serial_start"], condition=Q(freeze__isnull=False),
                                name="registry_block_frozen_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(serial_start__gte=1) & Q(serial_end__gte=F("serial_start")),
                                   name="registry_block_range_valid"),
            models.CheckConstraint(condition=Q(reservation__isnull=True) | Q(freeze__isnull=True),
                                   name="registry_block_reserved_or_frozen"),
        ]

    def __str__(self):
        return f"{self.instrument_id}:{self.serial_start}-{self.serial_end} @ {self.account_id}"

    @property
    def quantity(self) -> int:
        return self.serial_end - self.serial_start + 1


class Holding(models.Model):
    """Cached balance of one account in one instrument: equals the sum of its blocks (check_ledger)."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="holdings")
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="holdings")
    total = models.BigIntegerField(_("total"), default=0)
    reserved = models.BigIntegerField(_("reserved"), default=0)
    frozen = models.BigIntegerField(_("frozen"), default=0)

    class Meta:
        verbose_name = _("holding")
        verbose_name_plural = _("holdings")
        constraints = [
            models.UniqueConstraint(fields=["account", "instrument"], name="registry_holding_once"),
            models.CheckConstraint(condition=Q(reserved__gte=0) & Q(frozen__gte=0)
                                   & Q(total__gte=F("reserved") + F("frozen")),
                                   name="registry_holding_available_nonneg"),
        ]

    def __str__(self):
        return f"{self.account_id}/{self.instrument_id}: {self.total}"

    @property
    def available(self) -> int:
        return self.total - self.reserved - self.frozen


#: Transaction kinds that are account governance requests (no units); see ``Transaction.GOVERNANCE_KINDS``.
GOVERNANCE_KIND_VALUES = ("account_closure", "representative_add", "representative_restore")


class Transaction(models.Model):
    """One movement (or freeze) of units with its legs; never edited once completed.

    A correction is a new transaction (``reverses``); the original then shows ``reversed``.
    """

    class Kind(models.TextChoices):
        ISSUANCE = "issuance", _("Issuance")
        DELIVERY = "delivery", _("Delivery of issued units")
        ALLOCATION = "allocation", _("Allocation")
        TRANSFER = "transfer", _("Transfer")
        TRADE = "trade", _("Trade settlement")
        SURRENDER = "surrender", _("Surrender")
        CCER_CANCELLATION = "ccer_cancellation", _("CCER cancellation")
        VOLUNTARY_RETIREMENT = "voluntary_retirement", _("Voluntary retirement")
        DEDUCTION = "deduction", _("Deduction")
        WITHDRAWAL = "withdrawal", pgettext_lazy("units taken back by a regulator", "Withdrawal")
        FREEZE = "freeze", _("Freeze")
        UNFREEZE = "unfreeze", _("Unfreeze")
        REVERSAL = "reversal", _("Reversal")
        CARRY_OVER = "carry_over", _("Carry-over retirement")
        ACCOUNT_CLOSURE = "account_closure", _("Account closure")
        REPRESENTATIVE_ADD = "representative_add", _("Representative added")
        REPRESENTATIVE_RESTORE = "representative_restore", _("Representative restored")

    #: Account governance requests: no units, no instrument; they share the four-eyes queue and approval.
    GOVERNANCE_KINDS = (Kind.ACCOUNT_CLOSURE, Kind.REPRESENTATIVE_ADD, Kind.REPRESENTATIVE_RESTORE)
    #: Kinds a regulator proposes and a second regulator approves (four-eyes).
    FOUR_EYES_KINDS = (Kind.ISSUANCE, Kind.DEDUCTION, Kind.WITHDRAWAL, Kind.FREEZE, Kind.UNFREEZE, Kind.REVERSAL,
                       Kind.CARRY_OVER, *GOVERNANCE_KINDS)
    #: Kinds a representative starts and, on an account requiring it, a second representative approves.
    SECOND_APPROVAL_KINDS = (Kind.TRANSFER, Kind.SURRENDER, Kind.CCER_CANCELLATION, Kind.VOLUNTARY_RETIREMENT)
    #: Kinds a restricted account may still do.
    COMPLIANCE_KINDS = (Kind.SURRENDER, Kind.ALLOCATION, Kind.DEDUCTION, Kind.WITHDRAWAL, Kind.REVERSAL,
                        Kind.CCER_CANCELLATION, Kind.CARRY_OVER)

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        AWAITING_APPROVAL = "awaiting_approval", _("Awaiting approval")
        DELAYED = "delayed", _("Delayed (cancellable)")
        PROCESSING = "processing", _("Processing (chunked job)")
        COMPLETED = "completed", _("Completed")
        REJECTED = "rejected", _("Rejected")
        CANCELLED = "cancelled", _("Cancelled")
        REVERSED = "reversed", _("Reversed by a later transaction")

    kind = models.CharField(_("kind"), max_length=24, choices=Kind.choices)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices)
    instrument = models.ForeignKey(Instrument, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="transactions", help_text=_("empty for account governance requests"))
    quantity = models.BigIntegerField(_("quantity"))
    from_account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="outgoing", verbose_name=_("from account"))
    to_account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="incoming", verbose_name=_("to account"))
    reference = models.CharField(_("reference"), max_length=120, blank=True)
    compliance_year = models.PositiveSmallIntegerField(_("compliance year"), null=True, blank=True)
    purpose = models.CharField(_("purpose"), max_length=200, blank=True)
    beneficiary = models.CharField(_("beneficiary"), max_length=200, blank=True)
    reason = models.CharField(_("reason / comment"), max_length=500, blank=True)
    reservation = models.OneToOneField(Reservation, null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="transaction")
    # The foreign keys most transactions leave empty are indexed only where set (partial indexes below):
    # every transfer and trade writes this table, and an index entry per empty key is wasted work.
    freeze = models.ForeignKey(Freeze, null=True, blank=True, on_delete=models.PROTECT, related_name="transactions",
                               db_index=False)
    freeze_kind = models.CharField(_("freeze kind"), max_length=12, choices=Freeze.Kind.choices, blank=True)
    reverses = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="reversed_by", verbose_name=_("reverses"))
    job = models.ForeignKey("common.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                            db_index=False)
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+", verbose_name=_("proposed by"), db_index=False)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+", verbose_name=_("approved by"), db_index=False)
    not_before = models.DateTimeField(_("runs not before"), null=True, blank=True)
    # issuance: the account the new units are delivered to from the national issuance account on approval
    deliver_to = models.ForeignKey(Account, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("deliver to"), db_index=False)
    # representative_add / representative_restore: whom the request is about
    representative = models.ForeignKey(AccountRepresentative, null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="requests", verbose_name=_("representative"), db_index=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    executed_at = models.DateTimeField(_("executed"), null=True, blank=True, db_index=True)

    class Meta:
        verbose_name = _("transaction")
        verbose_name_plural = _("transactions")
        ordering = ["-id"]
        indexes = [
            # Serves the approval queue and the due-delayed-transfer sweep.
            models.Index(fields=["status", "kind"], name="registry_tx_status_idx"),
            *(models.Index(fields=[name], condition=Q(**{f"{name}__isnull": False}), name=f"registry_tx_{name}_idx")
              for name in ("freeze", "job", "proposed_by", "approved_by", "representative")),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0) & ~Q(kind__in=GOVERNANCE_KIND_VALUES)
                                   & Q(instrument__isnull=False)
                                   | Q(quantity=0) & Q(kind__in=GOVERNANCE_KIND_VALUES) & Q(instrument__isnull=True),
                                   name="registry_transaction_units_iff_movement"),
            # one pending issuance per instrument and destination (a race between two proposers leaves one)
            models.UniqueConstraint(fields=["instrument", "deliver_to"],
                                    condition=Q(kind="issuance", status="awaiting_approval"),
                                    name="registry_transaction_one_pending_issuance"),
            # one pending single-account withdrawal per account and vintage (bulk lines: checked by the service)
            models.UniqueConstraint(fields=["from_account", "instrument"],
                                    condition=Q(kind="withdrawal", status="awaiting_approval"),
                                    name="registry_transaction_one_pending_withdrawal"),
            models.CheckConstraint(condition=Q(approved_by__isnull=True) | Q(proposed_by__isnull=True)
                                   | ~Q(approved_by=F("proposed_by")),
                                   name="registry_transaction_four_eyes"),
            models.UniqueConstraint(fields=["reference"], condition=Q(kind="allocation") & ~Q(reference=""),
                                    name="registry_transaction_one_allocation_per_reference"),
        ]

    def __str__(self):
        return f"#{self.pk} {self.kind} {self.quantity} {self.status}"


class TransactionLeg(models.Model):
    """One serial range moved by a transaction: the append-only ledger line."""

    transaction = models.ForeignKey(Transaction, on_delete=models.PROTECT, related_name="legs")
    # Indexed by the composite indexes below, not one by one (the ledger is append-heavy).
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="+", db_index=False)
    from_account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                     db_index=False)
    to_account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+", db_index=False)
    serial_start = models.BigIntegerField()
    serial_end = models.BigIntegerField()
    quantity = models.BigIntegerField()
    executed_at = models.DateTimeField()

    class Meta:
        verbose_name = _("transaction leg")
        verbose_name_plural = _("transaction legs")
        # Serves account statements (legs into / out of an account) and the serial trace.
        indexes = [models.Index(fields=["to_account", "instrument", "executed_at"], name="registry_leg_to_idx"),
                   models.Index(fields=["from_account", "instrument", "executed_at"], name="registry_leg_from_idx"),
                   models.Index(fields=["instrument", "serial_start"], name="registry_leg_serial_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(serial_start__gte=1) & Q(serial_end__gte=F("serial_start"))
                                   & Q(quantity=F("serial_end") - F("serial_start") + 1),
                                   name="registry_transactionleg_quantity_is_range"),
        ]

    def __str__(self):
        return f"leg {self.transaction_id}: {self.serial_start}-{self.serial_end}"


class PendingApproval(Transaction):
    """The approval queue in the admin: transactions awaiting a second person's decision."""

    class Meta:
        proxy = True
        verbose_name = _("approval queue item")
        verbose_name_plural = _("approval queue")


class BulkWithdrawalLine(models.Model):
    """One account's part of a bulk withdrawal or deduction (a four-eyes Transaction without ``from_account``).

    ``requested`` is what the proposal asked for; ``withdrawn`` is filled when the account's chunk
    executes: at most what the account held available then (never a negative balance). The caller
    turns ``requested - withdrawn`` into an obligation.
    """

    transaction = models.ForeignKey(Transaction, on_delete=models.PROTECT, related_name="bulk_lines")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    requested = models.BigIntegerField(_("requested"))
    withdrawn = models.BigIntegerField(_("withdrawn"), null=True, blank=True,
                                       help_text=_("empty until the account's chunk has executed"))
    # the registry's error code (stored language-neutral): insufficient_units, account_not_open
    note = models.CharField(_("why less was withdrawn"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("bulk withdrawal line")
        verbose_name_plural = _("bulk withdrawal lines")
        constraints = [
            models.UniqueConstraint(fields=["transaction", "account"],
                                    name="registry_bulkwithdrawalline_one_per_account"),
            models.CheckConstraint(condition=Q(requested__gt=0), name="registry_bulkwithdrawalline_requested_positive"),
            models.CheckConstraint(condition=Q(withdrawn__isnull=True) | Q(withdrawn__gte=0)
                                   & Q(withdrawn__lte=F("requested")),
                                   name="registry_bulkwithdrawalline_withdrawn_within_requested"),
        ]

    def __str__(self):
        return f"{self.transaction_id}: {self.account_id} {self.withdrawn}/{self.requested}"


class ComplianceYearClosure(models.Model):
    """A compliance year whose surrenders and offset cancellations are final.

    Written by compliance when a cycle starts closing (``registry.services.compliance_years_close``):
    from then on the registry refuses new surrenders or offset cancellations for the year and the
    reversal of those already made, so a closed obligation, its certificate and the ledger never part.
    """

    year = models.PositiveSmallIntegerField(_("compliance year"), unique=True)
    closed_at = models.DateTimeField(_("closed"), auto_now_add=True)

    class Meta:
        verbose_name = _("closed compliance year")
        verbose_name_plural = _("closed compliance years")

    def __str__(self):
        return str(self.year)


class SurrenderVintage(models.Model):
    """A CEA vintage that settles obligations of one compliance year, whatever the sector (the ledger's rule).

    Data, seeded from ``registry.vintages_seed`` and editable in the admin; the registry's surrender
    check reads it for every caller, compliance shows it on its pages, its risk scan and the holdings
    view. ``vintage`` 2019 stands for CEA19-20 (registry vintage 2020). Never later than the year.
    """

    year = models.PositiveSmallIntegerField(_("compliance year"))
    vintage = models.PositiveSmallIntegerField(_("CEA vintage"))
    confidence = models.CharField(_("confidence"), max_length=1, default="A",
                                  help_text=_("A: read in the official text; B: secondary source; C: widely reported"))
    source = models.CharField(_("source"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("eligible vintage")
        verbose_name_plural = _("eligible vintages")
        ordering = ["year", "vintage"]
        constraints = [
            models.UniqueConstraint(fields=["year", "vintage"], name="registry_surrendervintage_once"),
            models.CheckConstraint(condition=Q(vintage__lte=F("year")), name="registry_surrendervintage_not_later"),
        ]

    def __str__(self):
        return f"{self.year}: {self.vintage}"
