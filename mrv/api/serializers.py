"""Input and output shapes of the MRV API. Numbers go in as JSON numbers or strings, come out as strings."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from entities.models import AgencyAssignment, ConsultingEngagement

from .. import accounting
from ..models import (
    AnnualReport,
    DeadlineExtension,
    EarlyWarning,
    FuelRecord,
    InformationRequest,
    MonthlySubmission,
    QualityControlPlan,
    Reminder,
    SubmissionReview,
    SubmissionUpload,
    TestReport,
    Verification,
    VerificationFinding,
    VerifiedFacilityValue,
    VerifiedUnitValue,
)

FUEL_HELP = ("Coal by type (bituminous, anthracite, lignite, sub_bituminous, lean_coal, coking_coal, waste, "
             "coal_gangue, coal) in tonnes, carbon in tC/t, NCV in GJ/t; natural_gas in 10^4 Nm3, carbon in "
             "tC/10^4 Nm3, NCV in GJ/10^4 Nm3; fuel_oil (start-up oil) in tonnes.")


class NextStepField(serializers.SerializerMethodField):
    """``{"who": role or tier that must act, "by": date or null}``, or null when nothing is pending."""

    def __init__(self, **kw):
        super().__init__(method_name="get_next_step", **kw)


class NextStepMixin:
    def get_next_step(self, obj) -> dict | None:
        from ..deadlines import next_step

        return next_step(obj)


@extend_schema_field(OpenApiTypes.NUMBER)
class NumberField(serializers.Field):
    """A JSON number (or numeric string) handed to the accounting as is, so it is read as an exact Decimal
    and its errors name the fuel line (``fuels[0].consumption``) and the rule."""

    def to_internal_value(self, data):
        return data

    def to_representation(self, value):
        return str(value)


def _number(help_text: str, **kw) -> NumberField:
    return NumberField(help_text=help_text, **kw)


class CalculateFuelInput(serializers.Serializer):
    fuel = serializers.CharField(help_text=FUEL_HELP + " Known: " + ", ".join(sorted(accounting.FUELS)))
    consumption = _number("t (coal) or 10^4 Nm3 (natural gas)")
    carbon_content = _number("measured elemental carbon, tC/t or tC/10^4 Nm3; null: not measured, use NCV x "
                             "default carbon per heat", allow_null=True, required=False)
    ncv = _number("net calorific value, GJ/t or GJ/10^4 Nm3; null: the default where one exists",
                  allow_null=True, required=False)
    oxidation_rate = _number("fraction (0, 1]; null: the default of the year", allow_null=True, required=False)


class CalculateInput(serializers.Serializer):
    sector = serializers.CharField(required=False, allow_null=True,
                                   help_text="absent: power with this body. steel, cement, aluminium (or power): "
                                             "the sector's body, see docs/adding-a-sector.md")
    year = serializers.IntegerField(min_value=2013, max_value=2100, help_text="data year (selects the defaults)")
    fuels = CalculateFuelInput(many=True)
    purchased_electricity_mwh = _number("MWh; counts for data years with a grid factor (to 2022)", default=0)


class SectorCalculateInput(serializers.Serializer):
    """The common part of a sector body; the rest is read by the sector's accounting module."""

    sector = serializers.CharField(help_text="sector code (entities.Sector): power, steel, cement, aluminium")
    year = serializers.IntegerField(min_value=2013, max_value=2100, help_text="data year (selects the defaults)")


class CalculateLineOutput(serializers.Serializer):
    kind = serializers.CharField()
    fuel = serializers.CharField(required=False)
    formula = serializers.CharField()
    calculation = serializers.CharField()
    inputs = serializers.DictField(help_text="name -> {value, unit, source}")
    emissions_tco2 = serializers.CharField()
    in_total = serializers.BooleanField(required=False, help_text="sectors: whether the line adds to the total")


