"""The registry reviewers' admin: registration queues with deadlines, decisions as actions calling services.

Every regulator may look (read-only); deciding (register, reject with reasons, cancel) and editing a
methodology's data are the national regulator's, through the same services as the API.
"""

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from cets.common.errors import DomainError
from cets.common.stepup import StepUpActionForm, step_up_admin_action
from entities.admin_scoping import RegulatorAdmin

from . import clock, selectors, services
from .models import Comment, CreditUse, Document, Issuance, Methodology, MonitoringReport, OffsetRule, Project


class ReasonActionForm(StepUpActionForm):
    reason = forms.CharField(label=_("Reason (reject / cancel)"), required=False, max_length=2000)


def _run_each(modeladmin, request, queryset, fn, done_message):
    done = 0
    for obj in queryset:
        try:
            fn(obj)
            done += 1
        except DomainError as exc:
            modeladmin.message_user(request, f"{obj}: {exc.message}", messages.ERROR)
    if done:
        modeladmin.message_user(request, done_message % {"n": done}, messages.SUCCESS)


class VoluntaryAdmin(RegulatorAdmin):
    entity_path = None


@admin.register(Methodology)
class MethodologyAdmin(VoluntaryAdmin):
    list_display = ["code", "title", "title_en", "sector_code", "calculation", "crediting_years_min",
                    "crediting_years_max", "confidence", "is_active"]
    search_fields = ["code", "title", "title_en"]
    fields = ["code", "version", "title", "title_en", "sector_code", "sector", "calculation", "capacity_unit",
              "project_fields", "applicability", "applicability_text", "crediting_years_min", "crediting_years_max",
              "parameters", "formula", "confidence", "published_on", "note", "is_active"]

    def has_change_permission(self, request, obj=None):
        return selectors.is_reviewer(request.user)

    def save_model(self, request, obj, form, change):
        try:
            services.methodology_save(actor=request.user, methodology=obj, changed=form.changed_data)
        except DomainError as exc:
            self.message_user(request, str(exc.message), messages.ERROR)


@admin.register(OffsetRule)
class OffsetRuleAdmin(VoluntaryAdmin):
    list_display = ["first_compliance_year", "registered_after", "confidence", "source"]


class DocumentInline(admin.TabularInline):
    model = Document
    extra = 0
    fields = ["kind", "name", "size", "sha256", "report", "uploaded_at"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class CommentInline(admin.TabularInline):
    model = Comment
    extra = 0
    fields = ["author_name", "author_email", "text", "report", "created_at"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Project)
class ProjectAdmin(VoluntaryAdmin):
    list_display = ["ref", "registration_number", "title", "owner", "methodology", "state", "applied_on",
                    "decision_due", "overdue"]
    list_filter = ["state", "methodology", "province"]
    search_fields = ["ref", "registration_number", "title", "site", "owner__name"]
    list_select_related = ["owner", "methodology"]
    readonly_fields = [f.name for f in Project._meta.fields]
    inlines = [DocumentInline, CommentInline]
    action_form = ReasonActionForm
    actions = [*VoluntaryAdmin.actions, "register", "reject", "cancel"]

    @admin.display(description=_("overdue"), boolean=True)
    def overdue(self, project):
        return bool(project.state == Project.State.APPLIED and project.decision_due < clock.today())

    @admin.action(description=_("Register the selected applications"))
    def register(self, request, queryset):
        _run_each(self, request, queryset, lambda p: services.project_register(actor=request.user, project=p),
                  _("%(n)s project(s) registered."))

    @admin.action(description=_("Reject the selected applications (give the reason)"))
    def reject(self, request, queryset):
        reason = request.POST.get("reason", "")
        _run_each(self, request, queryset,
                  lambda p: services.project_reject(actor=request.user, project=p, reason=reason),
                  _("%(n)s project(s) rejected."))

    @admin.action(description=_("Cancel the selected registered projects (final; give the reason)"))
    def cancel(self, request, queryset):
        reason = request.POST.get("reason", "")
        _run_each(self, request, queryset,
                  lambda p: services.project_cancel(actor=request.user, project=p, reason=reason),
                  _("%(n)s project(s) cancelled."))


@admin.register(MonitoringReport)
class MonitoringReportAdmin(VoluntaryAdmin):
    list_display = ["project", "period_start", "period_end", "verifier", "claimed_reductions", "verified_reductions",
                    "state", "applied_on", "decision_due"]
    list_filter = ["state"]
    search_fields = ["project__ref", "project__title"]
    list_select_related = ["project", "verifier"]
    readonly_fields = [f.name for f in MonitoringReport._meta.fields]
    action_form = ReasonActionForm
    actions = [*VoluntaryAdmin.actions, "register", "reject"]

    @admin.action(description=_("Register and issue the selected reductions"))
    @step_up_admin_action
    def register(self, request, queryset):
        _run_each(self, request, queryset, lambda r: services.report_register(actor=request.user, report=r),
                  _("%(n)s report(s) registered and issued."))

    @admin.action(description=_("Reject the selected reductions (give the reason)"))
    def reject(self, request, queryset):
        reason = request.POST.get("reason", "")
        _run_each(self, request, queryset, lambda r: services.report_reject(actor=request.user, report=r,
                                                                             reason=reason),
                  _("%(n)s report(s) rejected."))


@admin.register(Issuance)
class IssuanceAdmin(VoluntaryAdmin):
    list_display = ["instrument_code", "project", "vintage", "quantity", "serial_start", "serial_end", "issued_on"]
    list_filter = ["vintage"]
    search_fields = ["instrument_code", "project__ref"]
    list_select_related = ["project"]


@admin.register(CreditUse)
class CreditUseAdmin(VoluntaryAdmin):
    list_display = ["code", "kind", "purpose", "beneficiary", "entity", "compliance_year", "instrument_code",
                    "quantity", "used_on"]
    list_filter = ["kind", "purpose", "compliance_year"]
    search_fields = ["code", "beneficiary", "instrument_code"]
    list_select_related = ["entity"]
