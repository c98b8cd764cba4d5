from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MrvConfig(AppConfig):
    name = "mrv"
    verbose_name = _("Monitoring, reporting and verification")

    def ready(self):
        from . import jobs  # noqa: F401  (registers the job handlers)