class CalculateOutput(serializers.Serializer):
    emissions_tco2 = serializers.CharField(help_text="decimal string, tCO2, 3 decimals")
    lines = CalculateLineOutput(many=True)
    output_t = serializers.CharField(required=False, allow_null=True, help_text="sectors: crude steel, clinker "
                                     "or aluminium liquid, t")
    intensity_emissions_tco2 = serializers.CharField(required=False, allow_null=True,
                                                     help_text="sectors: emissions of the allocation intensity")
    intensity_output_t = serializers.CharField(required=False, allow_null=True)
    intensity = serializers.CharField(required=False, allow_null=True, help_text="t per t, 4 decimals")
    gases = serializers.DictField(required=False, help_text="sectors: tCO2e per gas")
    carbide_slag_rate = serializers.CharField(required=False, help_text="cement: carbide-slag substitution rate")


class FuelInput(serializers.Serializer):
    fuel = serializers.ChoiceField(choices=sorted(accounting.FUELS), help_text=FUEL_HELP)
    consumption = serializers.CharField()
    ncv = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    carbon_content = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    oxidation_rate = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    test_report = serializers.CharField(required=False, allow_null=True, allow_blank=True,
                                        help_text="test report number (required with a measured carbon content)")


class SubmissionInput(serializers.Serializer):
    """Numbers as strings or numbers; validated as Decimal by the service (field and rule in errors)."""

    unit = serializers.IntegerField()
    year = serializers.IntegerField()
    month = serializers.IntegerField()
    electricity_generated_mwh = serializers.CharField(required=False, allow_blank=True)
    electricity_supplied_mwh = serializers.CharField(required=False, allow_blank=True)
    heat_supplied_gj = serializers.CharField(required=False, allow_blank=True)
    operating_hours = serializers.CharField(required=False, allow_blank=True)
    load_factor = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    purchased_electricity_mwh = serializers.CharField(required=False, allow_blank=True)
    note = serializers.CharField(required=False, allow_blank=True, max_length=500)
    fuels = FuelInput(many=True)


class FacilitySubmissionInput(serializers.Serializer):
    """A month of a steel enterprise, clinker line or aluminium process: the keys below, then the monthly key
    parameters of the facility's sector (``/api/v1/sectors/``: ``monthly_parameters``) at the top level or in
    ``inputs``. A field of another sector is refused naming it; nothing is saved."""

    unit = serializers.IntegerField(help_text="the facility (unit id)")
    year = serializers.IntegerField()
    month = serializers.IntegerField()
    note = serializers.CharField(required=False, allow_blank=True, max_length=500)
    inputs = serializers.DictField(required=False, help_text="the sector's monthly key parameters, e.g. cement: "
                                   "{fuels, clinker_t, substitutes}; aluminium: {aluminium_t, "
                                   "net_anode_consumption, anode_sulphur?, anode_ash?, anode_effect_minutes?}")


class FuelOutput(serializers.ModelSerializer):
    test_report = serializers.CharField(source="test_report.number", default=None)

    class Meta:
        model = FuelRecord
        fields = ["fuel", "consumption", "ncv", "carbon_content", "oxidation_rate", "test_report", "emissions_tco2"]


class ReviewOutput(serializers.ModelSerializer):
    class Meta:
        model = SubmissionReview
        fields = ["tier", "decision", "reviewer", "comment", "decided_at"]


class InformationRequestOutput(serializers.ModelSerializer):
    class Meta:
        model = InformationRequest
        fields = ["id", "submission", "tier", "question", "asked_on", "status", "answer", "answered_on"]


class QuestionInput(serializers.Serializer):
    question = serializers.CharField(max_length=1000)


class AnswerInput(serializers.Serializer):
    answer = serializers.CharField(max_length=2000)


