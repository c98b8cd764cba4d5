"""The base of every regulator admin page: rows scoped to the regulator's jurisdiction.

Django's model permissions say nothing about provinces, so admin access is decided here by role
and jurisdiction (the same selectors as the API), and every write goes through a service.
"""

from django.contrib import admin

from cets.common.export import ExportMixin

from .selectors import scope_by_entity


class RegulatorAdmin(ExportMixin, admin.ModelAdmin):
    """Read-mostly admin for regulators. ``entity_path`` says how a row reaches its entity."""

    entity_path: str | None = "entity"
    writable_by_national = False
    list_per_page = 50

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if self.entity_path is None:
            return qs
        return scope_by_entity(qs, request.user, self.entity_path)

    def _is_regulator(self, request) -> bool:
        user = request.user
        return bool(user.is_active and user.is_staff and getattr(user, "is_regulator", False)) or user.is_superuser

    def has_module_permission(self, request):
        return self._is_regulator(request)

    def has_view_permission(self, request, obj=None):
        return self._is_regulator(request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class RegulatorReadOnlyInline(admin.TabularInline):
    """A read-only inline regulators see by role (Django's per-model view permissions are not used)."""

    extra = 0
    can_delete = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_view_permission(self, request, obj=None):
        user = request.user
        return bool(user.is_active and user.is_staff and getattr(user, "is_regulator", False)) or user.is_superuser

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
