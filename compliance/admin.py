"""Regulator admin: cycles (national edits through a service), obligations, closing, relief and penalties.

Rows are scoped to the regulator's jurisdiction (``RegulatorAdmin``); every write is an admin action or
a save that calls ``compliance.services`` and shows the domain error when a rule refuses it.
"""

from decimal import Decimal

from django.contrib import admin, messages
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from cets.common.errors import DomainError
from cets.common.stepup import StepUpActionForm, step_up_admin_action
from entities.admin_scoping import RegulatorAdmin
from entities.models import User

from . import services, standing
from .models import (
    Certificate,
    ComplianceCycle,
    CycleMilestone,
    CycleSector,
    FalsificationPenalty,
    Obligation,
    Penalty,
    ReliefDecision,
    RiskSnapshot,
    RiskWarning,
)


def _national(request) -> bool:
    return request.user.role == User.Role.NATIONAL_REGULATOR


def _each(modeladmin, request, queryset, call, done):
    for obj in queryset:
        try:
            call(obj)
        except DomainError as exc:
            modeladmin.message_user(request, f"{obj}: {exc.message}", messages.ERROR)
        else:
            modeladmin.message_user(request, f"{obj}: {done}", messages.SUCCESS)


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None):
        return False


class CycleSectorInline(_ReadOnlyInline):
    model = CycleSector
    fields = ["sector", "allocation_basis", "confidence", "source"]


class CycleMilestoneInline(_ReadOnlyInline):
    model = CycleMilestone
    fields = ["kind", "sector", "due_on", "confidence", "source"]


@admin.register(ComplianceCycle)
class ComplianceCycleAdmin(RegulatorAdmin):
    entity_path = None
    list_display = ["code", "name", "first_year", "last_year", "milestone_pct", "milestone_date", "deadline",
                    "offset_cap_pct", "status", "draft", "closing_progress", "confidence"]
    inlines = [CycleSectorInline, CycleMilestoneInline]
    actions = [*RegulatorAdmin.actions, "calculate_obligations", "close_cycle", "scan_risk"]

    def has_change_permission(self, request, obj=None):
        return self._is_regulator(request) and _national(request) and (obj is None or obj.status == "open")

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in ComplianceCycle._meta.fields if f.name not in services.CYCLE_EDITABLE]

    def save_model(self, request, obj, form, change):
        try:
            changed = {k: form.cleaned_data[k] for k in form.changed_data if k in services.CYCLE_EDITABLE}
            services.cycle_update(actor=request.user, cycle=obj, **changed)
        except DomainError as exc:
            self.message_user(request, str(exc.message), messages.ERROR)

    @admin.display(description=_("closing"))
    def closing_progress(self, cycle):
        job = cycle.closing_job
        if job is None:
            return "-"
        if job.status == job.Status.FAILED:  # the cycle is open again; say why its close stopped
            return format_html('<a href="/jobs/{}/">{}</a>: {}', job.pk, job.get_status_display(), job.error)
        return format_html('<progress max="100" value="{}"></progress> <a href="/jobs/{}/">{}%</a>', job.percent,
                           job.pk, job.percent)

    @admin.action(description=_("Set obligations from confirmed verified emissions (every year of the cycle)"))
    def calculate_obligations(self, request, queryset):
        def calculate(cycle):
            return [services.obligations_calculate(actor=request.user, cycle=cycle, year=y) for y in cycle.years]

        _each(self, request, queryset, calculate, _("obligations set"))

    @admin.action(description=_("Close the cycle (job with progress)"))
    def close_cycle(self, request, queryset):
        _each(self, request, queryset, lambda c: services.cycle_close(actor=request.user, cycle=c),
              _("closing started"))

    @admin.action(description=_("Run the risk scan now"))
    def scan_risk(self, request, queryset):
        _each(self, request, queryset, lambda c: services.risk_scan(cycle=c), _("risk scanned"))


