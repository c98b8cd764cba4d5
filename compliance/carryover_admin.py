"""Regulator admin of the carry-over (结转): the scheme and its batches as data, notices, applications.

National regulators issue the notices and decide applications batch by batch (filter by batch, select,
act): one proposes (the registry reserves the units and proposes the issuance), another approves or
rejects (four-eyes, with a fresh authenticator code). Every action calls ``compliance.carryover_services``.
"""

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from cets.common.stepup import StepUpActionForm, step_up_admin_action
from entities.admin_scoping import RegulatorAdmin, RegulatorReadOnlyInline

from . import carryover_services as services
from .admin import _each
from .models import CarryOverApplication, CarryOverBatch, CarryOverNotice, CarryOverScheme


class CarryOverBatchInline(RegulatorReadOnlyInline):
    model = CarryOverBatch
    fields = ["number", "receive_until", "decide_by"]


@admin.register(CarryOverScheme)
class CarryOverSchemeAdmin(RegulatorAdmin):
    entity_path = None
    list_display = ["code", "name", "first_vintage", "last_vintage", "target_vintage", "cutoff", "notices_by",
                    "apply_until", "confidence"]
    inlines = [CarryOverBatchInline]
    action_form = StepUpActionForm
    actions = [*RegulatorAdmin.actions, "issue_notices"]

    @admin.action(description=_("Compute every holder's quota and issue the notices"))
    @step_up_admin_action
    def issue_notices(self, request, queryset):
        _each(self, request, queryset, lambda s: services.notices_issue(actor=request.user, scheme=s),
              _("notices issued"))


@admin.register(CarryOverNotice)
class CarryOverNoticeAdmin(RegulatorAdmin):
    list_display = ["entity", "scheme", "net_sales_tco2", "holdings_tco2", "quota_tco2", "notified_at"]
    list_filter = ["scheme", "entity__province"]
    search_fields = ["entity__name", "entity__credit_code"]
    list_select_related = ["entity", "scheme"]


class DecisionActionForm(StepUpActionForm):
    reason = forms.CharField(label=_("Reason (rejections)"), required=False, max_length=500)


@admin.register(CarryOverApplication)
class CarryOverApplicationAdmin(RegulatorAdmin):
    list_display = ["entity", "scheme", "batch", "quantity_tco2", "status", "created_at", "proposed_by",
                    "decided_by", "issue_by"]
    list_filter = ["scheme", "batch__number", "status", "entity__province"]
    search_fields = ["entity__name", "entity__credit_code"]
    list_select_related = ["entity", "scheme", "batch", "proposed_by", "decided_by"]
    action_form = DecisionActionForm
    actions = [*RegulatorAdmin.actions, "propose", "approve", "reject"]

    @admin.action(description=_("Propose for approval (reserve the units, propose the issuance)"))
    @step_up_admin_action
    def propose(self, request, queryset):
        _each(self, request, queryset, lambda a: services.application_propose(actor=request.user, application=a),
              _("proposed"))

    @admin.action(description=_("Approve (second regulator): retire and issue"))
    @step_up_admin_action
    def approve(self, request, queryset):
        _each(self, request, queryset,
              lambda a: services.application_decide(actor=request.user, application=a, approve=True), _("approved"))

    @admin.action(description=_("Reject (give the reason)"))
    @step_up_admin_action
    def reject(self, request, queryset):
        reason = request.POST.get("reason", "")
        _each(self, request, queryset, lambda a: services.application_decide(
            actor=request.user, application=a, approve=False, reason=reason), _("rejected"))