class SubmissionOutput(NextStepMixin, serializers.ModelSerializer):
    unit_code = serializers.CharField(source="unit.code")
    sector = serializers.CharField(source="unit.sector_id")
    fuels = FuelOutput(many=True, read_only=True)
    reviews = ReviewOutput(many=True, read_only=True)
    information_requests = InformationRequestOutput(many=True, read_only=True)
    next_step = NextStepField()

    class Meta:
        model = MonthlySubmission
        fields = ["id", "entity", "unit", "unit_code", "year", "month", "version", "is_current", "status",
                  "electricity_generated_mwh", "electricity_supplied_mwh", "heat_supplied_gj", "operating_hours",
                  "load_factor", "purchased_electricity_mwh", "fuel_emissions_tco2", "indirect_emissions_tco2",
                  "emissions_tco2", "deadline", "on_time", "submitted_at", "note", "fuels", "calculation", "reviews",
                  "information_requests", "review_due", "next_step", "sector", "inputs", "output_t",
                  "intensity_emissions_tco2", "intensity_output_t", "gases"]


class SubmissionListOutput(serializers.ModelSerializer):
    unit_code = serializers.CharField(source="unit.code")

    class Meta:
        model = MonthlySubmission
        fields = ["id", "entity", "unit", "unit_code", "year", "month", "version", "is_current", "status",
                  "emissions_tco2", "deadline", "on_time", "submitted_at"]


class UploadInput(serializers.Serializer):
    file = serializers.FileField(help_text="the filled .xlsx template or a .csv with the same columns")


class UploadFieldChange(serializers.Serializer):
    field = serializers.CharField(help_text="a unit-level column, <fuel>.<column>, note or emissions_tco2")
    before = serializers.CharField(allow_null=True)
    after = serializers.CharField(allow_null=True)


class UploadChange(serializers.Serializer):
    row = serializers.IntegerField(help_text="the first spreadsheet row of the unit-month")
    unit = serializers.CharField()
    unit_id = serializers.IntegerField()
    year = serializers.IntegerField()
    month = serializers.IntegerField()
    action = serializers.ChoiceField(choices=["create", "update"])
    version_before = serializers.IntegerField(allow_null=True)
    status_before = serializers.CharField(allow_null=True)
    status_after = serializers.CharField()
    on_time_before = serializers.BooleanField(allow_null=True)
    on_time_after = serializers.BooleanField()
    deadline = serializers.DateField()
    fields = UploadFieldChange(many=True)
    warnings = serializers.ListField(child=serializers.CharField())


class UploadOutput(serializers.ModelSerializer):
    """A staged upload: its changes before and after, per unit and month; ``confirm`` stores them."""

    changes = UploadChange(many=True)

    class Meta:
        model = SubmissionUpload
        fields = ["id", "entity", "filename", "sha256", "status", "created_at", "created_by", "summary", "changes",
                  "decided_by", "decided_at", "result"]


class TestReportInput(serializers.Serializer):
    number = serializers.CharField(max_length=60)
    laboratory = serializers.CharField(max_length=200)
    accreditation_number = serializers.CharField(max_length=60)
    sample_id = serializers.CharField(max_length=60)
    sample_date = serializers.DateField()
    report_date = serializers.DateField()
    carbon_content = serializers.DecimalField(max_digits=10, decimal_places=6, required=False, allow_null=True,
                                              min_value=0)
    ncv = serializers.DecimalField(max_digits=10, decimal_places=4, required=False, allow_null=True, min_value=0)


class TestReportOutput(serializers.ModelSerializer):
    class Meta:
        model = TestReport
        fields = ["id", "entity", "number", "laboratory", "accreditation_number", "sample_id", "sample_date",
                  "report_date", "carbon_content", "ncv"]


class MeterInput(serializers.Serializer):
    unit = serializers.CharField(required=False, allow_blank=True, help_text="unit code")
    measures = serializers.CharField()
    serial = serializers.CharField(max_length=60)
    required_accuracy = serializers.DecimalField(max_digits=6, decimal_places=4)
    calibrated_on = serializers.DateField(required=False, allow_null=True)
    calibration_due = serializers.DateField(required=False, allow_null=True)