@admin.register(Obligation)
class ObligationAdmin(RegulatorAdmin):
    list_display = ["entity", "cycle", "year", "verified_emissions_tco2", "relief_tco2", "quantity_tco2",
                    "surrendered_tco2", "offsets_tco2", "on_time_tco2", "shortfall_today", "standing_display"]
    list_filter = ["cycle", "year", "status", "entity__province"]
    search_fields = ["entity__name", "entity__credit_code"]
    list_select_related = ["entity", "cycle"]

    @admin.display(description=_("shortfall"))
    def shortfall_today(self, obj):
        return standing.shortfall_of(obj)
    actions = [*RegulatorAdmin.actions, "penalise_5", "penalise_10"]

    def _penalise(self, request, queryset, multiplier):
        _each(self, request, queryset, lambda o: services.penalty_propose(actor=request.user, obligation=o,
                                                                          multiplier=multiplier),
              _("penalty proposed"))

    @admin.action(description=_("Propose the Art. 24 penalty with multiplier 5"))
    def penalise_5(self, request, queryset):
        self._penalise(request, queryset, Decimal("5"))

    @admin.action(description=_("Propose the Art. 24 penalty with multiplier 10"))
    def penalise_10(self, request, queryset):
        self._penalise(request, queryset, Decimal("10"))


@admin.register(ReliefDecision)
class ReliefDecisionAdmin(RegulatorAdmin):
    entity_path = "obligation__entity"
    list_display = ["obligation", "quantity_tco2", "reason", "status", "proposed_by", "decided_by", "created_at"]
    list_filter = ["status"]
    action_form = StepUpActionForm
    actions = [*RegulatorAdmin.actions, "approve", "reject"]

    @admin.action(description=_("Approve (second regulator)"))
    @step_up_admin_action
    def approve(self, request, queryset):
        _each(self, request, queryset, lambda d: services.relief_decide(actor=request.user, decision=d, approve=True),
              _("approved"))

    @admin.action(description=_("Reject"))
    @step_up_admin_action
    def reject(self, request, queryset):
        _each(self, request, queryset, lambda d: services.relief_decide(actor=request.user, decision=d, approve=False),
              _("rejected"))


@admin.register(FalsificationPenalty)
class FalsificationPenaltyAdmin(RegulatorAdmin):
    entity_path = "obligation__entity"
    list_display = ["obligation", "finding", "fine", "cut_pct", "status", "proposed_by", "decided_by"]
    list_filter = ["status"]


@admin.register(Penalty)
class PenaltyAdmin(RegulatorAdmin):
    entity_path = "obligation__entity"
    list_display = ["obligation", "shortfall_tco2", "price_month", "average_price", "multiplier", "amount", "status",
                    "proposed_by", "decided_by", "deduction_transaction_id"]
    list_filter = ["status"]
    action_form = StepUpActionForm
    actions = [*RegulatorAdmin.actions, "decide", "propose_deduction"]

    @admin.action(description=_("Decide (second regulator)"))
    @step_up_admin_action
    def decide(self, request, queryset):
        _each(self, request, queryset, lambda p: services.penalty_decide(actor=request.user, penalty=p), _("decided"))

    @admin.action(description=_("Propose deducting the shortfall from the next allocation (registry four-eyes)"))
    def propose_deduction(self, request, queryset):
        _each(self, request, queryset, lambda p: services.penalty_deduction_propose(actor=request.user, penalty=p),
              _("deduction proposed"))


@admin.register(RiskSnapshot)
class RiskSnapshotAdmin(RegulatorAdmin):
    list_display = ["on_date", "entity", "cycle", "expected_tco2", "basis", "holdings_tco2",
                    "pending_allocation_tco2", "gap_tco2", "gap_change_tco2", "days_left", "level"]
    list_filter = ["cycle", "level", "on_date", "entity__province"]
    list_select_related = ["entity", "cycle"]


@admin.register(RiskWarning)
class RiskWarningAdmin(RegulatorAdmin):
    list_display = ["created_at", "entity", "cycle", "horizon_days", "level", "gap_tco2", "message"]
    list_filter = ["cycle", "horizon_days", "level"]


@admin.register(Certificate)
class CertificateAdmin(RegulatorAdmin):
    entity_path = "obligation__entity"
    list_display = ["code", "obligation", "issued_at"]
    search_fields = ["code"]


from . import carryover_admin  # noqa: E402, F401  (registers the carry-over admin)
