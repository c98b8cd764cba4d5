from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AllowancesConfig(AppConfig):
    name = "allowances"
    verbose_name = _("Allocation")

    def ready(self):
        from . import jobs  # noqa: F401 - registers the job handlers
