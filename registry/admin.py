"""Regulator admin for the registry: read-only tables; every write is an admin action calling a service."""

from django.contrib import admin, messages
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from cets.common.errors import DomainError
from cets.common.stepup import StepUpActionForm, step_up_admin_action
from entities.admin_scoping import RegulatorAdmin, RegulatorReadOnlyInline

from . import selectors, services
from .models import (
    Account,
    AccountRepresentative,
    Block,
    BulkWithdrawalLine,
    Freeze,
    Holding,
    Instrument,
    PendingApproval,
    Reservation,
    SurrenderVintage,
    Transaction,
    TransactionLeg,
    TrustedAccount,
)


def _apply(modeladmin, request, queryset, call) -> None:
    """Run ``call(obj)`` for each selected row; report successes and each refusal with its rule."""
    done = 0
    for obj in queryset:
        try:
            call(obj)
            done += 1
        except DomainError as exc:
            modeladmin.message_user(request, f"{obj}: {exc.message}", messages.ERROR)
    if done:
        modeladmin.message_user(request, _("%(n)d done.") % {"n": done}, messages.SUCCESS)


def _with_comment(modeladmin, request, queryset, title, call):
    """An action that needs a comment: ask for it on an intermediate page, then apply ``call(obj, comment)``."""
    comment = request.POST.get("comment", "").strip()
    if request.POST.get("apply") and comment:
        _apply(modeladmin, request, queryset, lambda obj: call(obj, comment))
        return None
    return render(request, "registry/admin/comment.html", {
        "title": title, "objects": queryset, "action": request.POST.get("action"),
        "opts": modeladmin.model._meta, "missing": bool(request.POST.get("apply")),
    })


class ScopedAccountsAdmin(RegulatorAdmin):
    """Rows reached through an account, scoped by the registry's own rule (national accounts: MEE only)."""

    account_path = "account"
    entity_path = None

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        visible = selectors.accounts_visible_to(request.user).values("pk")
        return qs.filter(**{f"{self.account_path}__in": visible}) if self.account_path else qs.filter(pk__in=visible)


def _status_action(status, label):
    def action(modeladmin, request, queryset):
        return _with_comment(modeladmin, request, queryset, label, lambda account, comment: services.account_set_status(
            actor=request.user, account=account, status=status, comment=comment))

    action.__name__ = f"set_{status}"
    action.short_description = label
    return action


