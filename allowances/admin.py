"""Regulator admin: plans (edited in draft, published by four-eyes), runs, results, borrowing, scenarios.

Every write goes through ``allowances.services``; the admin only collects the input and shows the
domain error when a rule refuses it.
"""

from django.contrib import admin, messages
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from cets.common.errors import DomainError
from cets.common.stepup import StepUpActionForm, step_up_admin_action
from entities.admin_scoping import RegulatorAdmin, RegulatorReadOnlyInline
from entities.models import User

from . import services
from .models import (
    AllocationPlan,
    AllocationRun,
    BalanceValue,
    BenchmarkRow,
    BorrowingApplication,
    EntityAllocation,
    HighRiskDesignation,
    Obligation,
    Scenario,
    UnitAllocation,
    VintageTotal,
    VintageTotalEntry,
)

PLAN_RULE_FIELDS = [
    "title", "activity_basis", "correction_scheme", "cooling_water_factor", "cooling_air_factor",
    "cooling_back_pressure_factor", "heat_ratio_coefficient", "gas_heat_ratio_coefficient", "load_factor_for_chp",
    "peak_threshold", "pre_allocation_share", "pre_allocation_basis", "gas_relief", "entity_relief_floor",
    "borrowing_allowed", "borrowing_threshold", "borrowing_max_share", "vintage_rule", "confidence", "note",
    "method", "consultation_draft", "peak_formula", "exemptions", "intensity_band", "intensity_slope",
    "carbide_slag_threshold",
]


def _national(request) -> bool:
    return request.user.role == User.Role.NATIONAL_REGULATOR


def _run_service(modeladmin, request, fn, queryset, done_message, **kwargs):
    for obj in queryset:
        try:
            fn(actor=request.user, **{modeladmin.service_arg: obj}, **kwargs)
        except DomainError as exc:
            modeladmin.message_user(request, f"{obj}: {exc.message}", messages.ERROR)
        else:
            modeladmin.message_user(request, f"{obj}: {done_message}", messages.SUCCESS)


class BenchmarkRowInline(admin.TabularInline):
    model = BenchmarkRow
    extra = 0
    fields = ["year", "category", "kind", "electricity_t_per_mwh", "heat_t_per_gj", "confidence", "note"]
    can_delete = False

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.status == AllocationPlan.Status.DRAFT and _national(request):
            return ["year", "category", "kind"]
        return self.fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return obj is not None and obj.status == AllocationPlan.Status.DRAFT and _national(request)


