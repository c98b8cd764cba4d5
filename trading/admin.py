"""Regulators' trading admin: products and rules (editable by the national regulator), the market's
records (read-only), and the surveillance queue with its evidence (escalate / dismiss actions)."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from cets.common.errors import DomainError
from entities.admin_scoping import RegulatorAdmin

from . import models, services


class NationalEditable(RegulatorAdmin):
    """Rules as data: the national regulator corrects them here; every change is in the admin history."""

    entity_path = None

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser or getattr(request.user, "role", None) == "national_regulator"


class ParticipantRuleInline(admin.TabularInline):
    model = models.ParticipantRule
    extra = 0

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser or getattr(request.user, "role", None) == "national_regulator"

    has_add_permission = has_change_permission


@admin.register(models.Product)
class ProductAdmin(NationalEditable):
    list_display = ["code", "vintage", "previous_close", "tick", "bulk_min_quantity", "listed_band_pct",
                    "bulk_band_pct", "fee_rate", "is_active"]
    inlines = [ParticipantRuleInline]


@admin.register(models.Participant)
class ParticipantAdmin(RegulatorAdmin):
    entity_path = "entity"
    list_display = ["name", "kind", "related_group", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name"]


@admin.register(models.TradingAccount)
class TradingAccountAdmin(RegulatorAdmin):
    entity_path = "participant__entity"
    list_display = ["number", "participant", "registry_account", "is_active"]
    search_fields = ["number", "participant__name"]


@admin.register(models.CashAccount)
class CashAccountAdmin(RegulatorAdmin):
    entity_path = "account__participant__entity"
    list_display = ["account", "kind", "available", "frozen"]


@admin.register(models.Order)
class OrderAdmin(RegulatorAdmin):
    entity_path = "account__participant__entity"
    list_display = ["id", "product", "account", "side", "price", "quantity", "open_quantity", "status", "created_at"]
    list_filter = ["product", "side", "status"]


@admin.register(models.Trade)
class TradeAdmin(RegulatorAdmin):
    entity_path = None
    list_display = ["id", "product", "method", "buyer", "seller", "price", "quantity", "value", "executed_at"]
    list_filter = ["product", "method", "trade_date"]


@admin.register(models.BulkProposal)
class BulkProposalAdmin(RegulatorAdmin):
    entity_path = None
    list_display = ["id", "product", "initiator", "counterparty", "side", "price", "quantity", "status"]
    list_filter = ["status"]


@admin.register(models.Auction)
class AuctionAdmin(RegulatorAdmin):
    entity_path = None
    list_display = ["id", "product", "seller", "quantity", "reserve_price", "pricing", "closes_at", "status",
                    "sold_quantity", "clearing_price"]


@admin.register(models.DailyBar)
class DailyBarAdmin(RegulatorAdmin):
    entity_path = None
    list_display = ["product", "date", "open", "high", "low", "close", "listed_volume", "bulk_volume",
                    "auction_volume"]
    list_filter = ["product"]


@admin.register(models.Alert)
class AlertAdmin(RegulatorAdmin):
    """The surveillance queue: each alert with its evidence; regulators escalate or dismiss."""

    entity_path = "account__participant__entity"
    list_display = ["id", "kind", "product", "account", "trade_date", "status", "summary"]
    list_filter = ["kind", "status", "product"]
    readonly_fields = ["kind", "product", "account", "trade_date", "status", "summary", "evidence", "created_at",
                       "reviewed_by", "review_note"]
    actions = [*RegulatorAdmin.actions, "escalate", "dismiss"]

    def _review(self, request, queryset, status):
        done = 0
        for alert in queryset:
            try:
                services.alert_review(actor=request.user, alert=alert, status=status)
            except DomainError as exc:
                messages.error(request, str(exc.message))
                return
            done += 1
        messages.success(request, _("%(n)s alert(s) updated.") % {"n": done})

    @admin.action(description=_("Escalate selected alerts"))
    def escalate(self, request, queryset):
        self._review(request, queryset, models.Alert.Status.ESCALATED)

    @admin.action(description=_("Dismiss selected alerts"))
    def dismiss(self, request, queryset):
        self._review(request, queryset, models.Alert.Status.DISMISSED)
