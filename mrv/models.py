"""Tables of the mrv app: accounting parameters, quality control plans, monthly submissions with their
fuel records and test reports, annual reports, early warnings, three-tier reviews and verification.

Emission figures keep three decimals (kilograms) with max_digits 15, which SQLite still stores exactly;
tonnes that later stages use as obligations are rounded by the selectors, never stored rounded here.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from entities.models import KeyEntity, Organisation, Sector, Unit

FRACTION = [MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))]


def _dec(digits: int, places: int, label, **kw) -> models.DecimalField:
    return models.DecimalField(label, max_digits=digits, decimal_places=places, **kw)


class Confidence(models.TextChoices):
    """How sure we are of a seeded figure (DOMAIN.md: [A] official text, [B] secondary, [C] reported)."""

    A = "A", _("[A] read in the official text")
    B = "B", _("[B] secondary source")
    C = "C", _("[C] widely reported, not confirmed")


class AccountingParameter(models.Model):
    """One figure of the accounting guideline, valid for a range of data years (editable with history).

    Defaults are data, not code: a corrected guideline value is a new row (or a changed ``year_to``),
    never a release. ``fuel`` is a fuel class (``coal`` / ``natural_gas``) or blank for all fuels; for the
    industrial sectors it is the code the figure belongs to (fuel, material, product, clinker type, gas).
    """

    class Key(models.TextChoices):
        DEFAULT_CARBON_PER_HEAT = "default_carbon_per_heat", _("Default carbon per unit heat (tC/GJ)")
        DEFAULT_NCV = "default_ncv", _("Default net calorific value (GJ per fuel unit)")
        OXIDATION_RATE = "oxidation_rate", _("Default oxidation rate (fraction)")
        GRID_FACTOR = "grid_factor", _("Purchased electricity grid factor (tCO2/MWh)")
        STEEL_NCV = "steel_ncv", _("Steel: default NCV of a fuel (GJ per fuel unit)")
        STEEL_CARBON_PER_HEAT = "steel_carbon_per_heat", _("Steel: default carbon per unit heat of a fuel (tC/GJ)")
        MATERIAL_EF = "material_ef", _("Steel: emission factor of a purchased material (tCO2/t)")
        PRODUCT_EF = "product_ef", _("Steel: emission factor of a product deducted (tCO2/t)")
        CEMENT_NCV = "cement_ncv", _("Cement: default NCV of a fuel (GJ per fuel unit)")
        CEMENT_CARBON_PER_HEAT = "cement_carbon_per_heat", _("Cement: default carbon per unit heat (tC/GJ)")
        CEMENT_OXIDATION_RATE = "cement_oxidation_rate", _("Cement: default oxidation rate by fuel state")
        CLINKER_EF = "clinker_ef", _("Cement: clinker process emission factor by type (tCO2/t)")
        SUBSTITUTE_DEDUCTION = "substitute_deduction", _("Cement: deduction of a non-carbonate substitute (tCO2/t)")
        ANODE_SULPHUR = "anode_sulphur", _("Aluminium: default anode sulphur (fraction)")
        ANODE_ASH = "anode_ash", _("Aluminium: default anode ash (fraction)")
        PFC_DEFAULT = "pfc_default", _("Aluminium: default CF4 factor without anode-effect data (kg/t Al)")
        PFC_AEM_SLOPE = "pfc_aem_slope", _("Aluminium: CF4 kg/t Al per anode-effect minute per cell-day")
        PFC_C2F6_RATIO = "pfc_c2f6_ratio", _("Aluminium: C2F6 factor as a share of the CF4 factor")

    key = models.CharField(_("parameter"), max_length=32, choices=Key.choices)
    fuel = models.CharField(_("fuel class"), max_length=20, blank=True)
    year_from = models.PositiveSmallIntegerField(_("from data year"))
    year_to = models.PositiveSmallIntegerField(_("to data year"), null=True, blank=True,
                                               help_text=_("Blank: still in force."))
    value = _dec(12, 6, _("value"))
    confidence = models.CharField(_("confidence"), max_length=1, choices=Confidence.choices)
    source = models.CharField(_("source"), max_length=300)

    class Meta:
        verbose_name = _("accounting parameter")
        verbose_name_plural = _("accounting parameters")
        ordering = ["key", "fuel", "year_from"]
        constraints = [
            models.UniqueConstraint(fields=["key", "fuel", "year_from"], name="mrv_accountingparameter_unique_start"),
            models.CheckConstraint(condition=Q(year_to__isnull=True) | Q(year_to__gte=models.F("year_from")),
                                   name="mrv_accountingparameter_year_range"),
            models.CheckConstraint(condition=Q(value__gt=0), name="mrv_accountingparameter_value_positive"),
        ]

    def __str__(self):
        end = self.year_to or "…"
        return f"{self.key} {self.fuel} {self.year_from}-{end}: {self.value}"


class PlausibilityRange(models.Model):
    """A plausible range of a reported value (DOMAIN.md section 5), used by validation and warnings."""

    parameter = models.CharField(_("parameter"), max_length=40)
    fuel = models.CharField(_("fuel"), max_length=20, blank=True)
    low = _dec(12, 6, _("low"))
    high = _dec(12, 6, _("high"))
    confidence = models.CharField(_("confidence"), max_length=1, choices=Confidence.choices)
    source = models.CharField(_("source"), max_length=300)

    class Meta:
        verbose_name = _("plausibility range")
        verbose_name_plural = _("plausibility ranges")
        constraints = [
            models.UniqueConstraint(fields=["parameter", "fuel"], name="mrv_plausibilityrange_unique"),
            models.CheckConstraint(condition=Q(high__gte=models.F("low")), name="mrv_plausibilityrange_ordered"),
        ]

    def __str__(self):
        return f"{self.parameter} {self.fuel}: {self.low}-{self.high}"


class QualityControlPlan(models.Model):
    """An entity's data quality control plan for a year; each change is a new version the province reviews."""

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("Submitted, awaiting provincial review")
        APPROVED = "approved", _("Approved")
        RETURNED = "returned", _("Returned for changes")
        SUPERSEDED = "superseded", _("Superseded by a later version")

    entity = models.ForeignKey(KeyEntity, on_delete=models.PROTECT, related_name="qc_plans", verbose_name=_("entity"))
    year = models.PositiveSmallIntegerField(_("year"))
    version = models.PositiveIntegerField(_("version"))
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.SUBMITTED)
    parameters = models.JSONField(_("parameters, sources, sampling and testing"), default=list)
    change_reason = models.CharField(_("reason for the change"), max_length=500, blank=True)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    submitted_at = models.DateTimeField(_("submitted"), auto_now_add=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    reviewed_at = models.DateTimeField(_("reviewed"), null=True, blank=True)
    review_comment = models.CharField(_("review comment"), max_length=1000, blank=True)

    class Meta:
        verbose_name = _("data quality control plan")
        verbose_name_plural = _("data quality control plans")
        ordering = ["entity", "year", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["entity", "year", "version"], name="mrv_qualitycontrolplan_unique_version"),
        ]

    def __str__(self):
        return f"{self.entity} {self.year} v{self.version}"


