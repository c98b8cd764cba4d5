"""Tables of the voluntary market: methodologies, CCER projects, reductions, issuances and their uses.

The registry holds the credits themselves (instruments, accounts, serial-number blocks); these tables
hold what a project went through to earn them and what became of them, with the serial ranges the
registry assigned, so a buyer can trace a tonne from its project to its cancellation.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from entities.models import KeyEntity, Organisation, Province


class Methodology(models.Model):
    """A published CCER methodology: applicability, crediting limits and the formula, as data.

    ``applicability`` is a list of clauses that must all hold; each clause is a list of conditions of
    which at least one must hold: ``[[{"field": "offshore_distance_km", "op": "gt", "value": "30"},
    {"field": "water_depth_m", "op": "gt", "value": "30"}]]`` reads "> 30 km offshore OR > 30 m deep".
    ``parameters`` holds the figures the formula needs (grid emission factors, ceilings), editable by
    the registry in the admin so a corrected figure never needs a release.
    """

    class Calculation(models.TextChoices):
        GRID_EXPORT = "grid_export", _("Computed: net export to the grid x combined-margin factor")
        REPORTED = "reported", _("Reported by the owner, checked against the methodology's ceiling")

    class CapacityUnit(models.TextChoices):
        MW = "MW", _("MW installed")
        HECTARE = "ha", _("hectares planted")
        TONNES = "t", _("tCO2e a year (the design document's estimate)")

    code = models.CharField(_("code"), max_length=30, unique=True)
    version = models.CharField(_("version"), max_length=10)
    title = models.CharField(_("title"), max_length=200)
    title_en = models.CharField(_("English title"), max_length=200)
    sector_code = models.CharField(_("sector code"), max_length=2, help_text=_("e.g. 01 energy, 14 forestry"))
    sector = models.CharField(_("sector"), max_length=100)
    calculation = models.CharField(_("calculation"), max_length=12, choices=Calculation.choices)
    capacity_unit = models.CharField(_("capacity unit"), max_length=2, choices=CapacityUnit.choices)
    project_fields = models.JSONField(_("project parameters"), default=list, blank=True,
                                      help_text=_("Facts a project must state: [{name, label, type}]"))
    applicability = models.JSONField(_("applicability conditions"), default=list, blank=True)
    applicability_text = models.TextField(_("applicability (text)"))
    crediting_years_min = models.PositiveSmallIntegerField(_("shortest crediting period (years)"), default=1)
    crediting_years_max = models.PositiveSmallIntegerField(_("longest crediting period (years)"))
    parameters = models.JSONField(_("parameters"), default=dict, blank=True)
    formula = models.TextField(_("formula"))
    confidence = models.CharField(_("source confidence"), max_length=1, default="A",
                                  help_text=_("A official text, B secondary source, C widely reported"))
    published_on = models.DateField(_("published on"))
    note = models.TextField(_("what could not be confirmed"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("methodology")
        verbose_name_plural = _("methodologies")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(crediting_years_max__gte=F("crediting_years_min")),
                                   name="voluntary_methodology_crediting_range"),
        ]

    def __str__(self):
        return f"{self.code} {self.title}"


class OffsetRule(models.Model):
    """From ``first_compliance_year`` on, only CCERs registered after ``registered_after`` offset ETS
    obligations: for 2025 and 2026 surrenders, CCERs registered after the market's launch on 2024-01-22
    [A] S1 (the 5% cap stays, compliance's). Read by ``voluntary.services.offset_cancel``, the one door of
    ETS offsets; the latest rule whose first year is not after the compliance year applies.
    """

    first_compliance_year = models.PositiveSmallIntegerField(_("from compliance year"), unique=True)
    registered_after = models.DateField(_("CCERs registered after"))
    confidence = models.CharField(_("source confidence"), max_length=1, default="A")
    source = models.CharField(_("source"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("offset eligibility rule")
        verbose_name_plural = _("offset eligibility rules")
        ordering = ["first_compliance_year"]

    def __str__(self):
        return f"{self.first_compliance_year}+: registered after {self.registered_after}"


class Project(models.Model):
    """A CCER project from its design document to registration (or rejection, or cancellation).

    Every date is a working-day date from the calendar; a state change is a compare-and-set on
    ``state`` so two reviewers cannot both move the same project.
    """

    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        DISCLOSURE = "disclosure", _("Design document in public disclosure")
        VALIDATED = "validated", _("Validated")
        APPLIED = "applied", _("Registration applied for")
        REGISTERED = "registered", _("Registered")
        REJECTED = "rejected", _("Rejected")
        CANCELLED = "cancelled", _("Cancelled")

    # States that hold the site: a second project on the same site and capacity is refused.
    OCCUPYING = [State.DISCLOSURE, State.VALIDATED, State.APPLIED, State.REGISTERED, State.CANCELLED]

    ref = models.CharField(_("reference"), max_length=20, unique=True)
    registration_number = models.CharField(_("registration number"), max_length=20, unique=True, null=True,
                                           blank=True)
    title = models.CharField(_("title"), max_length=200)
    title_en = models.CharField(_("English title"), max_length=200, blank=True)
    description = models.TextField(_("description"), blank=True)
    owner = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="ccer_projects",
                              verbose_name=_("project owner"))
    methodology = models.ForeignKey(Methodology, on_delete=models.PROTECT, related_name="projects",
                                    verbose_name=_("methodology"))
    validator = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="ccer_validations",
                                  verbose_name=_("validating VVB"))
    province = models.ForeignKey(Province, on_delete=models.PROTECT, related_name="ccer_projects",
                                 verbose_name=_("province"))
    site = models.CharField(_("site"), max_length=200)
    site_key = models.CharField(max_length=200, editable=False,
                                help_text=_("The site normalised for the uniqueness check"))
    capacity = models.DecimalField(_("capacity"), max_digits=12, decimal_places=2)
    construction_start = models.DateField(_("construction start"))
    crediting_start = models.DateField(_("crediting period start"))
    crediting_end = models.DateField(_("crediting period end"))
    parameters = models.JSONField(_("project parameters"), default=dict, blank=True)
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.DRAFT)
    disclosure_start = models.DateField(_("disclosure start"), null=True, blank=True)
    disclosure_end = models.DateField(_("disclosure end"), null=True, blank=True)
    validated_on = models.DateField(_("validated on"), null=True, blank=True)
    applied_on = models.DateField(_("applied on"), null=True, blank=True)
    decision_due = models.DateField(_("decision due"), null=True, blank=True)
    registered_on = models.DateField(_("registered on"), null=True, blank=True)
    rejected_on = models.DateField(_("rejected on"), null=True, blank=True)
    rejection_reason = models.TextField(_("reasons for rejection"), blank=True)
    cancelled_on = models.DateField(_("cancelled on"), null=True, blank=True)
    cancellation_reason = models.TextField(_("reason for cancellation"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("CCER project")
        verbose_name_plural = _("CCER projects")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(capacity__gt=0), name="voluntary_project_capacity_positive"),
            models.CheckConstraint(condition=Q(crediting_end__gt=F("crediting_start")),
                                   name="voluntary_project_crediting_order"),
            # Uniqueness under concurrency: two publishes of the same site cannot both succeed.
            models.UniqueConstraint(fields=["site_key", "capacity"], condition=Q(state__in=[
                "disclosure", "validated", "applied", "registered", "cancelled"]),
                name="voluntary_project_unique_site_capacity"),
            models.CheckConstraint(condition=~Q(state="registered") | Q(registration_number__isnull=False),
                                   name="voluntary_project_registered_has_number"),
        ]
        # Public lists filter by state (projects in disclosure, registered projects).
        indexes = [models.Index(fields=["state", "id"], name="voluntary_project_state_idx")]

    def __str__(self):
        return f"{self.ref} {self.title}"


class Document(models.Model):
    """A file of a project or a monitoring report, public once the project leaves draft."""

    class Kind(models.TextChoices):
        DESIGN = "design", _("Project design document")
        VALIDATION = "validation", _("Validation report")
        MONITORING = "monitoring", _("Monitoring report")
        VERIFICATION = "verification", _("Verification report")
        OTHER = "other", _("Other supporting document")

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="documents")
    report = models.ForeignKey("MonitoringReport", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="documents")
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    file = models.FileField(_("file"), upload_to="voluntary/%Y/%m/")
    name = models.CharField(_("file name"), max_length=200)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        ordering = ["id"]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.name}"


class Comment(models.Model):
    """A public comment on a disclosed design document or monitoring report.

    Shown to the owner, the VVB and the registry, not to the public (commenters may name names).
    """

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="comments")
    report = models.ForeignKey("MonitoringReport", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="comments")
    author_name = models.CharField(_("name"), max_length=100)
    author_email = models.EmailField(_("e-mail"), blank=True)
    text = models.TextField(_("comment"), max_length=5000)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("public comment")
        verbose_name_plural = _("public comments")
        ordering = ["id"]

    def __str__(self):
        return f"{self.author_name} on {self.project.ref}"


class MonitoringReport(models.Model):
    """Reductions of one monitoring period: reported, verified, disclosed, registered and issued."""

    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Submitted for verification")
        DISCLOSURE = "disclosure", _("Verified, in public disclosure")
        APPLIED = "applied", _("Registration applied for")
        REGISTERED = "registered", _("Registered and issued")
        REJECTED = "rejected", _("Rejected")

    # A period in one of these states counts: a second report overlapping it is double counting.
    COUNTING = [State.DRAFT, State.SUBMITTED, State.DISCLOSURE, State.APPLIED, State.REGISTERED]

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="reports")
    verifier = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="ccer_verifications",
                                 verbose_name=_("verifying VVB"))
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    net_export_mwh = models.DecimalField(_("net export (MWh)"), max_digits=14, decimal_places=3, null=True,
                                         blank=True)
    reported_reductions = models.BigIntegerField(_("reported reductions (tCO2e)"), null=True, blank=True)
    claimed_reductions = models.BigIntegerField(_("claimed reductions (tCO2e)"), default=0)
    verified_net_export_mwh = models.DecimalField(_("verified net export (MWh)"), max_digits=14, decimal_places=3,
                                                  null=True, blank=True)
    verified_reductions = models.BigIntegerField(_("verified reductions (tCO2e)"), null=True, blank=True)
    calculation = models.JSONField(_("calculation"), default=dict, blank=True)
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.DRAFT)
    verified_on = models.DateField(_("verified on"), null=True, blank=True)
    disclosure_end = models.DateField(_("disclosure end"), null=True, blank=True)
    applied_on = models.DateField(_("applied on"), null=True, blank=True)
    decision_due = models.DateField(_("decision due"), null=True, blank=True)
    registered_on = models.DateField(_("registered on"), null=True, blank=True)
    rejected_on = models.DateField(_("rejected on"), null=True, blank=True)
    rejection_reason = models.TextField(_("reasons for rejection"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("monitoring report")
        verbose_name_plural = _("monitoring reports")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(period_end__gte=F("period_start")),
                                   name="voluntary_monitoringreport_period_order"),
            models.CheckConstraint(condition=Q(verified_reductions__isnull=True) | Q(verified_reductions__gte=0),
                                   name="voluntary_monitoringreport_verified_nonneg"),
        ]
        # Overlap check: the counting periods of one project.
        indexes = [models.Index(fields=["project", "period_start"], name="voluntary_report_period_idx")]

    def __str__(self):
        return f"{self.project.ref} {self.period_start}..{self.period_end}"


class Issuance(models.Model):
    """CCERs issued into the owner's registry account for one vintage of one monitoring report."""

    report = models.ForeignKey(MonitoringReport, on_delete=models.PROTECT, related_name="issuances")
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="issuances")
    vintage = models.PositiveSmallIntegerField(_("vintage"))
    instrument_code = models.CharField(_("instrument"), max_length=60)
    quantity = models.BigIntegerField(_("quantity (tCO2e)"))
    serial_start = models.BigIntegerField(_("first serial"))
    serial_end = models.BigIntegerField(_("last serial"))
    serial_range = models.CharField(_("serial numbers"), max_length=200,
                                    help_text=_("As the registry renders them: first…last"))
    registry_ref = models.CharField(_("registry transaction"), max_length=60, blank=True)
    issued_on = models.DateField(_("issued on"))

    class Meta:
        verbose_name = _("CCER issuance")
        verbose_name_plural = _("CCER issuances")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="voluntary_issuance_quantity_positive"),
            models.CheckConstraint(condition=Q(serial_end=F("serial_start") + F("quantity") - 1),
                                   name="voluntary_issuance_serials_match_quantity"),
            models.UniqueConstraint(fields=["report", "vintage"], name="voluntary_issuance_one_per_vintage"),
        ]

    def __str__(self):
        return f"{self.instrument_code} {self.quantity} t"


