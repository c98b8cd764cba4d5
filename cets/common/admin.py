"""Regulator admin for platform tables: jobs (read-only, live progress), the calendar, the audit trail,
the Celery beat schedules.

Access is decided by role, as in ``entities.admin_scoping``: every regulator may watch jobs they may
see, only the national regulator reads the audit trail, amends the calendar (through a service,
so the amendment is itself audited) and changes when periodic tasks run (audited too).
"""

from django.contrib import admin, messages
from django.db import transaction
from django.forms.models import model_to_dict
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django_celery_beat import admin as beat_admin
from django_celery_beat.models import CrontabSchedule, PeriodicTask
from django_otp.admin import OTPAdminAuthenticationForm, OTPAdminSite

from .audit import audit_record
from .errors import DomainError
from .export import ExportMixin
from .forms import LoginThrottleMixin, single_totp_device
from .jobs import job_retry
from .models import AuditEntry, CalendarDay, Job
from .selectors import jobs_visible_to
from .services import calendar_day_amend
from .stepup import step_up_record

REGULATOR_ROLES = {"national_regulator", "provincial_regulator", "municipal_regulator"}


def _is_regulator(request) -> bool:
    user = request.user
    return user.is_superuser or bool(user.is_active and user.is_staff and getattr(user, "role", None)
                                     in REGULATOR_ROLES)


def _is_national(request) -> bool:
    user = request.user
    return user.is_superuser or bool(user.is_active and user.is_staff
                                     and getattr(user, "role", None) == "national_regulator")


class AdminLoginForm(LoginThrottleMixin, OTPAdminAuthenticationForm):
    """Password and TOTP code in one step: a regulator with one authenticator need not pick it first.

    Repeated failures (password or code) lock the username out for a while, as at the portal.

    django-otp asks for the device explicitly (so a wrong code is not charged to every device); with a
    single confirmed TOTP device there is nothing to choose, so it is taken as chosen.
    """

    def _chosen_device(self, user):
        return super()._chosen_device(user) or single_totp_device(user)


class StepUpOTPAdminSite(OTPAdminSite):
    """/admin/ with password and TOTP code; the code given at log-in also counts as a fresh step-up."""

    def login(self, request, extra_context=None):
        response = super().login(request, extra_context)
        if request.method == "POST" and getattr(request.user, "otp_device", None) is not None:
            step_up_record(request)
        return response