class QcPlanInput(serializers.Serializer):
    year = serializers.IntegerField(min_value=2013, max_value=2100)
    parameters = serializers.ListField(child=serializers.DictField())
    meters = MeterInput(many=True, required=False, default=list)
    change_reason = serializers.CharField(required=False, allow_blank=True, max_length=500)


class QcPlanOutput(serializers.ModelSerializer):
    class Meta:
        model = QualityControlPlan
        fields = ["id", "entity", "year", "version", "status", "parameters", "change_reason", "submitted_at",
                  "reviewed_at", "review_comment"]


class DecisionInput(serializers.Serializer):
    accept = serializers.BooleanField()
    comment = serializers.CharField(required=False, allow_blank=True, max_length=1000, default="")


class AnnualReportInput(serializers.Serializer):
    year = serializers.IntegerField(min_value=2013, max_value=2100)


class AnnualReportOutput(serializers.ModelSerializer):
    class Meta:
        model = AnnualReport
        fields = ["id", "entity", "year", "version", "status", "emissions_tco2", "units", "months_missing",
                  "due_date", "submitted_at", "return_reason"]


class WarningOutput(NextStepMixin, serializers.ModelSerializer):
    rule = serializers.CharField(source="rule.code")
    next_step = NextStepField()

    class Meta:
        model = EarlyWarning
        fields = ["id", "rule", "entity", "unit", "submission", "year", "month", "message", "details", "status",
                  "tier", "severity", "due_date", "escalations", "reason", "created_at", "next_step"]


class ReminderOutput(serializers.ModelSerializer):
    class Meta:
        model = Reminder
        fields = ["id", "kind", "entity", "recipient_tier", "due_date", "days_before", "message", "created_at"]


class TransitionInput(serializers.Serializer):
    to = serializers.ChoiceField(choices=EarlyWarning.Status.choices)
    comment = serializers.CharField(required=False, allow_blank=True, max_length=1000, default="")


def _figure(help_text: str) -> serializers.CharField:
    return serializers.CharField(required=False, allow_null=True, allow_blank=True, help_text=help_text)


class UnitValueInput(serializers.Serializer):
    """A generating unit's verified figures (the power fields, all required), or another facility's (its
    emissions and output required; the intensity inputs default to the year's months; a field of the other
    kind is refused naming it)."""

    unit = serializers.CharField(help_text="unit (facility) code")
    electricity_generated_mwh = _figure("power: MWh")
    electricity_supplied_mwh = _figure("power: MWh")
    heat_supplied_gj = _figure("power: GJ")
    load_factor = _figure("power: fraction")
    heat_supply_ratio = _figure("power: fraction")
    emissions_tco2 = serializers.CharField(help_text="verified emissions, tCO2e")
    output_t = _figure("steel: crude steel; cement: clinker; aluminium: aluminium liquid (t)")
    intensity_emissions_tco2 = _figure("steel: sintering + ironmaking balance (tCO2); blank: the months' sum")
    intensity_output_t = _figure("steel: ironmaking output (t); blank: the months' sum")
    carbide_slag_rate = _figure("cement: carbide-slag substitution rate (fraction)")


class EntityYearInput(serializers.Serializer):
    entity = serializers.IntegerField()
    year = serializers.IntegerField(min_value=2013, max_value=2100)


class DetermineInput(EntityYearInput):
    unit_values = UnitValueInput(many=True)
    reason = serializers.CharField(max_length=500)


class VerificationInput(EntityYearInput):
    unit_values = UnitValueInput(many=True)
    findings = serializers.ListField(child=serializers.CharField(max_length=1000), required=False, default=list)
    conclusion = serializers.ChoiceField(choices=Verification.Conclusion.choices)
    conclusion_reasons = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="",
                                               help_text="required unless the conclusion is unqualified")
    report_file = serializers.FileField(required=False, help_text="the signed report (multipart); a resubmission "
                                                                  "may keep the one already sent")