class Meter(models.Model):
    """A meter named in a quality control plan: its accuracy and calibration decide adjustments."""

    class Measures(models.TextChoices):
        FUEL = "fuel", _("Fuel consumption")
        ELECTRICITY_GENERATED = "electricity_generated", _("Electricity generated")
        ELECTRICITY_SUPPLIED = "electricity_supplied", _("Electricity supplied")
        HEAT_SUPPLIED = "heat_supplied", _("Heat supplied")
        PURCHASED_ELECTRICITY = "purchased_electricity", _("Purchased electricity")

    plan = models.ForeignKey(QualityControlPlan, on_delete=models.CASCADE, related_name="meters")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="meters", null=True, blank=True)
    measures = models.CharField(_("measures"), max_length=24, choices=Measures.choices)
    serial = models.CharField(_("meter number"), max_length=60)
    required_accuracy = _dec(6, 4, _("required accuracy (fraction)"), validators=FRACTION)
    calibrated_on = models.DateField(_("last calibration"), null=True, blank=True)
    calibration_due = models.DateField(_("next calibration due"), null=True, blank=True)

    class Meta:
        verbose_name = _("meter")
        verbose_name_plural = _("meters")
        constraints = [
            models.CheckConstraint(condition=Q(required_accuracy__gte=0, required_accuracy__lte=1),
                                   name="mrv_meter_accuracy_fraction"),
        ]

    def __str__(self):
        return f"{self.serial} ({self.measures})"


