from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VoluntaryConfig(AppConfig):
    name = "voluntary"
    verbose_name = _("Voluntary market (CCER)")

    def ready(self):
        from cets.common.retention import retain

        from .models import CreditUse, Document, Issuance, MonitoringReport, Project

        # CCER records are kept 10 years (DOMAIN.md section 7).
        for model, kept_from in ((Project, "created_at"), (Document, "uploaded_at"), (Issuance, "issued_on"),
                                 (MonitoringReport, "created_at"), (CreditUse, "created_at")):
            retain(model, 10, kept_from)
