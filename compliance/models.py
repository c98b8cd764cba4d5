"""Tables of the compliance app: cycles as data, obligations, surrender steps, flexible mechanisms,
risk monitoring, closing outcomes, penalties and completion certificates.

Every figure a regulator may need to correct (deadlines, eligible vintages, the offset cap, the
warning horizons, the penalty multiplier range) is a row, not code (DOMAIN.md section 6).
Tonnes are whole (BigIntegerField); money is Decimal yuan.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

MONEY = {"max_digits": 18, "decimal_places": 2}


def default_horizons() -> list[int]:
    return [90, 60, 30, 7]


class ComplianceCycle(models.Model):
    """A compliance cycle: the years it covers, its deadlines, its offset cap and its state.

    ``milestone_pct`` / ``milestone_date`` is the interim target set in the MEE notice (e.g. 95% of a
    province's entities complete by 2023-11-15 for 2021-22) [B]; ``deadline`` is the final date after
    which a surrender step counts as late (accepted until the cycle is closed, as a correction).
    Its sectors (``CycleSector``) and dated steps (``CycleMilestone``) are rows; ``draft`` marks a cycle
    read from a plan still out for consultation (2026). Allowances are labelled by year, not sector:
    the eligible vintages of a year (``vintages``) settle the obligation of any sector.
    """

    class Status(models.TextChoices):
        OPEN = "open", _("Open for surrender")
        CLOSING = "closing", _("Closing")
        CLOSED = "closed", _("Closed")

    code = models.CharField(_("code"), max_length=12, unique=True, help_text=_("e.g. 2021-2022"))
    name = models.CharField(_("name"), max_length=100)
    first_year = models.PositiveSmallIntegerField(_("first year"))
    last_year = models.PositiveSmallIntegerField(_("last year"))
    # xgettext:no-python-format
    offset_cap_pct = models.DecimalField(_("CCER offset cap (% of obligation)"), max_digits=5, decimal_places=2,
                                         default=Decimal("5"))
    # xgettext:no-python-format
    milestone_pct = models.DecimalField(_("milestone (% of entities complete)"), max_digits=5, decimal_places=2,
                                        null=True, blank=True)
    milestone_date = models.DateField(_("milestone date"), null=True, blank=True)
    deadline = models.DateField(_("final deadline"))
    warning_horizons = models.JSONField(_("warning horizons (days before the deadline)"), default=default_horizons)
    penalty_multiplier_min = models.DecimalField(_("penalty multiplier min"), max_digits=4, decimal_places=2,
                                                 default=Decimal("5"))
    penalty_multiplier_max = models.DecimalField(_("penalty multiplier max"), max_digits=4, decimal_places=2,
                                                 default=Decimal("10"))
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.OPEN)
    draft = models.BooleanField(_("from a draft plan"), default=False,
                                help_text=_("Its figures come from a plan still out for consultation"))
    closing_job = models.ForeignKey("common.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                    verbose_name=_("closing job"))
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    confidence = models.CharField(_("confidence"), max_length=1, default="B",
                                  help_text=_("A: read in the official text; B: secondary source; C: widely reported"))
    source = models.CharField(_("source"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("compliance cycle")
        verbose_name_plural = _("compliance cycles")
        ordering = ["first_year"]
        constraints = [
            models.CheckConstraint(condition=Q(last_year__gte=F("first_year")), name="compliance_cycle_years"),
            models.CheckConstraint(condition=Q(offset_cap_pct__gte=0, offset_cap_pct__lte=100),
                                   name="compliance_cycle_offset_cap_range"),
            models.CheckConstraint(condition=Q(penalty_multiplier_min__gt=0)
                                   & Q(penalty_multiplier_max__gte=F("penalty_multiplier_min")),
                                   name="compliance_cycle_multiplier_range"),
            models.CheckConstraint(condition=Q(milestone_date__isnull=True) | Q(milestone_date__lte=F("deadline")),
                                   name="compliance_cycle_milestone_before_deadline"),
        ]

    def __str__(self):
        return self.code

    @property
    def years(self) -> list[int]:
        return list(range(self.first_year, self.last_year + 1))

    @property
    def vintages(self):
        """The CEA vintages eligible for each year of the cycle: the registry's rows (``registry.vintages``),
        which its surrender check enforces for every caller, so compliance never keeps a second copy."""
        from registry.models import SurrenderVintage

        return SurrenderVintage.objects.filter(year__gte=self.first_year, year__lte=self.last_year)


class CycleSector(models.Model):
    """A sector whose obligations of the cycle's years this cycle settles, and how it is allocated.

    2024: power on the 2023-24 plan (benchmarks, pre-allocation); steel, cement and aluminium on
    verified emissions with no pre-allocation [B]. 2025 and 2026: all four on their plans [A S1].
    """

    class Basis(models.TextChoices):
        PLAN = "plan", _("Allocation plan (benchmark or balance value)")
        VERIFIED = "verified", _("Verified emissions (allocation = verified, no pre-allocation)")

    cycle = models.ForeignKey(ComplianceCycle, on_delete=models.CASCADE, related_name="sectors")
    sector = models.ForeignKey("entities.Sector", on_delete=models.PROTECT, related_name="+",
                               verbose_name=_("sector"))
    allocation_basis = models.CharField(_("allocation basis"), max_length=8, choices=Basis.choices,
                                        default=Basis.PLAN)
    confidence = models.CharField(_("confidence"), max_length=1, default="A")
    source = models.CharField(_("source"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("sector of a cycle")
        verbose_name_plural = _("sectors of a cycle")
        ordering = ["cycle", "sector__sort_order"]
        constraints = [models.UniqueConstraint(fields=["cycle", "sector"], name="compliance_cyclesector_once")]

    def __str__(self):
        return f"{self.cycle} {self.sector_id}"


class CycleMilestone(models.Model):
    """A dated step of a cycle, for every sector or one (``sector`` blank = all): lists, reports,
    verification, pre-allocation, final allocation, carry-over applications, surrender."""

    class Kind(models.TextChoices):
        LISTS = "lists", _("Lists published")
        ACCOUNTS = "accounts", _("Registry accounts opened")
        REPORT = "report", _("Annual emission report")
        VERIFICATION = "verification", _("Verification result sent")
        PRE_ALLOCATION = "pre_allocation", _("Pre-allocation")
        FINAL_ALLOCATION = "final_allocation", _("Final allocation determined")
        ISSUED = "issued", _("Final allocation issued")
        CARRY_OVER = "carry_over", _("Carry-over applications close")
        SURRENDER = "surrender", _("Surrender")

    cycle = models.ForeignKey(ComplianceCycle, on_delete=models.CASCADE, related_name="milestones")
    sector = models.ForeignKey("entities.Sector", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                               verbose_name=_("sector"), help_text=_("Blank: every sector of the cycle"))
    kind = models.CharField(_("step"), max_length=16, choices=Kind.choices)
    due_on = models.DateField(_("by"))
    confidence = models.CharField(_("confidence"), max_length=1, default="A")
    source = models.CharField(_("source"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("cycle milestone")
        verbose_name_plural = _("cycle milestones")
        ordering = ["cycle", "due_on", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["cycle", "kind", "sector"], name="compliance_cyclemilestone_once"),
            models.UniqueConstraint(fields=["cycle", "kind"], condition=Q(sector__isnull=True),
                                    name="compliance_cyclemilestone_once_all_sectors"),
        ]

    def __str__(self):
        return f"{self.cycle} {self.kind} {self.sector_id or '*'}: {self.due_on}"


class ObligationQuerySet(models.QuerySet):
    """Obligations whose coverage is read from the registry ledger for all fetched rows at once.

    Evaluating the queryset (a list, a page, ``get``, ``lock_rows``) attaches each row's coverage with
    two grouped queries (``compliance.selectors.attach_coverage``), so lists never query per row.
    """

    def _fetch_all(self):
        fresh = self._result_cache is None
        super()._fetch_all()
        if fresh and self._result_cache and isinstance(self._result_cache[0], Obligation):
            from .selectors import attach_coverage

            attach_coverage(self._result_cache)


class Obligation(models.Model):
    """What one entity must surrender for one year, and how far it has got.

    One obligation per entity and year across sectors, covering every allocation unit it is listed for
    (steel: the enterprise; cement: its clinker lines; aluminium: its electrolysis processes; power: its
    units): the real market surrenders from one registry account per entity, with allowances labelled
    by year and not by sector, so a per-sector split would settle nothing differently. The sectors
    covered are read from the year's lists (``entities.SectorListing``).

    ``quantity_tco2`` = confirmed verified emissions - approved individual relief. The plan's relief
    (gas top-up, 20% shortfall cap) and borrowing reach the entity as allowances (allowances app), so
    they are recorded here for the report, not subtracted again.

    What the obligation has covered is never stored beside the ledger: ``surrendered_tco2`` (CEAs),
    ``offsets_tco2`` (CCERs), ``on_time_tco2`` and ``completed_on`` are read from the registry's
    surrenders and offset cancellations for the entity and year minus their reversals
    (``compliance.selectors.obligation_coverage``), so a reversal reopens the obligation at once.
    ``status`` and ``shortfall_tco2`` are the outcome written when the cycle closes.
    """

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        COMPLIANT = "compliant", _("Compliant")
        COMPLIANT_LATE = "compliant_late", _("Compliant late")
        PARTIAL = "partially_compliant", _("Partially compliant")
        NON_COMPLIANT = "non_compliant", _("Non-compliant")

    cycle = models.ForeignKey(ComplianceCycle, on_delete=models.PROTECT, related_name="obligations")
    entity = models.ForeignKey("entities.KeyEntity", on_delete=models.PROTECT, related_name="compliance_obligations",
                               verbose_name=_("entity"))
    year = models.PositiveSmallIntegerField(_("year"))
    verified_emissions_tco2 = models.BigIntegerField(_("verified emissions"))
    relief_tco2 = models.BigIntegerField(_("individual relief"), default=0)
    quantity_tco2 = models.BigIntegerField(_("obligation"))
    allocation_tco2 = models.BigIntegerField(_("allocated"), default=0)
    plan_relief_tco2 = models.BigIntegerField(_("plan relief (in allocation)"), default=0)
    borrowed_tco2 = models.BigIntegerField(_("borrowed"), default=0)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.OPEN)
    shortfall_tco2 = models.BigIntegerField(_("shortfall"), default=0)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ObligationQuerySet.as_manager()

    class Meta:
        verbose_name = _("obligation")
        verbose_name_plural = _("obligations")
        ordering = ["cycle", "year", "entity"]
        constraints = [
            models.UniqueConstraint(fields=["entity", "year"], name="compliance_obligation_one_per_year"),
            models.CheckConstraint(condition=Q(quantity_tco2__gte=0) & Q(relief_tco2__gte=0)
                                   & Q(verified_emissions_tco2__gte=0),
                                   name="compliance_obligation_nonnegative"),
            models.CheckConstraint(condition=Q(quantity_tco2=F("verified_emissions_tco2") - F("relief_tco2")),
                                   name="compliance_obligation_quantity_rule"),
        ]
        # Serves the closing job's chunks (a cycle's obligations by id) and the per-year report.
        indexes = [models.Index(fields=["cycle", "year", "status"], name="compliance_obl_cycle_idx")]

    def __str__(self):
        return f"{self.entity} {self.year}: {self.quantity_tco2} t"

    _coverage = None  # compliance.selectors.Coverage, attached when the row is read

    def refresh_from_db(self, *args, **kwargs):
        super().refresh_from_db(*args, **kwargs)
        self._coverage = None

    @property
    def coverage(self):
        """The ledger's figures for this obligation (read once per instance; lists attach them in bulk)."""
        if self._coverage is None:
            from .selectors import attach_coverage

            attach_coverage([self])
        return self._coverage

    @property
    def surrendered_tco2(self) -> int:
        return self.coverage.cea_tco2

    @property
    def offsets_tco2(self) -> int:
        return self.coverage.ccer_tco2

    @property
    def covered_tco2(self) -> int:
        return self.surrendered_tco2 + self.offsets_tco2

    @property
    def on_time_tco2(self) -> int:
        return min(self.coverage.on_time_tco2, self.covered_tco2)

    @property
    def completed_on(self):
        """The date of the step that completed it (None while anything remains owed)."""
        if self.quantity_tco2 <= 0 or self.covered_tco2 < self.quantity_tco2:
            return None
        return self.coverage.last_step_on

    @property
    def remaining_tco2(self) -> int:
        return self.quantity_tco2 - self.covered_tco2

    @property
    def current_standing(self) -> str:
        """The status today (``standing`` when annotated by ``compliance.standing.with_standing``)."""
        from .standing import standing_of

        return getattr(self, "standing", None) or standing_of(self)

    @property
    def standing_display(self) -> str:
        value = self.current_standing
        return str(dict(self.Status.choices).get(value, value))


class SurrenderStep(models.Model):
    """One step of a surrender: CEAs of one vintage or CCERs of one project vintage, one registry transaction."""

    class Kind(models.TextChoices):
        CEA = "cea", _("CEA surrender")
        CCER = "ccer", _("CCER offset")

    obligation = models.ForeignKey(Obligation, on_delete=models.PROTECT, related_name="steps")
    kind = models.CharField(_("kind"), max_length=4, choices=Kind.choices)
    instrument_code = models.CharField(_("instrument"), max_length=60)
    quantity = models.BigIntegerField(_("quantity"))
    registry_transaction_id = models.BigIntegerField(_("registry transaction"))
    credit_use_code = models.CharField(_("CCER cancellation certificate"), max_length=40, blank=True)
    on_date = models.DateField(_("date"))
    late = models.BooleanField(_("after the deadline"), default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("surrender step")
        verbose_name_plural = _("surrender steps")
        ordering = ["obligation", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="compliance_surrenderstep_positive"),
            models.UniqueConstraint(fields=["registry_transaction_id"], name="compliance_surrenderstep_one_per_tx"),
        ]

    def __str__(self):
        return f"{self.kind} {self.quantity} {self.instrument_code}"


class FlexibleMechanism(models.Model):
    """A flexible mechanism that helped an entity in one year: plan relief, borrowing, individual relief."""

    class Kind(models.TextChoices):
        # xgettext:no-python-format
        PLAN_RELIEF = "plan_relief", _("Plan relief (gas top-up, 20% shortfall cap)")
        BORROWING = "borrowing", _("Borrowing of next-vintage CEAs")
        INDIVIDUAL_RELIEF = "individual_relief", _("Individual relief (public-welfare task)")

    obligation = models.ForeignKey(Obligation, on_delete=models.CASCADE, related_name="mechanisms")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    quantity_tco2 = models.BigIntegerField(_("quantity"))
    reference = models.CharField(_("reference"), max_length=60, blank=True)

    class Meta:
        verbose_name = _("flexible mechanism")
        verbose_name_plural = _("flexible mechanisms")
        constraints = [
            models.UniqueConstraint(fields=["obligation", "kind"], name="compliance_flexiblemechanism_once"),
            models.CheckConstraint(condition=Q(quantity_tco2__gt=0), name="compliance_flexiblemechanism_positive"),
        ]

    def __str__(self):
        return f"{self.kind} {self.quantity_tco2} t"


class ReliefDecision(models.Model):
    """Individual relief for an entity with a major public-welfare task [C]: one regulator proposes,
    another approves (four-eyes); approval lowers the obligation."""

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    obligation = models.ForeignKey(Obligation, on_delete=models.PROTECT, related_name="relief_decisions")
    quantity_tco2 = models.BigIntegerField(_("relief"))
    reason = models.CharField(_("public-welfare task"), max_length=500)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PROPOSED)
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("relief decision")
        verbose_name_plural = _("relief decisions")
        constraints = [
            models.CheckConstraint(condition=Q(quantity_tco2__gt=0), name="compliance_reliefdecision_positive"),
            models.CheckConstraint(condition=Q(decided_by__isnull=True) | ~Q(decided_by=F("proposed_by")),
                                   name="compliance_reliefdecision_four_eyes"),
            models.UniqueConstraint(fields=["obligation"], condition=~Q(status="rejected"),
                                    name="compliance_reliefdecision_one_live"),
        ]

    def __str__(self):
        return f"relief {self.quantity_tco2} t ({self.status})"