class BalanceValueInline(admin.TabularInline):
    """Balance values are published by ``balance_values.balance_value_publish`` (API), shown here."""

    model = BalanceValue
    extra = 0
    fields = ["year", "value", "confidence", "note", "solved_from", "published_by", "published_at"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(AllocationPlan)
class AllocationPlanAdmin(RegulatorAdmin):
    entity_path = None
    service_arg = "plan"
    list_display = ["code", "title", "sector", "method", "first_year", "last_year", "consultation_draft",
                    "pre_allocation_share", "borrowing_allowed", "confidence", "status"]
    list_filter = ["status", "sector", "method", "consultation_draft"]
    inlines = [BenchmarkRowInline, BalanceValueInline]
    action_form = StepUpActionForm
    actions = [*RegulatorAdmin.actions, "submit", "publish", "return_to_draft", "copy_to_next_year"]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.status == AllocationPlan.Status.DRAFT and _national(request):
            return ["code", "sector", "first_year", "last_year", "status", "submitted_by", "published_by",
                    "published_at"]
        return [f.name for f in AllocationPlan._meta.concrete_fields]

    def has_change_permission(self, request, obj=None):
        return _national(request)

    def save_model(self, request, obj, form, change):
        fields = {name: form.cleaned_data[name] for name in form.changed_data if name in PLAN_RULE_FIELDS}
        try:
            services.plan_update(actor=request.user, plan=AllocationPlan.objects.get(pk=obj.pk), **fields)
        except DomainError as exc:
            self.message_user(request, str(exc.message), messages.ERROR)

    def save_formset(self, request, form, formset, change):
        for row_form in formset.forms:
            if not row_form.has_changed() or row_form.instance.pk is None:
                continue
            data = row_form.cleaned_data
            try:
                services.benchmark_row_update(
                    actor=request.user, row=BenchmarkRow.objects.get(pk=row_form.instance.pk),
                    electricity_t_per_mwh=data.get("electricity_t_per_mwh"), heat_t_per_gj=data.get("heat_t_per_gj"),
                    confidence=data.get("confidence"), note=data.get("note"))
            except DomainError as exc:
                self.message_user(request, str(exc.message), messages.ERROR)

    @admin.action(description=_("Submit for publication (first pair of eyes)"))
    def submit(self, request, queryset):
        _run_service(self, request, services.plan_submit, queryset, _("submitted"))

    @admin.action(description=_("Publish (second pair of eyes)"))
    @step_up_admin_action
    def publish(self, request, queryset):
        _run_service(self, request, services.plan_publish, queryset, _("published"))

    @admin.action(description=_("Return to draft"))
    def return_to_draft(self, request, queryset):
        _run_service(self, request, services.plan_return_to_draft, queryset, _("returned to draft"))

    @admin.action(description=_("Copy as a draft for the following year"))
    def copy_to_next_year(self, request, queryset):
        for plan in queryset:
            year = plan.last_year + 1
            try:
                draft = services.plan_draft_create(actor=request.user, source=plan, code=str(year), first_year=year,
                                                   last_year=year)
            except DomainError as exc:
                self.message_user(request, f"{plan}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, _("Draft %(code)s created.") % {"code": draft.code}, messages.SUCCESS)


@admin.register(BenchmarkRow)
class BenchmarkRowAdmin(RegulatorAdmin):
    entity_path = None
    list_display = ["plan", "year", "category", "kind", "electricity_t_per_mwh", "heat_t_per_gj", "confidence",
                    "note"]
    list_filter = ["plan", "year", "kind", "category", "confidence"]


@admin.register(AllocationRun)
class AllocationRunAdmin(RegulatorAdmin):
    entity_path = None
    service_arg = "run"
    list_display = ["year", "kind", "plan", "status", "total_tco2", "created_by", "approved_by", "progress"]
    list_filter = ["kind", "status", "year"]
    action_form = StepUpActionForm
    actions = [*RegulatorAdmin.actions, "approve"]

    @admin.display(description=_("progress"))
    def progress(self, run):
        job = run.issue_job or run.calculate_job
        if job is None:
            return "-"
        return format_html('<a href="/jobs/{}/">{}%</a>', job.pk, job.percent)

    @admin.action(description=_("Approve and issue through the registry (second pair of eyes)"))
    @step_up_admin_action
    def approve(self, request, queryset):
        _run_service(self, request, services.run_approve, queryset, _("approved; issuing"))


class UnitAllocationInline(admin.TabularInline):
    model = UnitAllocation
    extra = 0
    fields = ["unit", "category", "base_tco2", "relief_tco2", "allocation_tco2", "formula"]
    readonly_fields = fields
    can_delete = False

    @admin.display(description=_("formula lines"))
    def formula(self, obj):
        return format_html("<br>".join(["{}: {} = {}"] * len(obj.lines)),
                           *[part for line in obj.lines for part in (line["label"], line["formula"], line["value"])])

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(EntityAllocation)
class EntityAllocationAdmin(RegulatorAdmin):
    list_display = ["entity", "run", "base_tco2", "relief_tco2", "allocation_tco2", "verified_emissions_tco2",
                    "previously_issued_tco2", "borrowing_deduction_tco2",
                  "penalty_deduction_tco2", "difference_tco2", "destination", "status"]
    list_filter = ["run__year", "run__kind", "status", "destination", "entity__province"]
    search_fields = ["entity__name", "entity__credit_code"]
    list_select_related = ["entity", "run"]
    inlines = [UnitAllocationInline]


@admin.register(Obligation)
class ObligationAdmin(RegulatorAdmin):
    list_display = ["entity", "year", "quantity_tco2", "status", "created_at"]
    list_filter = ["year", "status"]


@admin.register(HighRiskDesignation)
class HighRiskDesignationAdmin(RegulatorAdmin):
    """The province marks judicially frozen or non-compliant entities: their allocation goes to its account."""

    list_display = ["entity", "year", "reason", "designated_by", "created_at"]
    list_filter = ["year", "reason"]
    fields = ["entity", "year", "reason"]

    def has_add_permission(self, request):
        return request.user.role in (User.Role.NATIONAL_REGULATOR, User.Role.PROVINCIAL_REGULATOR)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "entity":
            from entities.selectors import entities_visible_to

            kwargs["queryset"] = entities_visible_to(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        try:
            obj.pk = services.high_risk_designate(actor=request.user, entity=form.cleaned_data["entity"],
                                                  year=form.cleaned_data["year"],
                                                  reason=form.cleaned_data["reason"]).pk
        except DomainError as exc:
            self.message_user(request, str(exc.message), messages.ERROR)


@admin.register(BorrowingApplication)
class BorrowingApplicationAdmin(RegulatorAdmin):
    service_arg = "application"
    list_display = ["entity", "year", "verified_emissions_tco2", "allocation_tco2", "shortfall_tco2",
                    "requested_tco2", "status", "decided_by", "issuance_reference"]
    list_filter = ["year", "status"]
    actions = [*RegulatorAdmin.actions, "approve", "reject"]

    @admin.action(description=_("Approve"))
    def approve(self, request, queryset):
        _run_service(self, request, services.borrowing_decide, queryset, _("approved"), approve=True)

    @admin.action(description=_("Reject"))
    def reject(self, request, queryset):
        _run_service(self, request, services.borrowing_decide, queryset, _("rejected"), approve=False)


@admin.register(Scenario)
class ScenarioAdmin(RegulatorAdmin):
    """Scenario comparison: each row is a scenario's headline figures next to the unchanged plan's."""

    entity_path = None
    list_display = ["name", "plan", "data_year", "allocation", "baseline_allocation", "emissions", "at_cap",
                    "baseline_at_cap", "created_at"]
    list_filter = ["plan", "data_year"]

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        return qs if _national(request) or request.user.is_superuser else qs.none()

    def _figure(self, obj, side, key):
        return (obj.result or {}).get(side, {}).get(key)

    @admin.display(description=_("allocation (t)"))
    def allocation(self, obj):
        return self._figure(obj, "scenario", "allocation_tco2")

    @admin.display(description=_("plan as published (t)"))
    def baseline_allocation(self, obj):
        return self._figure(obj, "baseline", "allocation_tco2")

    @admin.display(description=_("verified emissions (t)"))
    def emissions(self, obj):
        return self._figure(obj, "scenario", "emissions_tco2")

    # xgettext:no-python-format
    @admin.display(description=_("entities at the 20% cap"))
    def at_cap(self, obj):
        return self._figure(obj, "scenario", "entities_at_cap")

    @admin.display(description=_("at cap, plan as published"))
    def baseline_at_cap(self, obj):
        return self._figure(obj, "baseline", "entities_at_cap")


class VintageTotalEntryInline(RegulatorReadOnlyInline):
    model = VintageTotalEntry
    fields = ["source", "quantity_tco2", "reference", "created_by", "created_at"]


@admin.register(VintageTotal)
class VintageTotalAdmin(RegulatorAdmin):
    """The plan's total per vintage (the registry's issuance cap), with what determined it."""

    entity_path = None
    list_display = ["vintage", "total_tco2"]
    inlines = [VintageTotalEntryInline]