class TestReport(models.Model):
    """A CMA/CNAS laboratory report for one fuel sample (carbon, NCV, H, S, moisture)."""

    entity = models.ForeignKey(KeyEntity, on_delete=models.PROTECT, related_name="test_reports")
    number = models.CharField(_("report number"), max_length=60)
    laboratory = models.CharField(_("laboratory"), max_length=200)
    accreditation_number = models.CharField(_("CMA/CNAS number"), max_length=60)
    sample_id = models.CharField(_("sample id"), max_length=60)
    sample_date = models.DateField(_("sample date"))
    report_date = models.DateField(_("report date"))
    carbon_content = _dec(10, 6, _("elemental carbon"), null=True, blank=True)
    ncv = _dec(10, 4, _("net calorific value"), null=True, blank=True)
    hydrogen = _dec(6, 4, _("hydrogen (fraction)"), null=True, blank=True)
    sulfur = _dec(6, 4, _("sulfur (fraction)"), null=True, blank=True)
    moisture = _dec(6, 4, _("moisture (fraction)"), null=True, blank=True)
    file = models.FileField(_("report file"), upload_to="mrv/test-reports/%Y/", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("test report")
        verbose_name_plural = _("test reports")
        constraints = [
            models.UniqueConstraint(fields=["entity", "number"], name="mrv_testreport_unique_number"),
            models.CheckConstraint(condition=Q(report_date__gte=models.F("sample_date")),
                                   name="mrv_testreport_report_after_sample"),
        ]

    def __str__(self):
        return f"{self.number} ({self.laboratory})"


class MonthlySubmission(models.Model):
    """One unit's recorded data for one month (月度存证). A resubmission is a new version; history is kept.

    ``is_current`` marks the version every figure uses; the partial unique constraint keeps exactly one.
    """

    class Status(models.TextChoices):
        MUNICIPAL_REVIEW = "municipal_review", _("Municipal review")
        PROVINCIAL_REVIEW = "provincial_review", _("Provincial review")
        NATIONAL_REVIEW = "national_review", _("National review")
        ACCEPTED = "accepted", _("Accepted")
        RETURNED = "returned", _("Returned to the entity")
        SUPERSEDED = "superseded", _("Superseded by a new version")

    entity = models.ForeignKey(KeyEntity, on_delete=models.PROTECT, related_name="submissions")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="submissions")
    year = models.PositiveSmallIntegerField(_("year"))
    month = models.PositiveSmallIntegerField(_("month"), validators=[MinValueValidator(1), MaxValueValidator(12)])
    version = models.PositiveIntegerField(_("version"), default=1)
    is_current = models.BooleanField(_("current version"), default=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.MUNICIPAL_REVIEW)
    electricity_generated_mwh = _dec(15, 3, _("electricity generated (MWh)"), default=0)
    electricity_supplied_mwh = _dec(15, 3, _("electricity supplied (MWh)"), default=0)
    heat_supplied_gj = _dec(15, 3, _("heat supplied (GJ)"), default=0)
    operating_hours = _dec(7, 2, _("operating hours"), default=0)
    load_factor = _dec(6, 4, _("load factor"), null=True, blank=True, validators=FRACTION)
    purchased_electricity_mwh = _dec(15, 3, _("purchased electricity (MWh)"), default=0)
    fuel_emissions_tco2 = _dec(15, 3, _("fuel emissions (tCO2)"), default=0)
    indirect_emissions_tco2 = _dec(15, 3, _("purchased electricity emissions (tCO2)"), default=0)
    emissions_tco2 = _dec(15, 3, _("emissions (tCO2)"), default=0)
    fuel_heat_gj = _dec(15, 3, _("fuel heat input (GJ)"), default=0)
    calculation = models.JSONField(_("calculation lines"), default=list)
    # Facilities of the industrial sectors: the sector's monthly key parameters and the SectorResult figures.
    inputs = models.JSONField(_("sector key parameters"), default=dict, blank=True)
    output_t = _dec(15, 3, _("output (t)"), null=True, blank=True)
    intensity_emissions_tco2 = _dec(15, 3, _("emissions for the intensity (tCO2e)"), null=True, blank=True)
    intensity_output_t = _dec(15, 3, _("output for the intensity (t)"), null=True, blank=True)
    gases = models.JSONField(_("emissions by gas (tCO2e)"), default=dict, blank=True)
    deadline = models.DateField(_("deadline"))
    on_time = models.BooleanField(_("on time"))
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    submitted_at = models.DateTimeField(_("submitted"))
    note = models.CharField(_("note"), max_length=500, blank=True)
    review_due = models.DateField(_("current tier's review due"), null=True, blank=True,
                                  help_text=_("Paused while a request for information is open."))

    class Meta:
        verbose_name = _("monthly submission")
        verbose_name_plural = _("monthly submissions")
        ordering = ["entity", "unit", "year", "month", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["unit", "year", "month", "version"],
                                    name="mrv_monthlysubmission_unique_version"),
            models.UniqueConstraint(fields=["unit", "year", "month"], condition=Q(is_current=True),
                                    name="mrv_monthlysubmission_one_current"),
            models.CheckConstraint(condition=Q(month__gte=1, month__lte=12), name="mrv_monthlysubmission_month_range"),
            models.CheckConstraint(
                condition=Q(electricity_generated_mwh__gte=0, electricity_supplied_mwh__gte=0, heat_supplied_gj__gte=0,
                            operating_hours__gte=0, purchased_electricity_mwh__gte=0, emissions_tco2__gte=0),
                name="mrv_monthlysubmission_non_negative"),
            models.CheckConstraint(condition=Q(load_factor__isnull=True) | Q(load_factor__gte=0, load_factor__lte=1),
                                   name="mrv_monthlysubmission_load_factor_fraction"),
        ]
        indexes = [
            # Serves the dashboards, selectors and warning rules: current versions of a year, per entity.
            models.Index(fields=["year", "entity", "is_current"], name="mrv_sub_year_entity_idx"),
            # Serves the review queues: open submissions by status.
            models.Index(fields=["status", "year", "month"], name="mrv_sub_status_idx"),
        ]

    def __str__(self):
        return f"{self.unit_id} {self.year}-{self.month:02d} v{self.version}"