class ReadOnlyAdmin(ExportMixin, admin.ModelAdmin):
    list_per_page = 50

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "status", "progress", "message", "error", "attempts", "heartbeat_at", "created_by",
                    "created_at", "finished_at"]
    list_filter = ["status", "kind"]
    search_fields = ["kind", "message", "error"]
    list_select_related = ["created_by"]
    readonly_fields = ["kind", "status", "progress", "done", "total", "message", "error", "attempts", "max_attempts",
                       "heartbeat_at", "params", "result", "created_by", "created_at", "started_at", "finished_at"]
    fields = readonly_fields
    actions = [*ExportMixin.actions, "retry"]

    @admin.action(description=_("Start again the selected jobs whose worker stopped responding or that failed"))
    def retry(self, request, queryset):
        for job in queryset:
            try:
                job_retry(actor=request.user, job=job)
            except DomainError as exc:
                self.message_user(request, f"#{job.pk}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, _("Job #%(id)s was sent to a worker again.") % {"id": job.pk})

    def get_queryset(self, request):
        return jobs_visible_to(request.user).select_related("created_by")

    def has_module_permission(self, request):
        return _is_regulator(request)

    def has_view_permission(self, request, obj=None):
        return _is_regulator(request)

    @admin.display(description=_("progress"))
    def progress(self, job):
        """A progress bar linking to the portal page that refreshes it live (htmx)."""
        return format_html('<progress max="100" value="{}">{}%</progress> <a href="{}">{}%</a>',
                           job.percent, job.percent, reverse("job-detail", args=[job.pk]), job.percent)


@admin.register(CalendarDay)
class CalendarDayAdmin(ExportMixin, admin.ModelAdmin):
    list_display = ["date", "is_working_day", "is_trading_day", "holiday_name", "source"]
    list_filter = ["source", "is_working_day", "is_trading_day"]
    date_hierarchy = "date"
    search_fields = ["holiday_name"]
    fields = ["date", "is_working_day", "is_trading_day", "holiday_name", "source"]
    readonly_fields = ["source"]
    list_per_page = 62

    def has_module_permission(self, request):
        return _is_regulator(request)

    def has_view_permission(self, request, obj=None):
        return _is_regulator(request)

    def has_add_permission(self, request):
        return _is_national(request)

    def has_change_permission(self, request, obj=None):
        return _is_national(request)

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        return ["date", "source"] if obj else ["source"]

    def save_model(self, request, obj, form, change):
        try:
            saved = calendar_day_amend(actor=request.user, date=obj.date, is_working_day=obj.is_working_day,
                                       is_trading_day=obj.is_trading_day, holiday_name=obj.holiday_name)
        except DomainError as exc:
            self.message_user(request, str(exc.message), messages.ERROR)
            return
        obj.source = saved.source


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["id", "seq", "created_at", "actor_label", "action", "object_type", "object_id"]
    list_filter = ["action", "object_type"]
    search_fields = ["actor_label", "action", "object_type", "object_id"]
    date_hierarchy = "created_at"
    readonly_fields = ["created_at", "actor", "actor_label", "action", "object_type", "object_id", "before", "after",
                       "seq", "prev_hash", "entry_hash"]
    fields = readonly_fields

    def has_module_permission(self, request):
        return _is_national(request)

    def has_view_permission(self, request, obj=None):
        return _is_national(request)


def _schedule_snapshot(obj) -> dict:
    return {k: v for k, v in model_to_dict(obj).items() if k not in ("id", "last_run_at", "total_run_count")}


class NationalScheduleAdmin:
    """Mixin for django-celery-beat's admin pages: periodic tasks run for the whole market (reminders,
    deadlines, market data), so only the national regulator sees and changes them; provincial and
    municipal regulators do not see them at all. Nothing is deleted here (a task is disabled instead),
    and every save is audited with its before and after."""

    audit_name = ""

    def has_module_permission(self, request):
        return _is_national(request)

    def has_view_permission(self, request, obj=None):
        return _is_national(request)

    def has_change_permission(self, request, obj=None):
        return _is_national(request)

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            before = _schedule_snapshot(type(obj).objects.get(pk=obj.pk)) if change else None
            super().save_model(request, obj, form, change)
            audit_record(actor=request.user, action=f"{self.audit_name}.{'change' if change else 'create'}",
                         obj=obj, before=before, after=_schedule_snapshot(obj))


admin.site.unregister(PeriodicTask)
admin.site.unregister(CrontabSchedule)


@admin.register(PeriodicTask)
class PeriodicTaskAdmin(NationalScheduleAdmin, beat_admin.PeriodicTaskAdmin):
    audit_name = "beat.periodic_task"
    # django-celery-beat's form template adds an inline script, which the CSP blocks: the plain form shows
    # the crontab in words as a read-only field instead.
    change_form_template = "admin/change_form.html"

    @admin.display(description=_("crontab in words"))
    def crontab_translation(self, obj):
        return obj.crontab.human_readable if obj.crontab_id else "—"

    def _audited_bulk(self, request, queryset, run, action: str):
        """django-celery-beat's bulk actions update rows directly; record each task's switch."""
        with transaction.atomic():
            before = dict(queryset.values_list("pk", "enabled"))
            run(request, queryset)
            for task in PeriodicTask.objects.filter(pk__in=before).order_by("pk"):
                audit_record(actor=request.user, action=f"{self.audit_name}.{action}", obj=task,
                             before={"enabled": before[task.pk]}, after={"enabled": task.enabled})

    @admin.action(description=beat_admin.PeriodicTaskAdmin.enable_tasks.short_description)
    def enable_tasks(self, request, queryset):
        self._audited_bulk(request, queryset, super().enable_tasks, "enable")

    @admin.action(description=beat_admin.PeriodicTaskAdmin.disable_tasks.short_description)
    def disable_tasks(self, request, queryset):
        self._audited_bulk(request, queryset, super().disable_tasks, "disable")

    @admin.action(description=beat_admin.PeriodicTaskAdmin.toggle_tasks.short_description)
    def toggle_tasks(self, request, queryset):
        self._audited_bulk(request, queryset, super().toggle_tasks, "toggle")

    @admin.action(description=beat_admin.PeriodicTaskAdmin.run_tasks.short_description)
    def run_tasks(self, request, queryset):
        with transaction.atomic():
            for task in queryset.order_by("pk"):
                audit_record(actor=request.user, action=f"{self.audit_name}.run", obj=task, after={"task": task.task})
        super().run_tasks(request, queryset)


class PeriodicTaskInline(beat_admin.PeriodicTaskInline):
    """The tasks a schedule drives, read-only, shown by role like the pages above."""

    def has_view_permission(self, request, obj=None):
        return _is_national(request)


@admin.register(CrontabSchedule)
class CrontabScheduleAdmin(NationalScheduleAdmin, beat_admin.CrontabScheduleAdmin):
    """The national regulator may also add a crontab: a task moved to a new time needs one."""

    audit_name = "beat.crontab"
    inlines = [PeriodicTaskInline]

    def has_add_permission(self, request, obj=None):
        return _is_national(request)
