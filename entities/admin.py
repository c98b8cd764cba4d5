from django import forms
from django.contrib import admin, messages
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.translation import gettext_lazy as _

from cets.common.errors import DomainError
from cets.common.stepup import StepUpActionForm, step_up_admin_action

from . import services, two_factor
from .admin_scoping import RegulatorAdmin, RegulatorReadOnlyInline
from .facilities import attributes_text
from .models import (
    Accreditation,
    AgencyAssignment,
    City,
    ConsultingEngagement,
    KeyEntity,
    Organisation,
    Province,
    Sector,
    SectorListing,
    Unit,
    User,
)
from .selectors import can_manage_entity, scope_by_entity


class UnitInline(RegulatorReadOnlyInline):
    model = Unit
    fields = ["code", "name", "sector", "attributes", "rated_power_mw", "main_fuel", "is_cfb", "cooling", "is_chp",
              "category", "status"]

    @admin.display(description=_("ETS category"))
    def category(self, unit):
        result = unit.category_for()
        return f"{result.category or '-'} ({result.reason})"


@admin.register(KeyEntity)
class KeyEntityAdmin(RegulatorAdmin):
    entity_path = ""
    list_display = ["credit_code", "name", "province", "city", "sector", "inclusion_year", "status"]
    list_filter = ["province", "sector", "status", "inclusion_year"]
    search_fields = ["name", "name_en", "credit_code"]
    inlines = [UnitInline]

    def has_add_permission(self, request):
        return request.user.role in (User.Role.NATIONAL_REGULATOR, User.Role.PROVINCIAL_REGULATOR)

    def has_change_permission(self, request, obj=None):
        return self.has_add_permission(request)

    def save_model(self, request, obj, form, change):
        fields = {f: form.cleaned_data[f] for f in form.changed_data}
        try:
            if change:
                services.entity_update(actor=request.user, entity=KeyEntity.objects.get(pk=obj.pk), **fields)
            else:
                obj.pk = services.entity_create(actor=request.user, **form.cleaned_data).pk
        except DomainError as exc:
            self.message_user(request, str(exc.message), messages.ERROR)


class UnitAdminForm(forms.ModelForm):
    """A facility's form: the sector's attribute problems (``attributes.clinker_type``) are shown on the
    attributes field, named by their path, instead of breaking the form."""

    class Meta:
        model = Unit
        fields = ["entity", "sector", "code", "name", "attributes", "rated_power_mw", "main_fuel", "coal_type",
                  "is_cfb", "cooling", "is_chp", "technology", "biomass_share", "other_fuel_share",
                  "commissioning_date", "status"]

    def _update_errors(self, errors):
        if hasattr(errors, "error_dict"):
            remapped: dict[str, list] = {}
            for field, problems in errors.error_dict.items():
                head = field.split(".")[0]
                target = head if head in self.fields else NON_FIELD_ERRORS
                for problem in problems:
                    message = " ".join(problem.messages)
                    remapped.setdefault(target, []).append(message if field == target else f"{field}: {message}")
            errors = ValidationError(remapped)
        super()._update_errors(errors)


@admin.register(Unit)
class UnitAdmin(RegulatorAdmin):
    """Facilities of every sector; the national regulator and the entity's province register and change them
    through ``services.unit_create`` / ``unit_update`` (the sector's attributes checked by ``facilities``)."""

    form = UnitAdminForm
    list_display = ["code", "name", "entity", "rated_power_mw", "main_fuel", "cooling", "is_chp", "category", "status",
                    "sector", "attributes_shown"]
    list_filter = ["sector", "main_fuel", "status", "is_chp", "entity__province"]
    search_fields = ["code", "name", "entity__name", "entity__credit_code"]
    list_select_related = ["entity", "sector"]

    @admin.display(description=_("ETS category"))
    def category(self, unit):
        result = unit.category_for()
        return f"{result.category or '-'}: {result.reason}"

    @admin.display(description=_("sector attributes"))
    def attributes_shown(self, unit):
        return attributes_text(unit.attributes) or "-"

    def has_add_permission(self, request):
        return request.user.role in (User.Role.NATIONAL_REGULATOR, User.Role.PROVINCIAL_REGULATOR)

    def has_change_permission(self, request, obj=None):
        if obj is not None and not can_manage_entity(request.user, obj.entity):
            return False
        return self.has_add_permission(request)

    def get_readonly_fields(self, request, obj=None):
        return ["entity"] if obj is not None else []

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "entity":  # a province registers facilities of its own entities only
            kwargs["queryset"] = scope_by_entity(KeyEntity.objects.all(), request.user, path="")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        fields = {f: form.cleaned_data[f] for f in (form.changed_data if change else form.cleaned_data)}
        try:
            if change:
                services.unit_update(actor=request.user, unit=Unit.objects.get(pk=obj.pk), **fields)
            else:
                entity = fields.pop("entity")
                obj.pk = services.unit_create(actor=request.user, entity=entity, **fields).pk
        except DomainError as exc:
            self.message_user(request, str(exc.message), messages.ERROR)


@admin.register(Province)
class ProvinceAdmin(RegulatorAdmin):
    entity_path = None
    list_display = ["code", "name", "name_en"]


