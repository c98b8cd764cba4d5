"""Jurisdictions, organisations, key emitting entities, their units, agencies and users."""

from decimal import Decimal

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from .categories import CategoryResult, unit_category
from .credit_code import credit_code_problem
from .facilities import facility_problems


def validate_credit_code(value: str) -> None:
    problem = credit_code_problem(value)
    if problem:
        raise ValidationError(_("Invalid unified social credit code: %(p)s."), params={"p": problem},
                              code="invalid_credit_code")


class Province(models.Model):
    """One of the 31 provincial-level divisions, keyed by its GB/T 2260 code (e.g. 42 Hubei)."""

    code = models.CharField(_("code"), max_length=2, primary_key=True)
    name = models.CharField(_("name"), max_length=20)
    name_en = models.CharField(_("English name"), max_length=40)

    class Meta:
        verbose_name = _("province")
        verbose_name_plural = _("provinces")
        ordering = ["code"]

    def __str__(self):
        return self.name


class City(models.Model):
    """A prefecture-level city: the municipal tier of review."""

    code = models.CharField(_("code"), max_length=6, primary_key=True)
    province = models.ForeignKey(Province, on_delete=models.PROTECT, related_name="cities",
                                 verbose_name=_("province"))
    name = models.CharField(_("name"), max_length=40)
    name_en = models.CharField(_("English name"), max_length=60, blank=True)

    class Meta:
        verbose_name = _("city")
        verbose_name_plural = _("cities")
        ordering = ["code"]

    def __str__(self):
        return self.name

    def clean(self):
        if self.code and self.province_id and not self.code.startswith(self.province_id):
            raise ValidationError({"code": _("A city code starts with its province's code.")})


class Organisation(models.Model):
    """A legal person that is not a key emitting entity: agencies, VVBs, project owners, traders."""

    class Kind(models.TextChoices):
        VERIFICATION_AGENCY = "verification_agency", _("Verification agency")
        INSPECTION_BODY = "inspection_body", _("Inspection and testing body")
        VVB = "vvb", _("Validation/verification body (CCER)")
        PROJECT_OWNER = "project_owner", _("CCER project owner")
        TRADING_PARTICIPANT = "trading_participant", _("Trading participant")
        EXCHANGE = "exchange", _("Trading institution")
        REGISTRY = "registry", _("Registration institution")

    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)
    credit_code = models.CharField(_("unified social credit code"), max_length=18, unique=True,
                                   validators=[validate_credit_code])
    kind = models.CharField(_("kind"), max_length=24, choices=Kind.choices)
    province = models.ForeignKey(Province, on_delete=models.PROTECT, related_name="organisations",
                                 verbose_name=_("province"))
    is_active = models.BooleanField(_("active"), default=True)
    banned_until = models.DateField(_("banned until"), null=True, blank=True,
                                    help_text=_("A service body banned (Decree 775 art. 23) is neither assigned nor "
                                                "may submit a verification report until after this day."))

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["name"]

    def __str__(self):
        return self.name


