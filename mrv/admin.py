"""Regulator admin for MRV: queues (submissions to review, warnings), plans, verification, and the
parameters and rules a national regulator tunes. Writes go through services (admin actions)."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.utils.translation import gettext_lazy as _

from cets.common.audit import audit_record
from cets.common.errors import DomainError
from entities.admin import AgencyAssignmentAdmin
from entities.admin_scoping import RegulatorAdmin, RegulatorReadOnlyInline
from entities.models import AgencyAssignment, Organisation, SectorListing, User

from . import agencies, cems, early_warnings, listing, reviews, services, verifications
from .cems_models import MonitoringPoint
from .models import (
    AccountingParameter,
    AgencyRating,
    AnnualReport,
    EarlyWarning,
    MonthlySubmission,
    PlausibilityRange,
    QualityControlPlan,
    SectorList,
    Verification,
    VerificationFinding,
    VerifiedFacilityValue,
    WarningRule,
)


def _each(modeladmin, request, queryset, fn, done_message):
    done = 0
    for obj in queryset:
        try:
            fn(obj)
            done += 1
        except DomainError as exc:
            modeladmin.message_user(request, f"{obj}: {exc.message}", messages.ERROR)
    if done:
        modeladmin.message_user(request, done_message % {"n": done}, messages.SUCCESS)


class NationalDataAdmin(RegulatorAdmin):
    """Reference data (parameters, rules): the national regulator edits, every change is audited."""

    entity_path = None

    def _national(self, request) -> bool:
        return request.user.is_superuser or getattr(request.user, "role", None) == User.Role.NATIONAL_REGULATOR

    def has_change_permission(self, request, obj=None):
        return self._national(request)

    def has_add_permission(self, request):
        return self._national(request)

    def save_model(self, request, obj, form, change):
        before = {name: str(form.initial.get(name)) for name in form.changed_data} if change else None
        super().save_model(request, obj, form, change)
        audit_record(actor=request.user, action=f"mrv.{obj._meta.model_name}.{'change' if change else 'add'}",
                     obj=obj, before=before, after={name: str(form.cleaned_data.get(name)) for name in
                                                    form.changed_data})


@admin.register(AccountingParameter)
class AccountingParameterAdmin(NationalDataAdmin):
    list_display = ["key", "fuel", "year_from", "year_to", "value", "confidence", "source"]
    list_filter = ["key", "confidence"]


@admin.register(PlausibilityRange)
class PlausibilityRangeAdmin(NationalDataAdmin):
    list_display = ["parameter", "fuel", "low", "high", "confidence"]


@admin.register(WarningRule)
class WarningRuleAdmin(NationalDataAdmin):
    list_display = ["code", "name", "enabled", "severity", "thresholds", "rectify_working_days"]
    list_editable = ["enabled", "severity"]
    fields = ["code", "name", "description", "enabled", "severity", "thresholds", "rectify_working_days"]


@admin.register(MonthlySubmission)
class MonthlySubmissionAdmin(RegulatorAdmin):
    list_display = ["entity", "unit", "year", "month", "version", "status", "emissions_tco2", "on_time", "deadline"]
    list_filter = ["status", "unit__sector", "year", "month", "on_time", "is_current"]
    search_fields = ["entity__name", "unit__code"]
    list_select_related = ["entity", "unit"]
    actions = [*RegulatorAdmin.actions, "accept"]

    @admin.action(description=_("Accept at my tier (passes it to the next tier)"))
    def accept(self, request, queryset):
        _each(self, request, queryset, lambda s: reviews.submission_review(actor=request.user, submission=s,
                                                                            accept=True),
              _("%(n)d submissions accepted."))


@admin.register(EarlyWarning)
class EarlyWarningAdmin(RegulatorAdmin):
    list_display = ["rule", "entity", "unit", "year", "month", "status", "severity", "tier", "due_date", "escalations",
                    "message"]
    list_filter = ["tier", "severity", "status", "rule", "year"]
    search_fields = ["entity__name", "message"]
    list_select_related = ["rule", "entity", "unit"]
    actions = [*RegulatorAdmin.actions, "transfer", "request_rectification", "mark_checked"]

    def _move(self, request, queryset, to):
        _each(self, request, queryset,
              lambda w: early_warnings.warning_transition(actor=request.user, warning=w, to=to),
              _("%(n)d warnings moved."))

    @admin.action(description=_("Transfer to the responsible department"))
    def transfer(self, request, queryset):
        self._move(request, queryset, EarlyWarning.Status.TRANSFERRED)

    @admin.action(description=_("Request rectification from the entity"))
    def request_rectification(self, request, queryset):
        self._move(request, queryset, EarlyWarning.Status.RECTIFICATION_REQUESTED)

    @admin.action(description=_("Mark rectification checked"))
    def mark_checked(self, request, queryset):
        self._move(request, queryset, EarlyWarning.Status.CHECKED)


@admin.register(QualityControlPlan)
class QualityControlPlanAdmin(RegulatorAdmin):
    list_display = ["entity", "year", "version", "status", "submitted_at", "reviewed_at"]
    list_filter = ["status", "year"]
    actions = [*RegulatorAdmin.actions, "approve"]

    @admin.action(description=_("Approve (provincial regulator)"))
    def approve(self, request, queryset):
        _each(self, request, queryset, lambda p: services.qc_plan_review(actor=request.user, plan=p, approve=True),
              _("%(n)d plans approved."))


@admin.register(MonitoringPoint)
class MonitoringPointAdmin(RegulatorAdmin):
    list_display = ["entity", "code", "unit", "device", "certified_on", "commissioned_on", "status"]
    list_filter = ["status"]
    search_fields = ["code", "entity__name", "unit__code"]
    actions = [*RegulatorAdmin.actions, "approve"]

    @admin.action(description=_("Approve (provincial regulator)"))
    def approve(self, request, queryset):
        _each(self, request, queryset, lambda p: cems.point_review(actor=request.user, point=p, approve=True),
              _("%(n)d points approved."))


@admin.register(AnnualReport)
class AnnualReportAdmin(RegulatorAdmin):
    list_display = ["entity", "year", "version", "status", "emissions_tco2", "due_date", "submitted_at",
                    "return_reason"]
    list_filter = ["status", "year"]


class FindingInline(RegulatorReadOnlyInline):
    """The agency's findings with the entity's answers: confirmation waits until every one is closed."""

    model = VerificationFinding
    fields = ["number", "text", "status", "answer", "answered_at", "agency_comment", "closed_at"]


class FacilityValueInline(RegulatorReadOnlyInline):
    """Verified figures of a steel enterprise, clinker line or aluminium process (what allocation reads)."""

    model = VerifiedFacilityValue
    fields = ["unit", "emissions_tco2", "output_t", "intensity_emissions_tco2", "intensity_output_t",
              "carbide_slag_rate", "gases"]


class ReasonActionForm(ActionForm):
    reason = forms.CharField(label=_("reason"), required=False, max_length=1000)


def _with_reason(modeladmin, request, queryset, fn, done_message):
    """Run a reasoned action on each selected row; the service refuses an empty reason and says so."""
    reason = request.POST.get("reason", "")
    _each(modeladmin, request, queryset, lambda obj: fn(obj, reason), done_message)


@admin.register(Verification)
class VerificationAdmin(RegulatorAdmin):
    inlines = [FindingInline, FacilityValueInline]
    action_form = ReasonActionForm
    list_display = ["entity", "year", "agency", "status", "conclusion", "verified_emissions_tco2", "is_conservative",
                    "submitted_at", "confirmed_at", "review_decision_due", "reverifications"]
    list_filter = ["status", "year", "is_conservative", "conclusion"]
    actions = [*RegulatorAdmin.actions, "confirm", "return_for_reverification"]

    @admin.action(description=_("Confirm verified emissions (provincial regulator)"))
    def confirm(self, request, queryset):
        _each(self, request, queryset, lambda v: verifications.verification_confirm(actor=request.user, verification=v),
              _("%(n)d verifications confirmed."))

    @admin.action(description=_("Return to the agency for re-verification (type the reason)"))
    def return_for_reverification(self, request, queryset):
        _with_reason(self, request, queryset, lambda v, reason: verifications.verification_return(
            actor=request.user, verification=v, reason=reason), _("%(n)d verifications returned."))


class AssignmentActionForm(ReasonActionForm):
    agency = forms.ModelChoiceField(label=_("new agency"), required=False, queryset=Organisation.objects.filter(
        kind=Organisation.Kind.VERIFICATION_AGENCY, is_active=True))


admin.site.unregister(AgencyAssignment)


@admin.register(AgencyAssignment)
class VerifierAssignmentAdmin(AgencyAssignmentAdmin):
    """The entities register's assignment list with the province's cancel and replace (before the agency submits;
    the rule needs the year's verification, so the actions live with mrv)."""

    action_form = AssignmentActionForm
    list_display = [*AgencyAssignmentAdmin.list_display, "status", "end_reason"]
    list_filter = [*AgencyAssignmentAdmin.list_filter, "status"]
    actions = [*AgencyAssignmentAdmin.actions, "cancel", "replace"]

    @admin.action(description=_("Cancel the assignment (type the reason)"))
    def cancel(self, request, queryset):
        _with_reason(self, request, queryset, lambda a, reason: agencies.assignment_cancel(
            actor=request.user, assignment=a, reason=reason), _("%(n)d assignments cancelled."))

    @admin.action(description=_("Replace the agency (choose the new agency, type the reason)"))
    def replace(self, request, queryset):
        agency = Organisation.objects.filter(pk=request.POST.get("agency") or None).first()
        if agency is None:
            self.message_user(request, _("Choose the new agency."), messages.ERROR)
            return
        _with_reason(self, request, queryset, lambda a, reason: agencies.assignment_replace(
            actor=request.user, assignment=a, agency=agency, reason=reason), _("%(n)d assignments replaced."))


@admin.register(AgencyRating)
class AgencyRatingAdmin(RegulatorAdmin):
    entity_path = None
    list_display = ["agency", "province", "year", "timeliness", "quality", "on_time_reports", "late_reports"]
    list_filter = ["year", "province"]

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser or request.user.role == User.Role.NATIONAL_REGULATOR:
            return qs
        return qs.filter(province_id=request.user.province_id)


class ListYearForm(ActionForm):
    year = forms.IntegerField(label=_("data year"), required=False, min_value=2013, max_value=2100)


@admin.register(SectorList)
class SectorListAdmin(RegulatorAdmin):
    """The national regulator builds a sector's list for a data year: select the sectors, type the year, run
    the action; the rows appear under "sector listings" (where a province sees its own entities)."""

    entity_path = None
    action_form = ListYearForm
    list_display = ["code", "name", "inclusion_threshold_tco2", "report_only_rules", "lists"]
    actions = [*RegulatorAdmin.actions, "build_list"]

    @admin.display(description=_("lists built (data years)"))
    def lists(self, sector):
        years = SectorListing.objects.filter(sector=sector).values_list("year", flat=True).distinct()
        return ", ".join(map(str, sorted(years))) or "-"

    @admin.action(description=_("Build the list of the selected sectors for the data year"))
    def build_list(self, request, queryset):
        year = request.POST.get("year", "")
        if not year.isdigit():
            self.message_user(request, _("Type the data year of the list."), messages.ERROR)
            return
        _each(self, request, queryset,
              lambda sector: listing.sector_list_build(actor=request.user, sector=sector, year=int(year)),
              _("%(n)d lists built."))