class ReasonInput(serializers.Serializer):
    reason = serializers.CharField(max_length=1000)


class ReviewDecisionInput(serializers.Serializer):
    unit_values = UnitValueInput(many=True, required=False)
    comment = serializers.CharField(required=False, allow_blank=True, default="")


class UnitValueOutput(serializers.ModelSerializer):
    unit_code = serializers.CharField(source="unit.code")

    class Meta:
        model = VerifiedUnitValue
        fields = ["unit", "unit_code", "electricity_generated_mwh", "electricity_supplied_mwh", "heat_supplied_gj",
                  "load_factor", "heat_supply_ratio", "emissions_tco2"]


class FacilityValueOutput(serializers.ModelSerializer):
    unit_code = serializers.CharField(source="unit.code")
    sector = serializers.CharField(source="unit.sector_id")

    class Meta:
        model = VerifiedFacilityValue
        fields = ["unit", "unit_code", "sector", "emissions_tco2", "output_t", "intensity_emissions_tco2",
                  "intensity_output_t", "carbide_slag_rate", "gases"]


class FindingOutput(serializers.ModelSerializer):
    class Meta:
        model = VerificationFinding
        fields = ["id", "verification", "number", "text", "status", "answer", "answered_at", "agency_comment",
                  "closed_at"]


class CloseFindingInput(serializers.Serializer):
    accept = serializers.BooleanField(help_text="true closes the finding; false reopens it for a better answer.")
    comment = serializers.CharField(max_length=1000, required=False, default="", allow_blank=True)


class VerificationOutput(NextStepMixin, serializers.ModelSerializer):
    unit_values = UnitValueOutput(many=True, read_only=True)
    facility_values = FacilityValueOutput(many=True, read_only=True)
    findings = FindingOutput(many=True, read_only=True)
    next_step = NextStepField()

    class Meta:
        model = Verification
        fields = ["id", "entity", "year", "agency", "status", "findings", "verified_emissions_tco2",
                  "is_conservative", "conservative_reason", "submitted_at", "confirmed_at", "review_deadline",
                  "review_reason", "review_decision_due", "unit_values", "facility_values", "next_step",
                  "started_at", "conclusion", "conclusion_reasons", "report_file", "reverification_reason",
                  "reverifications"]


class RatingInput(serializers.Serializer):
    agency = serializers.IntegerField()
    year = serializers.IntegerField(min_value=2013, max_value=2100)
    timeliness = serializers.IntegerField()
    quality = serializers.IntegerField()
    comment = serializers.CharField(required=False, allow_blank=True, default="")


class ExtensionInput(serializers.Serializer):
    working_days = serializers.IntegerField()
    reason = serializers.CharField(max_length=1000)


class ExtensionOutput(serializers.ModelSerializer):
    class Meta:
        model = DeadlineExtension
        fields = ["id", "submission", "verification", "working_days", "reason", "status", "requested_at",
                  "decided_at"]


class GrantInput(serializers.Serializer):
    grant = serializers.BooleanField()


class ConsultingInput(serializers.Serializer):
    entity = serializers.IntegerField(required=False, help_text="Regulators name the entity; an entity user "
                                                                "records for its own entity.")
    organisation = serializers.IntegerField()
    year = serializers.IntegerField()


class ConsultingOutput(serializers.ModelSerializer):
    class Meta:
        model = ConsultingEngagement
        fields = ["id", "year", "entity", "organisation", "registered_by", "registered_at"]


class AssignmentOutput(serializers.ModelSerializer):
    class Meta:
        model = AgencyAssignment
        fields = ["id", "year", "entity", "agency", "status", "assigned_at", "end_reason", "ended_at", "replaced_by"]


class ReplaceAssignmentInput(serializers.Serializer):
    agency = serializers.IntegerField()
    reason = serializers.CharField(max_length=1000)