class FuelRecord(models.Model):
    """One fuel burnt by a unit in a month, with the accounting line that turned it into tCO2."""

    submission = models.ForeignKey(MonthlySubmission, on_delete=models.CASCADE, related_name="fuels")
    fuel = models.CharField(_("fuel"), max_length=20)
    consumption = _dec(15, 4, _("consumption (t or 10^4 Nm3)"))
    ncv = _dec(10, 4, _("NCV (GJ per fuel unit)"), null=True, blank=True)
    carbon_content = _dec(10, 6, _("elemental carbon (tC per fuel unit)"), null=True, blank=True)
    oxidation_rate = _dec(5, 4, _("oxidation rate"), null=True, blank=True, validators=FRACTION)
    test_report = models.ForeignKey(TestReport, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    emissions_tco2 = _dec(15, 3, _("emissions (tCO2)"))

    class Meta:
        verbose_name = _("fuel record")
        verbose_name_plural = _("fuel records")
        constraints = [
            models.CheckConstraint(condition=Q(consumption__gte=0), name="mrv_fuelrecord_consumption_non_negative"),
            models.CheckConstraint(condition=Q(oxidation_rate__isnull=True)
                                   | Q(oxidation_rate__gt=0, oxidation_rate__lte=1),
                                   name="mrv_fuelrecord_oxidation_fraction"),
            models.CheckConstraint(condition=Q(carbon_content__isnull=True) | Q(test_report__isnull=False),
                                   name="mrv_fuelrecord_carbon_has_report"),
        ]

    def __str__(self):
        return f"{self.fuel} {self.consumption}"


class SupportingFile(models.Model):
    """A stamped ledger or other evidence attached to a submission."""

    submission = models.ForeignKey(MonthlySubmission, on_delete=models.CASCADE, related_name="files")
    file = models.FileField(_("file"), upload_to="mrv/supporting/%Y/%m/")
    description = models.CharField(_("description"), max_length=200, blank=True)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("supporting file")
        verbose_name_plural = _("supporting files")

    def __str__(self):
        return self.description or self.file.name


class SubmissionUpload(models.Model):
    """A filled template staged for confirmation: what it would change, against the versions it was read against.

    Uploading never stores monthly data: it records the merged unit-months (``rows``, blank cells filled from
    the current version), the current version each one was compared with (``baseline``: submission id and
    status, or none) and the before/after of every changed field (``changes``). Confirming stores the rows
    only if every baseline still holds under row locks; otherwise the upload becomes ``stale`` and nothing
    changes. The record stays as the history of what was uploaded, shown and decided.
    """

    class Status(models.TextChoices):
        PREVIEWED = "previewed", _("Previewed, awaiting confirmation")
        CONFIRMED = "confirmed", _("Confirmed and stored")
        STALE = "stale", _("Refused: the data changed after the preview")
        DISCARDED = "discarded", _("Discarded")

    entity = models.ForeignKey(KeyEntity, on_delete=models.PROTECT, related_name="uploads", verbose_name=_("entity"),
                               null=True, blank=True, help_text=_("Blank: a national regulator's legacy load."))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("uploaded"), auto_now_add=True)
    filename = models.CharField(_("file name"), max_length=200)
    sha256 = models.CharField(_("file SHA-256"), max_length=64)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PREVIEWED)
    rows = models.JSONField(_("unit-months to store"), default=list)
    baseline = models.JSONField(_("current versions compared with"), default=list)
    changes = models.JSONField(_("changes (before and after)"), default=list)
    summary = models.JSONField(_("summary"), default=dict)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    result = models.JSONField(_("result"), null=True, blank=True)

    class Meta:
        verbose_name = _("monthly data upload")
        verbose_name_plural = _("monthly data uploads")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.filename} ({self.status})"


