"""Allocation plans as data, the runs that apply them, borrowing, obligations and policy scenarios.

Every figure of a plan (benchmarks, correction coefficients, shares) is a row a regulator can
edit while the plan is a draft; a published plan is frozen (four-eyes publication), so a result
computed today can be recomputed and defended tomorrow.
"""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from entities.models import Confidence, KeyEntity, Sector, Unit

from . import formulas, intensity

FRACTION = [MinValueValidator(0), MaxValueValidator(1)]


class Category(models.TextChoices):
    I = "I", _("I conventional coal >= 400 MW")  # noqa: E741 - the plan's own name
    II = "II", _("II conventional coal < 400 MW")
    III = "III", _("III unconventional coal (incl. CFB)")
    IV = "IV", _("IV natural gas")


class AllocationPlan(models.Model):
    """One year's (or two years') allocation plan of one sector, with its rules as data.

    A sector's plan names its method: ``benchmark`` (power: output x benchmark x corrections),
    ``intensity`` (steel, cement, aluminium from 2025: E x (1 + alpha) around a balance value) or
    ``verified_emissions`` (the first industrial year, 2024: A = E). The next sector is one more plan row
    per year (``plans_seed.SECTOR_PLANS``), not code. Power-only fields are blank for other sectors.
    """

    class Basis(models.TextChoices):
        SUPPLY = "supply", _("Electricity supplied")
        GENERATION = "generation", _("Gross generation (metered)")

    class Scheme(models.TextChoices):
        SUPPLY_CORRECTIONS = formulas.SUPPLY_CORRECTIONS, _("Cooling, heat-supply and load-factor corrections")
        PEAK_FACTOR = formulas.PEAK_FACTOR, _("Peak-regulation factor (categories I and II)")

    class PreBasis(models.TextChoices):
        PREVIOUS_OUTPUT = "previous_output", _("Previous year's output x benchmark (with corrections)")
        PREVIOUS_EMISSIONS = "previous_emissions", _("Previous year's verified emissions per unit")

    class Method(models.TextChoices):
        BENCHMARK = "benchmark", _("Benchmark x output (power)")
        INTENSITY = "intensity", _("Intensity coefficient around a balance value")
        VERIFIED_EMISSIONS = "verified_emissions", _("Allocation = verified emissions")

    class PeakFormula(models.TextChoices):
        POWER_2023 = formulas.PEAK_2023, _("2023-24: 1.015^(16 - 20F) below the threshold")
        GB21258_2024 = formulas.PEAK_GB21258, _("2025-26 (GB 21258-2024): double-exponential curve below 50%")

    class VintageRule(models.TextChoices):
        ANY = "any", _("No vintage restriction")
        SAME_OR_EARLIER = "same_or_earlier", _("A year's obligation may use that vintage or earlier")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Submitted for publication")
        PUBLISHED = "published", _("Published")

    code = models.CharField(_("code"), max_length=20, unique=True,
                            help_text=_("e.g. 2019-20, 2024 (power), steel-2025, cement-2026"))
    title = models.CharField(_("title"), max_length=200)
    sector = models.ForeignKey(Sector, on_delete=models.PROTECT, related_name="+", default="power",
                               verbose_name=_("sector"))
    method = models.CharField(_("allocation method"), max_length=20, choices=Method.choices,
                              default=Method.BENCHMARK)
    consultation_draft = models.BooleanField(
        _("figures from a consultation draft"), default=False,
        help_text=_("The figures come from a plan published for comments (征求意见稿), not the final plan."))
    first_year = models.PositiveSmallIntegerField(_("first year"))
    last_year = models.PositiveSmallIntegerField(_("last year"))
    activity_basis = models.CharField(_("activity basis"), max_length=10, choices=Basis.choices, blank=True)
    correction_scheme = models.CharField(_("correction scheme"), max_length=20, choices=Scheme.choices, blank=True)
    peak_formula = models.CharField(_("peak-regulation formula"), max_length=12, choices=PeakFormula.choices,
                                    default=PeakFormula.POWER_2023)
    exemptions = models.JSONField(
        _("allocation = verified emissions for"), default=list, blank=True,
        help_text=_("Codes of the facilities this plan allocates their verified emissions, e.g. "
                    "[\"white_clinker\", \"new\"] or [\"biomass_cofiring\", \"emergency_backup\"]."))
    intensity_band = models.DecimalField(_("intensity band"), max_digits=5, decimal_places=4,
                                         default=Decimal("0.20"), validators=FRACTION,
                                         help_text=_("|X| beyond which alpha stays at its cap (0.20)."))
    intensity_slope = models.DecimalField(_("intensity slope"), max_digits=5, decimal_places=4,
                                          default=Decimal("0.15"), validators=FRACTION,
                                          help_text=_("alpha = slope x X inside the band (0.15)."))
    carbide_slag_threshold = models.DecimalField(
        _("carbide-slag exemption threshold"), max_digits=4, decimal_places=3, null=True, blank=True,
        validators=FRACTION, help_text=_("Cement lines substituting more carbide slag than this are exempt."))
    cooling_water_factor = models.DecimalField(_("F_cool water-cooled"), max_digits=6, decimal_places=4,
                                               default=Decimal("1.00"))
    cooling_air_factor = models.DecimalField(_("F_cool air-cooled"), max_digits=6, decimal_places=4,
                                             default=Decimal("1.05"))
    cooling_back_pressure_factor = models.DecimalField(_("F_cool back-pressure"), max_digits=6, decimal_places=4,
                                                       default=Decimal("1.00"))
    heat_ratio_coefficient = models.DecimalField(_("coal F_heat coefficient"), max_digits=6, decimal_places=4,
                                                 default=Decimal("0.22"), validators=FRACTION)
    gas_heat_ratio_coefficient = models.DecimalField(_("gas heat-ratio coefficient"), max_digits=6,
                                                     decimal_places=4, default=Decimal("0.6"), validators=FRACTION)
    load_factor_for_chp = models.BooleanField(_("load-factor correction also for coal CHP"), default=True)
    peak_threshold = models.DecimalField(_("peak-regulation threshold"), max_digits=4, decimal_places=3,
                                         default=Decimal("0.65"), validators=FRACTION)
    pre_allocation_share = models.DecimalField(_("pre-allocation share"), max_digits=4, decimal_places=3,
                                               default=Decimal("0.70"), validators=FRACTION)
    pre_allocation_basis = models.CharField(_("pre-allocation basis"), max_length=20, choices=PreBasis.choices,
                                            blank=True)
    gas_relief = models.BooleanField(_("gas units topped up to verified emissions"), default=True)
    entity_relief_floor = models.DecimalField(
        _("entity relief floor"), max_digits=4, decimal_places=3, null=True, blank=True, default=Decimal("0.80"),
        validators=FRACTION, help_text=_("Entities are topped up to this share of verified emissions (blank: none)."))
    borrowing_allowed = models.BooleanField(_("borrowing allowed"), default=False)
    borrowing_threshold = models.DecimalField(_("borrowing threshold"), max_digits=4, decimal_places=3,
                                              default=Decimal("0.10"), validators=FRACTION,
                                              help_text=_("Shortfall above this share of verified emissions."))
    borrowing_max_share = models.DecimalField(_("borrowing maximum share"), max_digits=4, decimal_places=3,
                                              default=Decimal("0.50"), validators=FRACTION,
                                              help_text=_("Share of the shortfall that may be borrowed."))
    vintage_rule = models.CharField(_("vintage rule"), max_length=16, choices=VintageRule.choices,
                                    default=VintageRule.ANY)
    confidence = models.CharField(_("confidence"), max_length=1, choices=Confidence.choices)
    note = models.TextField(_("note"), blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+", verbose_name=_("submitted by"))
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+", verbose_name=_("published by"))
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)

    class Meta:
        verbose_name = _("allocation plan")
        verbose_name_plural = _("allocation plans")
        ordering = ["first_year", "code"]
        constraints = [
            models.CheckConstraint(condition=models.Q(last_year__gte=models.F("first_year")),
                                   name="allowances_allocationplan_year_order"),
            models.CheckConstraint(
                condition=models.Q(pre_allocation_share__gte=0, pre_allocation_share__lte=1,
                                   borrowing_threshold__gte=0, borrowing_threshold__lte=1,
                                   borrowing_max_share__gte=0, borrowing_max_share__lte=1),
                name="allowances_allocationplan_shares_are_fractions"),
        ]

    def __str__(self):
        return f"{self.code} ({self.get_status_display()})"

    @property
    def years(self) -> list[int]:
        return list(range(self.first_year, self.last_year + 1))

    def clean(self):
        known = formulas.POWER_EXEMPTIONS if self.method == self.Method.BENCHMARK else intensity.EXEMPTIONS
        if not isinstance(self.exemptions, list) or any(code not in known for code in self.exemptions):
            raise ValidationError({"exemptions": _("Exemptions must be a list of: %(codes)s.")
                                   % {"codes": ", ".join(known)}})