class CreditUse(models.Model):
    """A cancellation of CCERs: for an ETS offset or a voluntary retirement, with its public certificate.

    ``code`` is what a certificate prints and what anyone types into the public verification page.
    """

    class Kind(models.TextChoices):
        OFFSET = "offset", _("Cancellation for ETS offset")
        RETIREMENT = "retirement", _("Voluntary retirement")

    class Purpose(models.TextChoices):
        COMPLIANCE = "compliance", _("ETS compliance offset")
        EVENT = "event", _("Event carbon neutrality")
        CORPORATE = "corporate", _("Corporate climate claim")
        PRODUCT = "product", _("Product or service carbon neutrality")
        PERSONAL = "personal", _("Personal offsetting")

    code = models.CharField(_("certificate code"), max_length=24, unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    purpose = models.CharField(_("purpose"), max_length=12, choices=Purpose.choices)
    purpose_detail = models.CharField(_("purpose in detail"), max_length=300, blank=True)
    beneficiary = models.CharField(_("beneficiary"), max_length=200)
    holder = models.ForeignKey(Organisation, null=True, blank=True, on_delete=models.PROTECT,
                               related_name="ccer_uses", verbose_name=_("holding organisation"))
    entity = models.ForeignKey(KeyEntity, null=True, blank=True, on_delete=models.PROTECT, related_name="ccer_uses",
                               verbose_name=_("key emitting entity"))
    compliance_year = models.PositiveSmallIntegerField(_("compliance year"), null=True, blank=True)
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="uses")
    vintage = models.PositiveSmallIntegerField(_("vintage"))
    instrument_code = models.CharField(_("instrument"), max_length=60)
    quantity = models.BigIntegerField(_("quantity (tCO2e)"))
    serials = models.JSONField(_("serial ranges"), default=list)
    registry_ref = models.CharField(_("registry transaction"), max_length=60, blank=True)
    used_on = models.DateField(_("date"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("CCER cancellation")
        verbose_name_plural = _("CCER cancellations and retirements")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="voluntary_credituse_quantity_positive"),
            models.CheckConstraint(
                condition=~Q(kind="offset") | (Q(entity__isnull=False) & Q(compliance_year__isnull=False)),
                name="voluntary_credituse_offset_has_obligation",
            ),
        ]
        # Compliance sums an entity's offsets per year (the 5% cap).
        indexes = [models.Index(fields=["entity", "compliance_year"], name="voluntary_use_entity_year_idx")]

    def __str__(self):
        return f"{self.code} {self.quantity} t"