class Accreditation(models.Model):
    """An agency's accreditation: what it may verify, test or validate, where, and until when."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="accreditations",
                                     verbose_name=_("organisation"))
    scope = models.CharField(_("scope"), max_length=100, help_text=_("e.g. power, CMA coal testing, CCER sector 14"))
    number = models.CharField(_("certificate number"), max_length=60)
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"))
    sector = models.ForeignKey("Sector", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                               verbose_name=_("sector"),
                               help_text=_("The ETS sector a verification agency may verify; empty for other scopes."))
    province = models.ForeignKey(Province, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("province"), help_text=_("Where it may verify; empty: nationwide."))

    class Meta:
        verbose_name = _("accreditation")
        verbose_name_plural = _("accreditations")
        constraints = [
            models.CheckConstraint(condition=models.Q(valid_to__gte=models.F("valid_from")),
                                   name="entities_accreditation_valid_period"),
        ]

    def __str__(self):
        return f"{self.organisation} {self.scope} {self.number}"


class Confidence(models.TextChoices):
    """How sure we are of a seeded figure (DOMAIN.md): [A] official text, [B] secondary, [C] reported."""

    A = "A", _("A: read in the official text")
    B = "B", _("B: secondary source (ICAP, exchange notices)")
    C = "C", _("C: widely reported, not confirmed against the text")


class Sector(models.Model):
    """A covered sector as data: its allocation unit, processes, gases, monthly key parameters and modules.

    The code of a sector lives in two places only: its accounting module in mrv (``accounting_module``, a
    dotted path) and its allocation method in allowances (``allocation_method``). Everything else (lists,
    monthly data, review, registry, trading, compliance) reads this row. Seeded from ``sectors_seed``.
    """

    class AllocationMethod(models.TextChoices):
        BENCHMARK = "benchmark", _("Benchmark x output (power)")
        INTENSITY = "intensity", _("Intensity coefficient with a balance value (industry)")

    class AllocationLevel(models.TextChoices):
        FACILITY = "facility", _("Each facility (unit, line, process)")
        ENTITY = "entity", _("The whole enterprise")

    code = models.SlugField(_("code"), max_length=20, primary_key=True)
    name = models.CharField(_("name"), max_length=60)
    name_en = models.CharField(_("English name"), max_length=60)
    sort_order = models.PositiveSmallIntegerField(_("order"), default=100)
    facility_kind = models.SlugField(_("allocation unit kind"), max_length=40)
    facility_label = models.CharField(_("allocation unit"), max_length=60)
    facility_label_en = models.CharField(_("allocation unit (English)"), max_length=60)
    processes = models.JSONField(_("processes"), default=list, blank=True,
                                 help_text=_('[{"code": "sintering", "name": "烧结", "name_en": "Sintering"}, ...]'))
    gases = models.JSONField(_("gases with GWP"), default=list,
                             help_text=_('[{"gas": "CF4", "gwp": 6630, "confidence": "C", "source": "..."}]'))
    output_name = models.CharField(_("output"), max_length=60)
    output_name_en = models.CharField(_("output (English)"), max_length=60)
    output_unit = models.CharField(_("output unit"), max_length=20)
    facility_attributes = models.JSONField(_("facility attributes"), default=list, blank=True)
    monthly_parameters = models.JSONField(_("monthly key parameters"), default=list)
    accounting_module = models.CharField(_("accounting module"), max_length=100,
                                         help_text=_("Dotted path of the module that computes emissions."))
    allocation_method = models.CharField(_("allocation method"), max_length=12, choices=AllocationMethod.choices)
    allocation_level = models.CharField(_("allocation level"), max_length=10, choices=AllocationLevel.choices,
                                        default=AllocationLevel.FACILITY)
    inclusion_threshold_tco2 = models.PositiveIntegerField(_("inclusion threshold (tCO2e a year)"), default=26000)
    report_only_rules = models.JSONField(
        _("report-only rules"), default=list, blank=True,
        help_text=_('Entities whose facilities of this sector all match a rule report and are verified but are not '
                    'allocated: [{"attribute": "processes", "lacks": "ironmaking", "reason": "..."}, {"attribute": '
                    '"clinker_type", "in": ["aluminate"], "until_year": 2026, "reason": "..."}, {"until_year": 2025, '
                    '"reason": "the whole sector reports only"}]'))
    first_year = models.PositiveSmallIntegerField(_("first data year in the national ETS"))
    confidence = models.CharField(_("confidence"), max_length=1, choices=Confidence.choices)
    source = models.CharField(_("source"), max_length=300)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("sector")
        verbose_name_plural = _("sectors")
        ordering = ["sort_order", "code"]

    def __str__(self):
        return self.name

    def gwp(self, gas: str) -> int | None:
        return next((g["gwp"] for g in self.gases if g["gas"] == gas), None)


class KeyEntity(models.Model):
    """A key emitting entity (重点排放单位): a legal person with >= 26,000 tCO2e a year."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")
        REMOVED = "removed", _("Removed from the list")

    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)
    credit_code = models.CharField(_("unified social credit code"), max_length=18, unique=True,
                                   validators=[validate_credit_code])
    sector = models.ForeignKey(Sector, on_delete=models.PROTECT, related_name="entities", default="power",
                               verbose_name=_("main sector"),
                               help_text=_("The sector of its main activity; facilities of another sector (a "
                                           "captive plant) put the entity on that sector's list too."))
    province = models.ForeignKey(Province, on_delete=models.PROTECT, related_name="entities",
                                 verbose_name=_("province"))
    city = models.ForeignKey(City, on_delete=models.PROTECT, related_name="entities", verbose_name=_("city"))
    inclusion_year = models.PositiveSmallIntegerField(_("inclusion year"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("key emitting entity")
        verbose_name_plural = _("key emitting entities")
        ordering = ["credit_code"]
        constraints = [
            models.CheckConstraint(condition=models.Q(inclusion_year__gte=2013) & models.Q(inclusion_year__lte=2100),
                                   name="entities_keyentity_inclusion_year_range"),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        if self.city_id and self.province_id and self.city.province_id != self.province_id:
            raise ValidationError({"city": _("The city is not in the entity's province.")})


FRACTION = [MinValueValidator(0), MaxValueValidator(1)]


class Unit(models.Model):
    """A facility, the allocation unit of its sector: a generating unit (机组), a steel enterprise with its
    processes, a clinker line or an aluminium electrolysis process. Allocation and MRV are per facility.

    The power columns (rated power, fuel, cooling, ...) are required for generating units only; the facts of
    the other sectors are ``attributes``, checked against the sector's ``facility_attributes``.
    """

    class Fuel(models.TextChoices):
        COAL = "coal", _("Coal")
        UNCONVENTIONAL_COAL = "unconventional_coal", _("Unconventional coal (gangue, slime, ...)")
        NATURAL_GAS = "natural_gas", _("Natural gas")
        OIL = "oil", _("Oil")
        OTHER = "other", _("Other / special fuel")
        WASTE_GAS = "waste_gas", _("Own waste gas only (blast-furnace, coke-oven, converter gas)")

    class CoalType(models.TextChoices):
        BITUMINOUS = "bituminous", _("Bituminous")
        ANTHRACITE = "anthracite", _("Anthracite")
        LIGNITE = "lignite", _("Lignite")
        SUB_BITUMINOUS = "sub_bituminous", _("Sub-bituminous")
        WASTE = "waste", _("Waste coal / gangue")

    class Cooling(models.TextChoices):
        WATER = "water", _("Water-cooled")
        AIR = "air", _("Air-cooled")
        BACK_PRESSURE = "back_pressure", _("Back-pressure")

    class Technology(models.TextChoices):
        CONVENTIONAL = "conventional", _("Conventional boiler / combined cycle")
        IGCC = "igcc", _("IGCC")
        INTERNAL_COMBUSTION = "internal_combustion", _("Internal combustion")
        COAL_TO_GAS = "coal_to_gas", _("Coal-to-gas conversion")
        HEAT_ONLY = "heat_only", _("Heat-only boiler")

    class Status(models.TextChoices):
        OPERATING = "operating", _("Operating")
        MOTHBALLED = "mothballed", _("Mothballed")
        RETIRED = "retired", _("Retired")

    entity = models.ForeignKey(KeyEntity, on_delete=models.PROTECT, related_name="units", verbose_name=_("entity"))
    sector = models.ForeignKey(Sector, on_delete=models.PROTECT, related_name="facilities", default="power",
                               verbose_name=_("sector"))
    code = models.CharField(_("unit code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    attributes = models.JSONField(_("sector attributes"), default=dict, blank=True,
                                  help_text=_('e.g. {"clinker_type": "portland", "design_capacity_tpd": 5000}'))
    rated_power_mw = models.DecimalField(_("rated power (MW)"), max_digits=8, decimal_places=2, null=True, blank=True,
                                         validators=[MinValueValidator(Decimal("0.01"))])
    main_fuel = models.CharField(_("main fuel"), max_length=20, choices=Fuel.choices, blank=True)
    coal_type = models.CharField(_("coal type"), max_length=16, choices=CoalType.choices, blank=True)
    is_cfb = models.BooleanField(_("circulating fluidised bed"), default=False)
    cooling = models.CharField(_("cooling"), max_length=14, choices=Cooling.choices, default=Cooling.WATER)
    is_chp = models.BooleanField(_("combined heat and power"), default=False)
    technology = models.CharField(_("technology"), max_length=20, choices=Technology.choices,
                                  default=Technology.CONVENTIONAL)
    biomass_share = models.DecimalField(_("biomass share of heat input"), max_digits=4, decimal_places=3, default=0,
                                        validators=FRACTION)
    other_fuel_share = models.DecimalField(_("other fuels' share of heat input"), max_digits=4, decimal_places=3,
                                           default=0, validators=FRACTION)
    # Facts the 2025+ power plans read (A = verified emissions above their thresholds; entities.categories)
    secondary_energy_share = models.DecimalField(
        _("own secondary energy's share of heat input"), max_digits=4, decimal_places=3, default=0,
        validators=FRACTION, help_text=_("Waste heat, waste gas and other secondary energy the enterprise produces."))
    green_hydrogen_share = models.DecimalField(
        _("green hydrogen / ammonia share of heat input"), max_digits=4, decimal_places=3, default=0,
        validators=FRACTION)
    is_emergency_backup = models.BooleanField(_("emergency-backup unit"), default=False)
    commissioning_date = models.DateField(_("commissioning date"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPERATING)

    class Meta:
        verbose_name = _("unit")
        verbose_name_plural = _("units")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=models.Q(rated_power_mw__isnull=True) | models.Q(rated_power_mw__gt=0),
                                   name="entities_unit_rated_power_positive"),
            models.CheckConstraint(condition=~models.Q(sector="power") | models.Q(rated_power_mw__isnull=False)
                                   & ~models.Q(main_fuel=""), name="entities_unit_generating_unit_has_power_and_fuel"),
            models.CheckConstraint(
                condition=models.Q(biomass_share__gte=0, biomass_share__lte=1, other_fuel_share__gte=0,
                                   other_fuel_share__lte=1),
                name="entities_unit_shares_are_fractions",
            ),
            models.CheckConstraint(
                condition=models.Q(secondary_energy_share__gte=0, secondary_energy_share__lte=1,
                                   green_hydrogen_share__gte=0, green_hydrogen_share__lte=1),
                name="entities_unit_2025_shares_are_fractions",
            ),
        ]

    def __str__(self):
        return f"{self.code} {self.name}"

    def clean(self):
        problems = facility_problems(self.sector_id, self.rated_power_mw, self.main_fuel, self.attributes,
                                     self.sector.facility_attributes if self.sector_id else [],
                                     [p["code"] for p in self.sector.processes] if self.sector_id else [])
        if problems:
            raise ValidationError(problems)

    @property
    def is_generating_unit(self) -> bool:
        return self.sector_id == "power"

    def category_for(self, plan_year: int | None = None, rules_year: int | None = None):
        """The ETS category for a plan year, with the rule that decided it and, from the 2025 plan, the A = E
        exemption code (power only). No year: the 2023-24 rules; ``rules_year``: see ``unit_category``."""
        if not self.is_generating_unit:
            return CategoryResult(None, _("not a generating unit: the %(sector)s sector has no power categories")
                                  % {"sector": self.sector_id})
        return unit_category(
            main_fuel=self.main_fuel, rated_power_mw=self.rated_power_mw, is_cfb=self.is_cfb,
            technology=self.technology, biomass_share=self.biomass_share, other_fuel_share=self.other_fuel_share,
            commissioning_year=self.commissioning_date.year if self.commissioning_date else None, plan_year=plan_year,
            secondary_energy_share=self.secondary_energy_share, green_hydrogen_share=self.green_hydrogen_share,
            is_emergency_backup=self.is_emergency_backup, rules_year=rules_year,
        )


class SectorListing(models.Model):
    """An entity on a sector's list of key emitting entities for a data year (重点排放单位名录).

    An entity with facilities of two sectors (a steel works with a captive plant not on the power list) is on
    both lists. ``emissions_tco2`` is the direct emissions that put it there (the last verified year), compared
    with the sector's threshold; ``report_only`` entities report and are verified but are not allocated.
    """

    class Status(models.TextChoices):
        LISTED = "listed", _("Listed: allocated and must surrender")
        REPORT_ONLY = "report_only", _("Reports only (not allocated)")
        REMOVED = "removed", _("Removed from the list")

    year = models.PositiveSmallIntegerField(_("data year"))
    sector = models.ForeignKey(Sector, on_delete=models.PROTECT, related_name="listings", verbose_name=_("sector"))
    entity = models.ForeignKey(KeyEntity, on_delete=models.PROTECT, related_name="listings",
                               verbose_name=_("entity"))
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.LISTED)
    emissions_tco2 = models.BigIntegerField(_("direct emissions that decided the listing (tCO2e)"), null=True,
                                            blank=True)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("sector listing")
        verbose_name_plural = _("sector listings")
        ordering = ["year", "sector", "entity"]
        constraints = [
            models.UniqueConstraint(fields=["year", "sector", "entity"], name="entities_sectorlisting_once"),
        ]

    def __str__(self):
        return f"{self.year} {self.sector_id} {self.entity}"


class AgencyAssignment(models.Model):
    """The verification agency a province assigns to an entity for one reporting year.

    Until the agency submits its report the province may cancel the assignment or replace the agency, with a
    reason; the ended row stays as the record of who was assigned and why that ended.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        CANCELLED = "cancelled", _("Cancelled")
        REPLACED = "replaced", _("Replaced")

    year = models.PositiveSmallIntegerField(_("year"))
    entity = models.ForeignKey(KeyEntity, on_delete=models.PROTECT, related_name="agency_assignments",
                               verbose_name=_("entity"))
    agency = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="assignments",
                               verbose_name=_("agency"))
    assigned_by = models.ForeignKey("User", on_delete=models.PROTECT, related_name="+")
    assigned_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE)
    end_reason = models.CharField(_("reason for cancelling or replacing"), max_length=1000, blank=True)
    ended_by = models.ForeignKey("User", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    replaced_by = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="replaces", verbose_name=_("replaced by"))

    class Meta:
        verbose_name = _("agency assignment")
        verbose_name_plural = _("agency assignments")
        constraints = [
            models.UniqueConstraint(fields=["year", "entity"], condition=models.Q(status="active"),
                                    name="entities_agencyassignment_one_per_year"),
            models.CheckConstraint(condition=models.Q(status="active") | ~models.Q(end_reason=""),
                                   name="entities_agencyassignment_ended_has_reason"),
        ]

    def __str__(self):
        return f"{self.year} {self.entity} -> {self.agency}"


class ConsultingEngagement(models.Model):
    """An organisation that helped an entity prepare its emission report for a year.

    Recorded so a province never assigns as verification agency a body that consulted for any entity of
    the same province that year (the same body may not both prepare and verify in one province).
    """

    year = models.PositiveSmallIntegerField(_("year"))
    entity = models.ForeignKey(KeyEntity, on_delete=models.PROTECT, related_name="consulting_engagements",
                               verbose_name=_("entity"))
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="consulting_engagements",
                                     verbose_name=_("organisation"))
    registered_by = models.ForeignKey("User", on_delete=models.PROTECT, related_name="+")
    registered_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("consulting engagement")
        verbose_name_plural = _("consulting engagements")
        constraints = [
            models.UniqueConstraint(fields=["year", "entity", "organisation"],
                                    name="entities_consultingengagement_once"),
        ]
        indexes = [
            # Serves agency_assign's conflict check: an organisation's engagements in a year.
            models.Index(fields=["organisation", "year"], name="entities_consulting_org_idx"),
        ]

    def __str__(self):
        return f"{self.year} {self.organisation} -> {self.entity}"


class User(AbstractUser):
    """A person, with one role and the jurisdiction or organisation it is tied to."""

    class Role(models.TextChoices):
        NATIONAL_REGULATOR = "national_regulator", _("National regulator (MEE)")
        PROVINCIAL_REGULATOR = "provincial_regulator", _("Provincial regulator")
        MUNICIPAL_REGULATOR = "municipal_regulator", _("Municipal regulator")
        ENTITY = "entity", _("Key emitting entity user")
        VERIFIER = "verifier", _("Verification agency user")
        PROJECT_OWNER = "project_owner", _("CCER project owner")
        VVB = "vvb", _("Validation/verification body user")
        PARTICIPANT = "participant", _("Trading participant")
        EXCHANGE_STAFF = "exchange_staff", _("Exchange settlement staff")
        INTEGRATOR = "integrator", _("Integrator (API)")

    role = models.CharField(_("role"), max_length=24, choices=Role.choices)
    province = models.ForeignKey(Province, null=True, blank=True, on_delete=models.PROTECT, related_name="users",
                                 verbose_name=_("province"))
    city = models.ForeignKey(City, null=True, blank=True, on_delete=models.PROTECT, related_name="users",
                             verbose_name=_("city"))
    entity = models.ForeignKey(KeyEntity, null=True, blank=True, on_delete=models.PROTECT, related_name="users",
                               verbose_name=_("entity"))
    organisation = models.ForeignKey(Organisation, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="users", verbose_name=_("organisation"))
    preferred_language = models.CharField(_("language"), max_length=8, blank=True)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(role="provincial_regulator") | models.Q(province__isnull=False),
                name="entities_user_provincial_has_province",
            ),
            models.CheckConstraint(
                condition=~models.Q(role="municipal_regulator") | models.Q(city__isnull=False),
                name="entities_user_municipal_has_city",
            ),
            models.CheckConstraint(
                condition=~models.Q(role="entity") | models.Q(entity__isnull=False),
                name="entities_user_entity_user_has_entity",
            ),
        ]

    REGULATOR_ROLES = {Role.NATIONAL_REGULATOR, Role.PROVINCIAL_REGULATOR, Role.MUNICIPAL_REGULATOR}
    #: Roles with approval powers (regulators of every tier; the exchange's settlement staff, who record the
    #: money that backs trades): they act only with a second factor (TOTP), as EU/UK registry officers do.
    TWO_FACTOR_ROLES = REGULATOR_ROLES | {Role.EXCHANGE_STAFF}

    @property
    def is_regulator(self) -> bool:
        return self.role in self.REGULATOR_ROLES

    @property
    def must_use_two_factor(self) -> bool:
        """Logs in, calls the API and signs off only with a TOTP code (superusers too)."""
        return self.is_superuser or self.role in self.TWO_FACTOR_ROLES

    @property
    def acting_entity_id(self) -> int | None:
        """The entity this user acts for: entity users, and integrators holding an entity's token."""
        return self.entity_id if self.role in (self.Role.ENTITY, self.Role.INTEGRATOR) else None


class EnrolmentCode(models.Model):
    """A one-time code an administrator gives a user to enrol (or replace) their authenticator.

    Without it, a password alone would let anyone who learnt it bind their own authenticator to the
    account. Only a hash is kept; a code expires, serves once, and issuing a new one ends the older ones.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="enrolment_codes", verbose_name=_("user"))
    code_hash = models.CharField(_("code hash"), max_length=64, unique=True)
    issued_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("issued by"))
    issued_at = models.DateTimeField(_("issued"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"))
    used_at = models.DateTimeField(_("used"), null=True, blank=True)

    class Meta:
        verbose_name = _("authenticator enrolment code")
        verbose_name_plural = _("authenticator enrolment codes")
        ordering = ["-issued_at"]

    def __str__(self):
        return f"{self.user} {self.issued_at:%Y-%m-%d %H:%M}"


class ApiTokenIssue(models.Model):
    """How an API token was issued: a user who must use two factors may use only a token issued from a
    session verified by their authenticator (``otp_verified``)."""

    token = models.OneToOneField("authtoken.Token", on_delete=models.CASCADE, related_name="issue",
                                 verbose_name=_("token"))
    otp_verified = models.BooleanField(_("issued from an OTP-verified session"))
    issued_at = models.DateTimeField(_("issued"), auto_now_add=True)

    class Meta:
        verbose_name = _("API token issue")
        verbose_name_plural = _("API token issues")

    def __str__(self):
        return f"{self.token.user_id} {self.issued_at:%Y-%m-%d %H:%M}"


class ApiToken(models.Model):
    """A named API token an integrator creates in the portal: scoped to the one organisation (entity) its
    creator acts for, read-only or read-write, with an expiry; revoked, it stops at once.

    Only a SHA-256 of the secret is kept (the secret is shown once, at creation); ``prefix`` (the first
    characters) lets people tell their tokens apart in lists and logs without revealing them.
    """

    class Access(models.TextChoices):
        READ = "read", _("Read only")
        WRITE = "write", _("Read and write")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("user"))
    name = models.CharField(_("name"), max_length=80)
    entity = models.ForeignKey(KeyEntity, null=True, blank=True, on_delete=models.CASCADE, related_name="api_tokens",
                               verbose_name=_("entity"))
    organisation = models.ForeignKey(Organisation, null=True, blank=True, on_delete=models.CASCADE,
                                     related_name="api_tokens", verbose_name=_("organisation"))
    access = models.CharField(_("access"), max_length=8, choices=Access.choices)
    prefix = models.CharField(_("prefix"), max_length=16)
    key_hash = models.CharField(_("key hash"), max_length=64, unique=True)
    otp_verified = models.BooleanField(_("issued from an OTP-verified session"), default=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"))
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(entity__isnull=True) ^ models.Q(organisation__isnull=True),
                                   name="entities_apitoken_one_organisation"),
            models.CheckConstraint(condition=models.Q(access__in=["read", "write"]), name="entities_apitoken_access"),
        ]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"