class BenchmarkRow(models.Model):
    """One category's electricity and heat benchmark (or balance value) in a plan for one year.

    A balance value the plan does not publish (2021) has no row at all: unknown, not zero.
    """

    class Kind(models.TextChoices):
        BENCHMARK = "benchmark", _("Benchmark")
        BALANCE_VALUE = "balance_value", _("Balance value")

    plan = models.ForeignKey(AllocationPlan, on_delete=models.CASCADE, related_name="benchmarks",
                             verbose_name=_("plan"))
    year = models.PositiveSmallIntegerField(_("year"))
    category = models.CharField(_("category"), max_length=3, choices=Category.choices)
    kind = models.CharField(_("kind"), max_length=14, choices=Kind.choices, default=Kind.BENCHMARK)
    electricity_t_per_mwh = models.DecimalField(_("electricity (tCO2/MWh)"), max_digits=8, decimal_places=4,
                                                validators=[MinValueValidator(0)])
    heat_t_per_gj = models.DecimalField(_("heat (tCO2/GJ)"), max_digits=8, decimal_places=4,
                                        validators=[MinValueValidator(0)])
    confidence = models.CharField(_("confidence"), max_length=1, choices=Confidence.choices)
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("benchmark row")
        verbose_name_plural = _("benchmark rows")
        ordering = ["plan", "year", "kind", "category"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "year", "category", "kind"],
                                    name="allowances_benchmarkrow_one_per_category"),
            models.CheckConstraint(condition=models.Q(electricity_t_per_mwh__gte=0, heat_t_per_gj__gte=0),
                                   name="allowances_benchmarkrow_nonnegative"),
        ]

    def __str__(self):
        return f"{self.plan.code} {self.year} {self.category} {self.kind}"