class AnnualReport(models.Model):
    """An entity's annual emission report compiled from its current monthly versions (due Mar 31)."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft (compiled, not submitted)")
        SUBMITTED = "submitted", _("Submitted")
        SUPERSEDED = "superseded", _("Superseded")
        RETURNED = "returned", _("Returned by the verification agency for correction")
        RECALLED = "recalled", _("Recalled by the entity")

    entity = models.ForeignKey(KeyEntity, on_delete=models.PROTECT, related_name="annual_reports")
    year = models.PositiveSmallIntegerField(_("year"))
    version = models.PositiveIntegerField(_("version"), default=1)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.DRAFT)
    emissions_tco2 = _dec(15, 3, _("emissions (tCO2)"))
    units = models.JSONField(_("per-unit figures"), default=list)
    months_missing = models.JSONField(_("missing unit-months"), default=list)
    due_date = models.DateField(_("due"))
    compiled_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    compiled_at = models.DateTimeField(auto_now_add=True)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    return_reason = models.CharField(_("what the agency asks to correct"), max_length=1000, blank=True)
    returned_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")

    class Meta:
        verbose_name = _("annual emission report")
        verbose_name_plural = _("annual emission reports")
        ordering = ["entity", "year", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["entity", "year", "version"], name="mrv_annualreport_unique_version"),
        ]

    def __str__(self):
        return f"{self.entity} {self.year} v{self.version}"


class Verification(models.Model):
    """Third-party verification of an entity's year, confirmed by the province (or determined by it).

    ``CONFIRMED`` rows are what allocation and compliance read; ``is_conservative`` marks emissions the
    province determined itself because data were missing or false.
    """

    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress", _("Agency verifying")
        SUBMITTED = "submitted", _("Agency report submitted")
        CONFIRMED = "confirmed", _("Confirmed by the province")
        REVIEW_REQUESTED = "review_requested", _("Review requested by the entity")
        DETERMINATION_OPEN = "determination_open", _("Conservative determination case opened, awaiting the "
                                                     "province's figures")
        DETERMINATION_PENDING = "determination_pending", _("Conservative determination awaiting peer review")

    class Conclusion(models.TextChoices):
        UNQUALIFIED = "unqualified", _("Unqualified: the report conforms")
        QUALIFIED = "qualified", _("Qualified: conforms except for the matters stated")
        ADVERSE = "adverse", _("Adverse: the report does not conform")
        DISCLAIMER = "disclaimer", _("Disclaimer: no conclusion could be reached")

    entity = models.ForeignKey(KeyEntity, on_delete=models.PROTECT, related_name="verifications")
    year = models.PositiveSmallIntegerField(_("year"))
    agency = models.ForeignKey(Organisation, null=True, blank=True, on_delete=models.PROTECT,
                               related_name="verifications")
    status = models.CharField(_("status"), max_length=24, choices=Status.choices, default=Status.IN_PROGRESS)
    report_file = models.FileField(_("verification report"), upload_to="mrv/verification/%Y/", blank=True)
    verified_emissions_tco2 = _dec(15, 3, _("verified emissions (tCO2)"), null=True, blank=True)
    is_conservative = models.BooleanField(_("determined conservatively"), default=False)
    conservative_reason = models.CharField(_("reason for conservative determination"), max_length=500, blank=True)
    determined_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="+", help_text=_("The regulator who proposed the determination; "
                                                                     "a different one must approve it."))
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")
    submitted_at = models.DateTimeField(_("report submitted"), null=True, blank=True)
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")
    confirmed_at = models.DateTimeField(_("confirmed"), null=True, blank=True)
    review_deadline = models.DateField(_("review may be requested until"), null=True, blank=True)
    review_reason = models.CharField(_("review request"), max_length=1000, blank=True)
    review_decision_due = models.DateField(_("review decision due"), null=True, blank=True)
    started_at = models.DateTimeField(_("verification started"), null=True, blank=True,
                                      help_text=_("From then on the entity can no longer recall its report."))
    conclusion = models.CharField(_("conclusion"), max_length=12, choices=Conclusion.choices, blank=True)
    conclusion_reasons = models.CharField(_("reasons for the conclusion"), max_length=2000, blank=True)
    reverification_reason = models.CharField(_("why the province asked for re-verification"), max_length=1000,
                                             blank=True)
    reverifications = models.PositiveSmallIntegerField(_("times returned for re-verification"), default=0)

    class Meta:
        verbose_name = _("verification")
        verbose_name_plural = _("verifications")
        ordering = ["-year", "entity"]
        constraints = [
            models.UniqueConstraint(fields=["entity", "year"], name="mrv_verification_one_per_year"),
            models.CheckConstraint(condition=~Q(status="confirmed") | Q(verified_emissions_tco2__isnull=False),
                                   name="mrv_verification_confirmed_has_emissions"),
            models.CheckConstraint(condition=Q(conclusion__in=["", "unqualified"]) | ~Q(conclusion_reasons=""),
                                   name="mrv_verification_qualified_has_reasons"),
        ]

    def __str__(self):
        return f"{self.entity} {self.year} ({self.status})"


class VerificationFinding(models.Model):
    """A non-conformity in the agency's report: the entity answers it and the agency closes it (or reopens it
    with a comment). The province cannot confirm verified emissions while any finding is not closed."""

    class Status(models.TextChoices):
        OPEN = "open", _("Waiting for the entity's answer")
        ANSWERED = "answered", _("Answered, waiting for the agency")
        CLOSED = "closed", _("Closed by the agency")

    verification = models.ForeignKey(Verification, on_delete=models.CASCADE, related_name="findings")
    number = models.PositiveSmallIntegerField(_("number"))
    text = models.CharField(_("finding"), max_length=1000)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    answer = models.CharField(_("entity's answer"), max_length=2000, blank=True)
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    agency_comment = models.CharField(_("agency's comment"), max_length=1000, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    class Meta:
        verbose_name = _("verification finding")
        verbose_name_plural = _("verification findings")
        ordering = ["verification", "number"]
        constraints = [
            models.UniqueConstraint(fields=["verification", "number"], name="mrv_verificationfinding_unique_number"),
            models.CheckConstraint(condition=Q(status="open") | ~Q(answer=""),
                                   name="mrv_verificationfinding_answered_has_answer"),
            models.CheckConstraint(condition=~Q(status="closed") | Q(closed_by__isnull=False),
                                   name="mrv_verificationfinding_closed_has_closer"),
        ]

    def __str__(self):
        return f"#{self.number} {self.text[:60]}"


class VerifiedUnitValue(models.Model):
    """The verified key parameters of one unit for the year: what allocation's formulas consume."""

    verification = models.ForeignKey(Verification, on_delete=models.CASCADE, related_name="unit_values")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="verified_values")
    electricity_generated_mwh = _dec(15, 3, _("electricity generated (MWh)"))
    electricity_supplied_mwh = _dec(15, 3, _("electricity supplied (MWh)"))
    heat_supplied_gj = _dec(15, 3, _("heat supplied (GJ)"))
    load_factor = _dec(6, 4, _("load factor"), validators=FRACTION)
    heat_supply_ratio = _dec(6, 4, _("heat-supply ratio"), validators=FRACTION)
    emissions_tco2 = _dec(15, 3, _("verified emissions (tCO2)"))

    class Meta:
        verbose_name = _("verified unit value")
        verbose_name_plural = _("verified unit values")
        constraints = [
            models.UniqueConstraint(fields=["verification", "unit"], name="mrv_verifiedunitvalue_one_per_unit"),
            models.CheckConstraint(condition=Q(electricity_generated_mwh__gte=0, electricity_supplied_mwh__gte=0,
                                               heat_supplied_gj__gte=0, emissions_tco2__gte=0),
                                   name="mrv_verifiedunitvalue_non_negative"),
            models.CheckConstraint(condition=Q(load_factor__gte=0, load_factor__lte=1, heat_supply_ratio__gte=0,
                                               heat_supply_ratio__lte=1),
                                   name="mrv_verifiedunitvalue_fractions"),
        ]

    def __str__(self):
        return f"{self.verification} {self.unit_id}"