class RiskSnapshot(models.Model):
    """One day's risk estimate for an entity and year: holdings + pending allocation vs expected obligation.

    ``expected_tco2`` is the verified figure once it exists, otherwise the monthly MRV data to date
    extrapolated to twelve months. ``gap_tco2`` > 0 means the entity is short.
    """

    class Level(models.TextChoices):
        OK = "ok", _("Covered")
        WATCH = "watch", _("Watch")
        WARNING = "warning", _("Warning")
        SEVERE = "severe", _("Severe")
        CRITICAL = "critical", _("Critical")

    cycle = models.ForeignKey(ComplianceCycle, on_delete=models.CASCADE, related_name="risk_snapshots")
    entity = models.ForeignKey("entities.KeyEntity", on_delete=models.CASCADE, related_name="+",
                               verbose_name=_("entity"))
    on_date = models.DateField(_("date"))
    expected_tco2 = models.BigIntegerField(_("expected obligation"))
    basis = models.CharField(_("basis"), max_length=10, help_text=_("verified or monthly"))
    holdings_tco2 = models.BigIntegerField(_("eligible holdings"))
    pending_allocation_tco2 = models.BigIntegerField(_("pending allocation"))
    covered_tco2 = models.BigIntegerField(_("already surrendered"))
    gap_tco2 = models.BigIntegerField(_("gap"))
    gap_change_tco2 = models.BigIntegerField(_("gap change since the previous scan"), null=True, blank=True)
    days_left = models.IntegerField(_("days to the deadline"))
    level = models.CharField(_("level"), max_length=8, choices=Level.choices)

    class Meta:
        verbose_name = _("risk snapshot")
        verbose_name_plural = _("risk snapshots")
        ordering = ["-on_date", "-gap_tco2"]
        constraints = [models.UniqueConstraint(fields=["cycle", "entity", "on_date"],
                                               name="compliance_risksnapshot_one_per_day")]
        # Serves the regulator's list (latest scan, by province, largest gap first).
        indexes = [models.Index(fields=["cycle", "on_date", "level"], name="compliance_risk_day_idx")]

    def __str__(self):
        return f"{self.entity} {self.on_date}: gap {self.gap_tco2} t"