class BalanceValue(models.Model):
    """The balance value of an intensity plan (one sector) for one year, published after solving.

    Unknown balance values have no row. A row is either seeded from a published figure or written by
    ``services.balance_value_publish`` from the year's confirmed verified data (``solved_from``).
    """

    plan = models.ForeignKey(AllocationPlan, on_delete=models.CASCADE, related_name="balance_values",
                             verbose_name=_("plan"))
    year = models.PositiveSmallIntegerField(_("year"))
    value = models.DecimalField(_("balance value (tCO2e/t)"), max_digits=10, decimal_places=4,
                                validators=[MinValueValidator(Decimal("0.0001"))])
    confidence = models.CharField(_("confidence"), max_length=1, choices=Confidence.choices)
    note = models.CharField(_("note"), max_length=300, blank=True)
    solved_from = models.JSONField(_("solved from"), default=dict, blank=True,
                                   help_text=_("facilities and emissions the value was solved on"))
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+", verbose_name=_("published by"))
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)

    class Meta:
        verbose_name = _("balance value")
        verbose_name_plural = _("balance values")
        ordering = ["plan", "year"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "year"], name="allowances_balancevalue_one_per_year"),
            models.CheckConstraint(condition=models.Q(value__gt=0), name="allowances_balancevalue_positive"),
        ]

    def __str__(self):
        return f"{self.plan.code} {self.year}: {self.value}"


class HighRiskDesignation(models.Model):
    """An entity whose allocation goes to the provincial account (judicial freeze, non-compliance)."""

    class Reason(models.TextChoices):
        JUDICIAL_FREEZE = "judicial_freeze", _("Judicially frozen")
        NON_COMPLIANT = "non_compliant", _("Non-compliant")

    entity = models.ForeignKey(KeyEntity, on_delete=models.PROTECT, related_name="+", verbose_name=_("entity"))
    year = models.PositiveSmallIntegerField(_("year"))
    reason = models.CharField(_("reason"), max_length=16, choices=Reason.choices)
    designated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("high-risk designation")
        verbose_name_plural = _("high-risk designations")
        constraints = [models.UniqueConstraint(fields=["entity", "year"], name="allowances_highrisk_one_per_year")]

    def __str__(self):
        return f"{self.entity} {self.year} {self.reason}"