class Tier(models.TextChoices):
    MUNICIPAL = "municipal", _("Municipal")
    PROVINCIAL = "provincial", _("Provincial")
    NATIONAL = "national", _("National")


class Severity(models.TextChoices):
    """How serious a warning is; a high one is notified to the entity's province at once."""

    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")


class WarningRule(models.Model):
    """An early-warning rule: switchable, with thresholds a regulator tunes in the admin (as data)."""

    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("what it detects"), blank=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    thresholds = models.JSONField(_("thresholds"), default=dict, blank=True)
    rectify_working_days = models.PositiveSmallIntegerField(_("working days to rectify"), default=10)
    severity = models.CharField(_("severity"), max_length=6, choices=Severity.choices, default=Severity.MEDIUM,
                                help_text=_("Given to each new warning of the rule; high ones reach the province "
                                            "at once."))

    class Meta:
        verbose_name = _("early-warning rule")
        verbose_name_plural = _("early-warning rules")
        ordering = ["code"]

    def __str__(self):
        return self.name


class EarlyWarning(models.Model):
    """One abnormal finding, handled in a closed loop by the tier that owns the entity.

    ``fingerprint`` (rule, entity, unit, period) is unique among open warnings, so the nightly run and
    the per-submission run never raise the same problem twice.
    """

    class Status(models.TextChoices):
        DETECTED = "detected", _("Detected")
        TRANSFERRED = "transferred", _("Transferred to the responsible department")
        RECTIFICATION_REQUESTED = "rectification_requested", _("Rectification requested")
        OVERDUE = "overdue", _("Rectification overdue")
        RECTIFIED = "rectified", _("Rectified by the entity")
        CHECKED = "checked", _("Checked")
        CLOSED = "closed", _("Closed")
        DISMISSED = "dismissed", _("Dismissed")

    OPEN = [Status.DETECTED, Status.TRANSFERRED, Status.RECTIFICATION_REQUESTED, Status.OVERDUE, Status.RECTIFIED,
            Status.CHECKED]
    AWAITING_ENTITY = [Status.RECTIFICATION_REQUESTED, Status.OVERDUE]

    rule = models.ForeignKey(WarningRule, on_delete=models.PROTECT, related_name="warnings")
    entity = models.ForeignKey(KeyEntity, on_delete=models.PROTECT, related_name="warnings")
    unit = models.ForeignKey(Unit, null=True, blank=True, on_delete=models.PROTECT, related_name="warnings")
    submission = models.ForeignKey(MonthlySubmission, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="warnings")
    year = models.PositiveSmallIntegerField(_("year"))
    month = models.PositiveSmallIntegerField(_("month"), null=True, blank=True)
    fingerprint = models.CharField(max_length=120)
    message = models.CharField(_("message"), max_length=500)
    details = models.JSONField(_("details"), default=dict, blank=True)
    status = models.CharField(_("status"), max_length=24, choices=Status.choices, default=Status.DETECTED)
    tier = models.CharField(_("responsible tier"), max_length=10, choices=Tier.choices)
    severity = models.CharField(_("severity"), max_length=6, choices=Severity.choices, default=Severity.MEDIUM)
    due_date = models.DateField(_("due"), null=True, blank=True)
    escalations = models.PositiveSmallIntegerField(_("escalations"), default=0)
    reason = models.CharField(_("reason (dismissal or closing)"), max_length=500, blank=True)
    rectified_by = models.ForeignKey(MonthlySubmission, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("early warning")
        verbose_name_plural = _("early warnings")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["fingerprint"], condition=~Q(status__in=["closed", "dismissed"]),
                                    name="mrv_earlywarning_one_open_per_fingerprint"),
            models.CheckConstraint(condition=~Q(status="dismissed") | ~Q(reason=""),
                                   name="mrv_earlywarning_dismissed_has_reason"),
        ]
        indexes = [
            # Serves the regulator queues: open warnings by tier and status.
            models.Index(fields=["tier", "status", "due_date"], name="mrv_warning_queue_idx"),
        ]

    def __str__(self):
        return f"{self.rule.code} {self.entity_id} {self.year}-{self.month or ''}"