class RiskWarning(models.Model):
    """A graded warning sent once per horizon crossed (90/60/30/7 days) while an entity is short."""

    cycle = models.ForeignKey(ComplianceCycle, on_delete=models.CASCADE, related_name="warnings")
    entity = models.ForeignKey("entities.KeyEntity", on_delete=models.CASCADE, related_name="+",
                               verbose_name=_("entity"))
    horizon_days = models.PositiveSmallIntegerField(_("horizon (days)"))
    level = models.CharField(_("level"), max_length=8, choices=RiskSnapshot.Level.choices)
    gap_tco2 = models.BigIntegerField(_("gap"))
    message = models.CharField(_("message"), max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("risk warning")
        verbose_name_plural = _("risk warnings")
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["cycle", "entity", "horizon_days"],
                                               name="compliance_riskwarning_once_per_horizon")]

    def __str__(self):
        return f"{self.entity} {self.horizon_days} d: {self.gap_tco2} t"


class Penalty(models.Model):
    """Art. 24 fine for an unsurrendered quantity, and the deduction from the next allocation.

    amount = average market price of the month before the deadline x shortfall x multiplier (5-10).
    One regulator proposes the multiplier, another decides (four-eyes). The deduction is a registry
    deduction proposal (four-eyes in the registry) of the next vintage.
    """

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        DECIDED = "decided", _("Decided")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    obligation = models.OneToOneField(Obligation, on_delete=models.PROTECT, related_name="penalty")
    shortfall_tco2 = models.BigIntegerField(_("shortfall"))
    price_month = models.DateField(_("price month"), help_text=_("first day of the month before the deadline"))
    average_price = models.DecimalField(_("average price (yuan/t)"), **MONEY)
    multiplier = models.DecimalField(_("multiplier"), max_digits=4, decimal_places=2)
    amount = models.DecimalField(_("fine (yuan)"), **MONEY)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PROPOSED)
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    deduction_transaction_id = models.BigIntegerField(_("registry deduction"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("penalty")
        verbose_name_plural = _("penalties")
        constraints = [
            models.CheckConstraint(condition=Q(shortfall_tco2__gt=0) & Q(amount__gte=0) & Q(average_price__gt=0),
                                   name="compliance_penalty_positive"),
            models.CheckConstraint(condition=Q(multiplier__gte=5) & Q(multiplier__lte=10),
                                   name="compliance_penalty_multiplier_5_to_10"),
            models.CheckConstraint(condition=Q(decided_by__isnull=True) | ~Q(decided_by=F("proposed_by")),
                                   name="compliance_penalty_four_eyes"),
        ]

    def __str__(self):
        return f"{self.obligation}: {self.amount} yuan"


class FalsificationPenalty(models.Model):
    """Art. 22 penalty for falsified emission data of one obligation year: the fine (5-10 x the gains, or
    CNY 0.5-2 M, the regulator's figure) and, if uncorrected, a cut of the next allocation by 50-100%.
    One regulator proposes, another decides (four-eyes).

    The cut is ``cut_pct`` of the allocation of the falsified year (``obligation.allocation_tco2``): the
    next year's allocation is not determined when the cut is decided, and the two are of the same order.
    It stays after 2026-08-15 (only the cut for failure to surrender ended, ``compliance.penalties``).
    """

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        DECIDED = "decided", _("Decided")

    obligation = models.ForeignKey(Obligation, on_delete=models.PROTECT, related_name="falsification_penalties")
    finding = models.CharField(_("finding"), max_length=500)
    fine = models.DecimalField(_("fine (yuan)"), **MONEY)
    cut_pct = models.PositiveSmallIntegerField(_("allocation cut if uncorrected (%)"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PROPOSED)
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("falsification penalty")
        verbose_name_plural = _("falsification penalties")
        constraints = [
            models.CheckConstraint(condition=Q(fine__gt=0), name="compliance_falsification_fine_positive"),
            models.CheckConstraint(condition=Q(cut_pct__gte=50) & Q(cut_pct__lte=100),
                                   name="compliance_falsification_cut_50_to_100"),
            models.CheckConstraint(condition=Q(decided_by__isnull=True) | ~Q(decided_by=F("proposed_by")),
                                   name="compliance_falsification_four_eyes"),
        ]

    def __str__(self):
        return f"{self.obligation}: falsification, {self.fine} yuan, cut {self.cut_pct}%"


class Certificate(models.Model):
    """A compliance completion certificate: the signed content and its verification code.

    ``code`` = HMAC-SHA256(settings.SECRET_KEY, canonical JSON of ``content``), shortened; the public
    page recomputes it, so an edited row (or a forged PDF) no longer verifies.
    """

    obligation = models.OneToOneField(Obligation, on_delete=models.PROTECT, related_name="certificate")
    code = models.CharField(_("verification code"), max_length=40, unique=True)
    content = models.JSONField(_("certified content"))
    issued_at = models.DateTimeField(_("issued"), auto_now_add=True)

    class Meta:
        verbose_name = _("completion certificate")
        verbose_name_plural = _("completion certificates")

    def __str__(self):
        return self.code


class CarryOverScheme(models.Model):
    """A carry-over (结转) of older vintages into a later one, with every figure of its rule as data.

    The 2025 scheme (2023-2024 power plan, Annex 5 [A]): quota = ``base_tco2`` + ``multiplier`` x net
    sales of vintages ``first_vintage..last_vintage`` traded ``sales_from..sales_to``, capped at holdings
    at ``cutoff``; notices by ``notices_by``; applications until ``apply_until`` (Beijing time); entities
    that missed the surrender of an ``excluded_years`` year may not apply; an approved application is
    issued as ``target_vintage`` within ``issue_within_working_days`` working days.
    """

    code = models.CharField(_("code"), max_length=12, unique=True)
    name = models.CharField(_("name"), max_length=100)
    first_vintage = models.PositiveSmallIntegerField(_("first vintage carried"))
    last_vintage = models.PositiveSmallIntegerField(_("last vintage carried"))
    target_vintage = models.PositiveSmallIntegerField(_("vintage issued"))
    sales_from = models.DateField(_("net sales from"))
    sales_to = models.DateField(_("net sales to"))
    cutoff = models.DateTimeField(_("holdings cut-off"))
    base_tco2 = models.BigIntegerField(_("base quota"), default=10_000)
    multiplier = models.DecimalField(_("multiplier of net sales"), max_digits=5, decimal_places=2,
                                     default=Decimal("1.5"))
    notices_by = models.DateField(_("notices by"))
    apply_until = models.DateField(_("applications until"))
    excluded_years = models.JSONField(_("years whose missed surrender excludes"), default=list)
    issue_within_working_days = models.PositiveSmallIntegerField(_("issued within (working days)"), default=5)
    confidence = models.CharField(_("confidence"), max_length=1, default="A")
    source = models.CharField(_("source"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("carry-over scheme")
        verbose_name_plural = _("carry-over schemes")
        constraints = [
            models.CheckConstraint(condition=Q(last_vintage__gte=F("first_vintage"))
                                   & Q(target_vintage__gt=F("last_vintage")), name="compliance_carryover_vintages"),
            models.CheckConstraint(condition=Q(sales_to__gte=F("sales_from")), name="compliance_carryover_window"),
        ]

    def __str__(self):
        return self.code


class CarryOverBatch(models.Model):
    """One batch of applications: those received by ``receive_until`` and not in an earlier batch,
    decided by ``decide_by``."""

    scheme = models.ForeignKey(CarryOverScheme, on_delete=models.CASCADE, related_name="batches")
    number = models.PositiveSmallIntegerField(_("batch"))
    receive_until = models.DateField(_("applications received until"))
    decide_by = models.DateField(_("decided by"))

    class Meta:
        verbose_name = _("carry-over batch")
        verbose_name_plural = _("carry-over batches")
        ordering = ["scheme", "number"]
        constraints = [
            models.UniqueConstraint(fields=["scheme", "number"], name="compliance_carryoverbatch_once"),
            models.CheckConstraint(condition=Q(decide_by__gte=F("receive_until")),
                                   name="compliance_carryoverbatch_decided_after_receipt"),
        ]

    def __str__(self):
        return f"{self.scheme} #{self.number}"


class CarryOverNotice(models.Model):
    """The registry's notice of one holder's quota: the figures it was computed from, and the result."""

    scheme = models.ForeignKey(CarryOverScheme, on_delete=models.CASCADE, related_name="notices")
    entity = models.ForeignKey("entities.KeyEntity", on_delete=models.PROTECT, related_name="+",
                               verbose_name=_("entity"))
    net_sales_tco2 = models.BigIntegerField(_("net sales"))
    holdings_tco2 = models.BigIntegerField(_("holdings at the cut-off"))
    quota_tco2 = models.BigIntegerField(_("quota"))
    notified_at = models.DateTimeField(_("notified"), auto_now_add=True)

    class Meta:
        verbose_name = _("carry-over notice")
        verbose_name_plural = _("carry-over notices")
        ordering = ["scheme", "entity"]
        constraints = [
            models.UniqueConstraint(fields=["scheme", "entity"], name="compliance_carryovernotice_once"),
            models.CheckConstraint(condition=Q(quota_tco2__gte=0) & Q(quota_tco2__lte=F("holdings_tco2"))
                                   | Q(quota_tco2=0), name="compliance_carryovernotice_within_holdings"),
        ]

    def __str__(self):
        return f"{self.entity} {self.scheme}: {self.quota_tco2} t"


class CarryOverApplication(models.Model):
    """An entity's application to carry units over: submitted, proposed by a first national regulator (the
    registry parts reserved and proposed), approved by a second one (executed) or rejected."""

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("Submitted")
        PROPOSED = "proposed", _("Proposed for approval")
        APPROVED = "approved", _("Approved and issued")
        REJECTED = "rejected", _("Rejected")

    LIVE = (Status.SUBMITTED, Status.PROPOSED, Status.APPROVED)

    scheme = models.ForeignKey(CarryOverScheme, on_delete=models.PROTECT, related_name="applications")
    batch = models.ForeignKey(CarryOverBatch, on_delete=models.PROTECT, related_name="applications")
    entity = models.ForeignKey("entities.KeyEntity", on_delete=models.PROTECT, related_name="+",
                               verbose_name=_("entity"))
    quantity_tco2 = models.BigIntegerField(_("quantity"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.SUBMITTED)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    registry_transaction_ids = models.JSONField(_("registry transactions"), default=list)
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("submitted"), auto_now_add=True)
    proposed_at = models.DateTimeField(_("proposed"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    issue_by = models.DateField(_("to be issued by"), null=True, blank=True)

    class Meta:
        verbose_name = _("carry-over application")
        verbose_name_plural = _("carry-over applications")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity_tco2__gt=0), name="compliance_carryoverapplication_positive"),
            models.UniqueConstraint(fields=["batch", "entity"], condition=~Q(status="rejected"),
                                    name="compliance_carryoverapplication_once_per_batch"),
            models.CheckConstraint(condition=Q(decided_by__isnull=True) | Q(proposed_by__isnull=True)
                                   | ~Q(decided_by=F("proposed_by")),
                                   name="compliance_carryoverapplication_four_eyes"),
        ]

    def __str__(self):
        return f"{self.entity} {self.quantity_tco2} t ({self.status})"