class RepresentativeInline(admin.TabularInline):
    model = AccountRepresentative
    extra = 0
    fields = ["user", "right", "status", "created_at"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class HoldingInline(admin.TabularInline):
    model = Holding
    extra = 0
    fields = ["instrument", "total", "reserved", "frozen"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Account)
class AccountAdmin(ScopedAccountsAdmin):
    account_path = ""
    list_display = ["number", "name", "kind", "status", "province", "entity", "organisation", "opened_at"]
    list_filter = ["kind", "status", "province"]
    search_fields = ["number", "name", "entity__name", "entity__credit_code"]
    list_select_related = ["province", "entity", "organisation"]
    inlines = [HoldingInline, RepresentativeInline]
    actions = [*RegulatorAdmin.actions, "approve_opening", "reject_opening",
               _status_action("open", _("Reopen (open)")),
               _status_action("partially_frozen", _("Partially freeze (may receive, not send)")),
               _status_action("fully_frozen", _("Fully freeze / suspend")),
               _status_action("restricted", _("Restrict to compliance transactions")), "close"]

    @admin.action(description=_("Approve opening"))
    def approve_opening(self, request, queryset):
        _apply(self, request, queryset, lambda a: services.account_approve_opening(actor=request.user, account=a))

    @admin.action(description=_("Reject opening"))
    def reject_opening(self, request, queryset):
        return _with_comment(self, request, queryset, _("Reject opening"), lambda a, c: services.account_reject_opening(
            actor=request.user, account=a, comment=c))

    @admin.action(description=_("Propose closing (only when empty; needs a second regulator)"))
    def close(self, request, queryset):
        return _with_comment(self, request, queryset, _("Propose closing"), lambda a, c: services.account_close_propose(
            actor=request.user, account=a, comment=c))


@admin.register(Instrument)
class InstrumentAdmin(RegulatorAdmin):
    entity_path = None
    list_display = ["code", "kind", "vintage", "project_ref", "serial_prefix", "issued", "issuance_cap"]
    list_filter = ["kind", "vintage"]
    search_fields = ["code", "project_ref"]

    @admin.display(description=_("issued"))
    def issued(self, obj):
        return obj.issued


@admin.register(SurrenderVintage)
class SurrenderVintageAdmin(RegulatorAdmin):
    entity_path = None
    list_display = ["year", "vintage", "confidence", "source"]
    list_filter = ["year"]


@admin.register(Block)
class BlockAdmin(ScopedAccountsAdmin):
    list_display = ["instrument", "account", "serials", "quantity", "state"]
    list_filter = ["instrument"]
    search_fields = ["account__number", "account__name"]
    list_select_related = ["instrument", "account"]

    @admin.display(description=_("serial range"))
    def serials(self, obj):
        return obj.instrument.serial_range(obj.serial_start, obj.serial_end)

    @admin.display(description=_("quantity"))
    def quantity(self, obj):
        return obj.quantity

    @admin.display(description=_("state"))
    def state(self, obj):
        return _("frozen") if obj.freeze_id else _("reserved") if obj.reservation_id else _("available")


@admin.register(Holding)
class HoldingAdmin(ScopedAccountsAdmin):
    list_display = ["account", "instrument", "total", "available", "reserved", "frozen"]
    list_filter = ["instrument", "account__kind"]
    search_fields = ["account__number", "account__name"]
    list_select_related = ["instrument", "account"]

    @admin.display(description=_("available"))
    def available(self, obj):
        return obj.available


class LegInline(admin.TabularInline):
    model = TransactionLeg
    extra = 0
    fields = ["from_account", "to_account", "serial_start", "serial_end", "quantity", "executed_at"]
    readonly_fields = fields
    can_delete = False
    max_num = 0

    def has_add_permission(self, request, obj=None):
        return False


class BulkLineInline(RegulatorReadOnlyInline):
    """A bulk withdrawal's accounts: what was asked of each and what it could give (shown by role)."""

    model = BulkWithdrawalLine
    fields = ["account", "requested", "withdrawn", "note"]


class TransactionAdminBase(RegulatorAdmin):
    entity_path = None
    list_display = ["id", "kind", "status", "instrument", "quantity", "from_account", "to_account", "reference",
                    "proposed_by", "approved_by", "created_at", "executed_at"]
    list_filter = ["kind", "status", "instrument"]
    search_fields = ["reference", "from_account__number", "to_account__number"]
    list_select_related = ["instrument", "from_account", "to_account", "proposed_by", "approved_by"]
    inlines = [LegInline, BulkLineInline]
    action_form = StepUpActionForm
    actions = [*RegulatorAdmin.actions, "approve", "reject", "cancel", "propose_reversal"]

    def get_queryset(self, request):
        return selectors.transactions_visible_to(request.user)

    @admin.action(description=_("Approve and execute (four-eyes)"))
    @step_up_admin_action
    def approve(self, request, queryset):
        _apply(self, request, queryset, lambda tx: services.transaction_approve(actor=request.user, transaction=tx))

    @admin.action(description=_("Reject"))
    def reject(self, request, queryset):
        return _with_comment(self, request, queryset, _("Reject"), lambda tx, c: services.transaction_reject(
            actor=request.user, transaction=tx, reason=c))

    @admin.action(description=_("Cancel (delayed transfer or own proposal)"))
    def cancel(self, request, queryset):
        return _with_comment(self, request, queryset, _("Cancel"), lambda tx, c: services.transaction_cancel(
            actor=request.user, transaction=tx, reason=c))

    @admin.action(description=_("Propose reversal (needs a second regulator)"))
    def propose_reversal(self, request, queryset):
        return _with_comment(self, request, queryset, _("Propose reversal"), lambda tx, c: services.reversal_propose(
            actor=request.user, transaction=tx, reason=c))


@admin.register(Transaction)
class TransactionAdmin(TransactionAdminBase):
    """Every registry transaction (the approval queue is the PendingApproval proxy below)."""


@admin.register(PendingApproval)
class PendingApprovalAdmin(TransactionAdminBase):
    """What this regulator may approve: others' proposals in their jurisdiction."""

    list_display = ["id", "kind", "instrument", "quantity", "from_account", "to_account", "reason", "proposed_by",
                    "created_at"]
    actions = [*RegulatorAdmin.actions, "approve", "reject"]

    def get_queryset(self, request):
        return PendingApproval.objects.filter(pk__in=selectors.approval_queue(request.user).values("pk"))


@admin.register(Reservation)
class ReservationAdmin(ScopedAccountsAdmin):
    list_display = ["id", "account", "instrument", "quantity", "original_quantity", "reference", "status",
                    "created_at"]
    list_filter = ["status", "instrument"]
    list_select_related = ["account", "instrument"]


@admin.register(Freeze)
class FreezeAdmin(ScopedAccountsAdmin):
    list_display = ["id", "account", "instrument", "quantity", "kind", "reason", "status", "created_at"]
    list_filter = ["status", "kind", "instrument"]
    list_select_related = ["account", "instrument"]
    actions = [*RegulatorAdmin.actions, "propose_unfreeze"]

    @admin.action(description=_("Propose unfreeze (needs a second regulator)"))
    def propose_unfreeze(self, request, queryset):
        return _with_comment(self, request, queryset, _("Propose unfreeze"), lambda fr, c: services.unfreeze_propose(
            actor=request.user, freeze=fr, reason=c))


@admin.register(TrustedAccount)
class TrustedAccountAdmin(ScopedAccountsAdmin):
    list_display = ["account", "trusted", "description", "created_at", "active_from"]
    list_select_related = ["account", "trusted"]