class WarningEvent(models.Model):
    """One step of a warning's closed loop: who moved it, from what to what, and why."""

    warning = models.ForeignKey(EarlyWarning, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=24)
    to_status = models.CharField(max_length=24)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+")
    comment = models.CharField(max_length=1000, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("warning event")
        verbose_name_plural = _("warning events")
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.from_status} -> {self.to_status}"


class SubmissionReview(models.Model):
    """One tier's decision on a monthly submission (municipal -> provincial -> national)."""

    class Decision(models.TextChoices):
        ACCEPTED = "accepted", _("Accepted")
        RETURNED = "returned", _("Returned with comments")

    submission = models.ForeignKey(MonthlySubmission, on_delete=models.CASCADE, related_name="reviews")
    tier = models.CharField(_("tier"), max_length=10, choices=Tier.choices)
    decision = models.CharField(_("decision"), max_length=10, choices=Decision.choices)
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    comment = models.CharField(_("comment"), max_length=1000, blank=True)
    decided_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("submission review")
        verbose_name_plural = _("submission reviews")
        ordering = ["decided_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["submission", "tier"], name="mrv_submissionreview_one_per_tier"),
            models.CheckConstraint(condition=~Q(decision="returned") | ~Q(comment=""),
                                   name="mrv_submissionreview_return_has_comment"),
        ]

    def __str__(self):
        return f"{self.submission_id} {self.tier} {self.decision}"