@admin.register(Sector)
class SectorAdmin(RegulatorAdmin):
    """Sectors are data the national regulator keeps (gases, monthly parameters, thresholds)."""

    entity_path = None
    list_display = ["code", "name", "name_en", "facility_label", "allocation_method", "inclusion_threshold_tco2",
                    "first_year", "confidence", "is_active"]

    def has_change_permission(self, request, obj=None):
        return request.user.role == User.Role.NATIONAL_REGULATOR


@admin.register(SectorListing)
class SectorListingAdmin(RegulatorAdmin):
    """Lists per year and sector (built from verified data by mrv's sector-list admin action); the national
    regulator corrects a row with a reason (``services.sector_listing_update``), a province sees its own."""

    list_display = ["year", "sector", "entity", "province", "status", "emissions_tco2", "reason"]
    list_filter = ["year", "sector", "status", "entity__province"]
    search_fields = ["entity__name", "entity__credit_code"]
    list_select_related = ["entity__province", "sector"]
    fields = ["year", "sector", "entity", "emissions_tco2", "status", "reason"]
    readonly_fields = ["year", "sector", "entity", "emissions_tco2"]

    @admin.display(description=_("province"))
    def province(self, listing):
        return listing.entity.province

    def has_change_permission(self, request, obj=None):
        return request.user.role == User.Role.NATIONAL_REGULATOR

    def save_model(self, request, obj, form, change):
        try:
            services.sector_listing_update(actor=request.user, listing=obj, status=form.cleaned_data["status"],
                                           reason=form.cleaned_data["reason"])
        except DomainError as exc:
            self.message_user(request, str(exc.message), messages.ERROR)


@admin.register(City)
class CityAdmin(RegulatorAdmin):
    entity_path = None
    list_display = ["code", "name", "name_en", "province"]
    list_filter = ["province"]


class AccreditationInline(RegulatorReadOnlyInline):
    """What an agency or body is accredited for, and until when."""

    model = Accreditation
    fields = ["scope", "number", "valid_from", "valid_to"]


@admin.register(Organisation)
class OrganisationAdmin(RegulatorAdmin):
    entity_path = None
    inlines = [AccreditationInline]
    list_display = ["name", "credit_code", "kind", "province", "is_active"]
    list_filter = ["kind", "province", "is_active"]
    search_fields = ["name", "credit_code"]


@admin.register(AgencyAssignment)
class AgencyAssignmentAdmin(RegulatorAdmin):
    list_display = ["year", "entity", "agency", "assigned_by", "assigned_at"]
    list_filter = ["year", "entity__province"]
    search_fields = ["entity__name", "agency__name"]


@admin.register(ConsultingEngagement)
class ConsultingEngagementAdmin(RegulatorAdmin):
    """Who helped which entity prepare its report: a province records them here (through the service)."""

    list_display = ["year", "entity", "organisation", "registered_by", "registered_at"]
    list_filter = ["year", "entity__province"]
    search_fields = ["entity__name", "organisation__name"]
    fields = ["year", "entity", "organisation"]

    def has_add_permission(self, request):
        return request.user.role in (User.Role.NATIONAL_REGULATOR, User.Role.PROVINCIAL_REGULATOR)

    def save_model(self, request, obj, form, change):
        try:
            obj.pk = services.consulting_register(actor=request.user, entity=form.cleaned_data["entity"],
                                                  organisation=form.cleaned_data["organisation"],
                                                  year=form.cleaned_data["year"]).pk
        except DomainError as exc:
            self.message_user(request, str(exc.message), messages.ERROR)


@admin.register(User)
class UserAdmin(RegulatorAdmin):
    entity_path = None
    list_display = ["username", "role", "province", "city", "entity", "organisation", "is_active"]
    list_filter = ["role", "province", "is_active"]
    search_fields = ["username", "email"]
    action_form = StepUpActionForm
    actions = [*RegulatorAdmin.actions, "issue_enrolment_code", "revoke_api_token"]

    @admin.action(description=_("Revoke the API token"))
    @step_up_admin_action
    def revoke_api_token(self, request, queryset):
        revoked = [str(user) for user in queryset if two_factor.api_token_revoke(actor=request.user, user=user)]
        self.message_user(request, _("API tokens revoked: %(users)s.") % {"users": ", ".join(revoked) or "-"},
                          messages.SUCCESS)

    @admin.action(description=_("Issue an authenticator enrolment code (shown once)"))
    @step_up_admin_action
    def issue_enrolment_code(self, request, queryset):
        """Each selected user gets a one-time code to enrol or replace their authenticator; hand it over in person
        or by a second channel, never with the password."""
        for user in queryset:
            try:
                code = two_factor.enrolment_code_issue(actor=request.user, user=user)
            except DomainError as exc:
                self.message_user(request, f"{user}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, _("%(user)s: enrolment code %(code)s, valid for %(hours)d hours, once.")
                                  % {"user": user, "code": code, "hours": two_factor.ENROLMENT_CODE_HOURS},
                                  messages.SUCCESS)

    def has_module_permission(self, request):
        return request.user.is_superuser or getattr(request.user, "role", None) == User.Role.NATIONAL_REGULATOR

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)