class AllocationRun(models.Model):
    """Pre-allocation, true-up or re-determination of one plan year, over every sector: computed by a Job,
    issued after a second approval. One pre-allocation and one true-up a year; a re-determination (a
    verification result changed after the true-up) covers the entities named and may happen again."""

    class Kind(models.TextChoices):
        PRE_ALLOCATION = "pre_allocation", _("Pre-allocation")
        TRUE_UP = "true_up", _("True-up (核定)")
        REDETERMINATION = "redetermination", _("Re-determination (verification changed)")

    class Status(models.TextChoices):
        CALCULATING = "calculating", _("Calculating")
        CALCULATED = "calculated", _("Calculated, awaiting approval")
        ISSUING = "issuing", _("Issuing through the registry")
        COMPLETED = "completed", _("Completed")

    plan = models.ForeignKey(AllocationPlan, on_delete=models.PROTECT, related_name="runs", verbose_name=_("plan"))
    year = models.PositiveSmallIntegerField(_("year"))
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.CALCULATING)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("created by"))
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+", verbose_name=_("approved by"))
    calculate_job = models.ForeignKey("common.Job", null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="+")
    issue_job = models.ForeignKey("common.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    total_tco2 = models.BigIntegerField(_("total allocation (tCO2)"), default=0)
    issuance_reference = models.CharField(_("registry issuance transaction"), max_length=40, blank=True)
    entity_ids = models.JSONField(_("entities re-determined"), default=list, blank=True,
                                help_text=_("re-determination runs only: the entity ids"))
    due_date = models.DateField(_("due by"), null=True, blank=True,
                                help_text=_("re-determination: 10 working days after the run is started"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("allocation run")
        verbose_name_plural = _("allocation runs")
        ordering = ["-year", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["year", "kind"], condition=~models.Q(kind="redetermination"),
                                    name="allowances_allocationrun_one_per_year_kind"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.year} ({self.get_status_display()})"


class EntityAllocation(models.Model):
    """An entity's result in a run: what it is due, what it had, and what moved in the registry."""

    class Destination(models.TextChoices):
        ENTITY = "entity", _("Entity's account")
        PROVINCIAL = "provincial", _("Provincial account (high-risk entity)")

    class Status(models.TextChoices):
        CALCULATED = "calculated", _("Calculated")
        ISSUED = "issued", _("Issued")
        WITHDRAWN = "withdrawn", _("Withdrawn")
        OBLIGATION = "obligation", _("Withdrawal not covered: obligation recorded")
        NOTHING = "nothing", _("Nothing to move")

    run = models.ForeignKey(AllocationRun, on_delete=models.CASCADE, related_name="entities")
    entity = models.ForeignKey(KeyEntity, on_delete=models.PROTECT, related_name="+", verbose_name=_("entity"))
    base_tco2 = models.BigIntegerField(_("allocation before relief"))
    relief_tco2 = models.BigIntegerField(_("relief"), default=0)
    allocation_tco2 = models.BigIntegerField(_("allocation"))
    verified_emissions_tco2 = models.BigIntegerField(_("verified emissions"), null=True, blank=True)
    previously_issued_tco2 = models.BigIntegerField(_("pre-allocated"), default=0)
    borrowing_deduction_tco2 = models.BigIntegerField(_("borrowing deducted"), default=0)
    penalty_deduction_tco2 = models.BigIntegerField(_("penalty deduction"), default=0)
    difference_tco2 = models.BigIntegerField(_("to issue (+) or withdraw (-)"))
    destination = models.CharField(_("destination"), max_length=10, choices=Destination.choices,
                                   default=Destination.ENTITY)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.CALCULATED)
    registry_reference = models.CharField(_("registry transaction"), max_length=40, blank=True)
    lines = models.JSONField(_("entity lines"), default=list, blank=True)

    class Meta:
        verbose_name = _("entity allocation")
        verbose_name_plural = _("entity allocations")
        ordering = ["run", "entity"]
        constraints = [
            models.UniqueConstraint(fields=["run", "entity"], name="allowances_entityallocation_one_per_run"),
            models.CheckConstraint(condition=models.Q(allocation_tco2__gte=0, base_tco2__gte=0, relief_tco2__gte=0),
                                   name="allowances_entityallocation_nonnegative"),
        ]
        # Serves allocation_for(entity, year) and the portal's list of an entity's results.
        indexes = [models.Index(fields=["entity", "run"], name="allowances_ea_entity_idx")]

    def __str__(self):
        return f"{self.run} {self.entity}: {self.allocation_tco2} t"


class AllocationDeduction(models.Model):
    """A decided cut of an entity's next allocation (Art. 24: allowances not surrendered), applied by
    the first allocation run (pre-allocation or true-up) calculated after it, once."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending (next allocation run)")
        APPLIED = "applied", _("Applied")

    entity = models.ForeignKey(KeyEntity, on_delete=models.PROTECT, related_name="+", verbose_name=_("entity"))
    quantity_tco2 = models.BigIntegerField(_("quantity"))
    reason = models.CharField(_("reason"), max_length=300)
    reference = models.CharField(_("reference"), max_length=40, unique=True,
                                 help_text=_("the decision deducted, e.g. penalty-12 (one deduction per decision)"))
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.PENDING)
    applied_in = models.ForeignKey(EntityAllocation, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="penalty_deductions", verbose_name=_("applied in"))
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("allocation deduction")
        verbose_name_plural = _("allocation deductions")
        ordering = ["entity", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity_tco2__gt=0), name="allowances_deduction_positive"),
            models.CheckConstraint(condition=models.Q(status="pending", applied_in__isnull=True)
                                   | models.Q(status="applied", applied_in__isnull=False),
                                   name="allowances_deduction_applied_in_a_run"),
        ]

    def __str__(self):
        return f"{self.entity} -{self.quantity_tco2} t ({self.status})"


class UnitAllocation(models.Model):
    """One unit's line-by-line result: the numbers an entity and the officer can check by hand."""

    entity_allocation = models.ForeignKey(EntityAllocation, on_delete=models.CASCADE, related_name="units")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+", verbose_name=_("unit"))
    category = models.CharField(_("category"), max_length=3, choices=Category.choices, blank=True,
                                help_text=_("power units only"))
    base_tco2 = models.BigIntegerField(_("allocation before relief"))
    relief_tco2 = models.BigIntegerField(_("gas relief"), default=0)
    allocation_tco2 = models.BigIntegerField(_("allocation"))
    lines = models.JSONField(_("formula lines"), default=list)

    class Meta:
        verbose_name = _("unit allocation")
        verbose_name_plural = _("unit allocations")
        ordering = ["entity_allocation", "unit"]
        constraints = [
            models.UniqueConstraint(fields=["entity_allocation", "unit"], name="allowances_unitallocation_one"),
        ]

    def __str__(self):
        return f"{self.unit}: {self.allocation_tco2} t"


class Obligation(models.Model):
    """A true-up withdrawal the entity's holdings could not cover: owed, never a negative balance."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        SETTLED = "settled", _("Settled")

    entity_allocation = models.OneToOneField(EntityAllocation, on_delete=models.PROTECT, related_name="obligation")
    entity = models.ForeignKey(KeyEntity, on_delete=models.PROTECT, related_name="+", verbose_name=_("entity"))
    year = models.PositiveSmallIntegerField(_("year"))
    quantity_tco2 = models.BigIntegerField(_("quantity owed"))
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("allocation obligation")
        verbose_name_plural = _("allocation obligations")
        constraints = [models.CheckConstraint(condition=models.Q(quantity_tco2__gt=0),
                                              name="allowances_obligation_positive")]

    def __str__(self):
        return f"{self.entity} owes {self.quantity_tco2} t ({self.year})"


class BorrowingApplication(models.Model):
    """An entity short by more than the plan's threshold borrows next-vintage CEAs (2021-22 plans)."""

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("Submitted")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        DEDUCTED = "deducted", _("Deducted from the next allocation")

    entity = models.ForeignKey(KeyEntity, on_delete=models.PROTECT, related_name="+", verbose_name=_("entity"))
    plan = models.ForeignKey(AllocationPlan, on_delete=models.PROTECT, related_name="+", verbose_name=_("plan"))
    year = models.PositiveSmallIntegerField(_("year short"))
    verified_emissions_tco2 = models.BigIntegerField(_("verified emissions"))
    allocation_tco2 = models.BigIntegerField(_("allocation"))
    shortfall_tco2 = models.BigIntegerField(_("shortfall"))
    requested_tco2 = models.BigIntegerField(_("requested"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.SUBMITTED)
    applied_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    deducted_in = models.ForeignKey(EntityAllocation, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="borrowings_deducted")
    issuance_reference = models.CharField(
        _("registry issuance proposal"), max_length=40, blank=True,
        help_text=_("the registry transaction issuing the borrowed next-vintage CEAs to the entity (four-eyes: "
                    "a national regulator approves it)"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("borrowing application")
        verbose_name_plural = _("borrowing applications")
        constraints = [
            models.CheckConstraint(condition=models.Q(requested_tco2__gt=0), name="allowances_borrowing_positive"),
            models.UniqueConstraint(fields=["entity", "year"], condition=~models.Q(status="rejected"),
                                    name="allowances_borrowing_one_live_per_year"),
        ]

    def __str__(self):
        return f"{self.entity} borrows {self.requested_tco2} t ({self.year})"


class Scenario(models.Model):
    """A sandbox: a plan with edited benchmarks or rules, evaluated on verified data, never issued."""

    name = models.CharField(_("name"), max_length=120)
    plan = models.ForeignKey(AllocationPlan, on_delete=models.PROTECT, related_name="scenarios",
                             verbose_name=_("base plan"))
    data_year = models.PositiveSmallIntegerField(_("verified data year"))
    overrides = models.JSONField(
        _("overrides"), default=dict, blank=True,
        help_text=_('e.g. {"electricity": {"I": "0.79"}, "heat": {"IV": "0.05"}, "entity_relief_floor": "0.85"}'))
    result = models.JSONField(_("result"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("policy scenario")
        verbose_name_plural = _("policy scenarios")
        ordering = ["-created_at"]

    def __str__(self):
        return self.name


class VintageTotal(models.Model):
    """The plan's total for a vintage: what the allocation process has determined may be issued in it.

    The sum of its entries, kept as a row so that two determinations of one vintage are added one after
    the other (the row is locked); the registry caps the vintage's CEAs at this figure
    (``Instrument.issuance_cap``), so no issuance, however proposed, goes beyond it.
    """

    vintage = models.PositiveSmallIntegerField(_("vintage"), unique=True)
    total_tco2 = models.BigIntegerField(_("determined total (tCO2)"), default=0)

    class Meta:
        verbose_name = _("vintage total")
        verbose_name_plural = _("vintage totals")
        ordering = ["vintage"]
        constraints = [models.CheckConstraint(condition=models.Q(total_tco2__gte=0),
                                              name="allowances_vintagetotal_nonnegative")]

    def __str__(self):
        return f"CEA{self.vintage % 100:02d}: {self.total_tco2:,} t"


class VintageTotalEntry(models.Model):
    """One determination added to a vintage's total: an approved run's issuance, an approved borrowing,
    a carry-over (one entry per reference, so a repeat adds nothing)."""

    class Source(models.TextChoices):
        PRE_ALLOCATION = "pre_allocation", _("Pre-allocation")
        TRUE_UP = "true_up", _("True-up top-up")
        BORROWING = "borrowing", _("Borrowing of the next vintage")
        CARRY_OVER = "carry_over", _("Carry-over issuance")

    total = models.ForeignKey(VintageTotal, on_delete=models.PROTECT, related_name="entries")
    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    quantity_tco2 = models.BigIntegerField(_("quantity"))
    reference = models.CharField(_("reference"), max_length=60, unique=True,
                                 help_text=_("what determined it, e.g. allowances-run-12, allowances-borrowing-3"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("vintage total entry")
        verbose_name_plural = _("vintage total entries")
        ordering = ["total", "id"]
        constraints = [models.CheckConstraint(condition=models.Q(quantity_tco2__gt=0),
                                              name="allowances_vintagetotalentry_positive")]

    def __str__(self):
        return f"{self.reference}: +{self.quantity_tco2:,} t"