class AgencyRating(models.Model):
    """A province's rating of a verification agency's work in a year (timeliness and quality, 1-5)."""

    agency = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="ratings")
    province = models.ForeignKey("entities.Province", on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField(_("year"))
    timeliness = models.PositiveSmallIntegerField(_("timeliness"), validators=[MinValueValidator(1),
                                                                               MaxValueValidator(5)])
    quality = models.PositiveSmallIntegerField(_("quality"), validators=[MinValueValidator(1), MaxValueValidator(5)])
    on_time_reports = models.PositiveIntegerField(_("reports on time"), default=0)
    late_reports = models.PositiveIntegerField(_("reports late"), default=0)
    comment = models.CharField(_("comment"), max_length=1000, blank=True)
    rated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    rated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("agency rating")
        verbose_name_plural = _("agency ratings")
        constraints = [
            models.UniqueConstraint(fields=["agency", "province", "year"], name="mrv_agencyrating_one_per_year"),
            models.CheckConstraint(condition=Q(timeliness__gte=1, timeliness__lte=5, quality__gte=1, quality__lte=5),
                                   name="mrv_agencyrating_scores_1_to_5"),
        ]

    def __str__(self):
        return f"{self.agency} {self.year}"


class Reminder(models.Model):
    """A reminder sent 7 days and 1 day before a due date, to the party who must act (kept as a record).

    ``key`` names the due item (e.g. ``month:<unit>:2025-03``); the unique constraint makes the daily task
    idempotent: rerunning it never sends the same reminder twice.
    """

    class Kind(models.TextChoices):
        MONTHLY_DATA = "monthly_data", _("Monthly data due")
        ANNUAL_REPORT = "annual_report", _("Annual report due")
        WARNING = "warning", _("Warning action due")
        REVIEW_REQUEST = "review_request", _("Verification review decision due")
        REVIEW = "review", _("Monthly data review due")
        FINDINGS = "findings", _("Verification findings to answer")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    key = models.CharField(max_length=80)
    days_before = models.PositiveSmallIntegerField(_("days before"))
    entity = models.ForeignKey(KeyEntity, on_delete=models.CASCADE, related_name="reminders")
    recipient_tier = models.CharField(_("to"), max_length=10, blank=True,
                                      help_text=_("Blank: the entity; otherwise the regulator tier."))
    due_date = models.DateField(_("due"))
    message = models.CharField(_("message"), max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("reminder")
        verbose_name_plural = _("reminders")
        ordering = ["due_date"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "key", "days_before"], name="mrv_reminder_once"),
        ]

    def __str__(self):
        return self.message


class InformationRequest(models.Model):
    """A reviewer's request for information to the entity; the reviewer's deadline pauses until answered."""

    class Status(models.TextChoices):
        OPEN = "open", _("Waiting for the entity")
        ANSWERED = "answered", _("Answered")

    submission = models.ForeignKey(MonthlySubmission, on_delete=models.CASCADE, related_name="information_requests")
    tier = models.CharField(_("tier"), max_length=10, choices=Tier.choices)
    question = models.CharField(_("question"), max_length=1000)
    asked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    asked_on = models.DateField(_("asked on"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    answer = models.CharField(_("answer"), max_length=2000, blank=True)
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    answered_on = models.DateField(_("answered on"), null=True, blank=True)

    class Meta:
        verbose_name = _("request for information")
        verbose_name_plural = _("requests for information")
        ordering = ["-asked_on", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["submission"], condition=Q(status="open"),
                                    name="mrv_informationrequest_one_open"),
            models.CheckConstraint(condition=Q(status="open") | ~Q(answer=""),
                                   name="mrv_informationrequest_answered_has_answer"),
        ]

    def __str__(self):
        return self.question[:60]


class DeadlineExtension(models.Model):
    """A regulator's request to extend its own decision deadline (a monthly review or a verification review
    decision), with a reason, decided by the tier above."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        GRANTED = "granted", _("Granted")
        REFUSED = "refused", _("Refused")

    submission = models.ForeignKey(MonthlySubmission, null=True, blank=True, on_delete=models.CASCADE,
                                   related_name="extensions")
    verification = models.ForeignKey(Verification, null=True, blank=True, on_delete=models.CASCADE,
                                     related_name="extensions")
    working_days = models.PositiveSmallIntegerField(_("working days"),
                                                    validators=[MinValueValidator(1), MaxValueValidator(30)])
    reason = models.CharField(_("reason"), max_length=1000)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("deadline extension")
        verbose_name_plural = _("deadline extensions")
        constraints = [
            models.CheckConstraint(condition=Q(submission__isnull=False) ^ Q(verification__isnull=False),
                                   name="mrv_deadlineextension_one_subject"),
            models.CheckConstraint(condition=~Q(reason=""), name="mrv_deadlineextension_has_reason"),
            models.CheckConstraint(condition=Q(working_days__gte=1, working_days__lte=30),
                                   name="mrv_deadlineextension_days_range"),
        ]

    def __str__(self):
        return f"+{self.working_days} ({self.status})"


class SectorList(Sector):
    """A sector seen from MRV: the admin page where the national regulator builds its list of key emitting
    entities for a data year from verified emissions (``mrv.listing``). No table of its own."""

    class Meta:
        proxy = True
        verbose_name = _("sector list")
        verbose_name_plural = _("sector lists (build from verified data)")


from .cems_models import CemsHour, HourStatus, MonitoringPoint  # noqa: E402,F401
from .sector_models import VerifiedFacilityValue  # noqa: E402,F401  (kept in its own module for size)
