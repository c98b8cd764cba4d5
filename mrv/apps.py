from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MrvConfig(AppConfig):
    name = "mrv"
    verbose_name = _("Monitoring, reporting and verification")

    def ready(self):
        from cets.common.retention import retain

        from . import jobs  # noqa: F401  (registers the job handlers)
        from .models import (
            AnnualReport,
            EarlyWarning,
            FuelRecord,
            MonthlySubmission,
            QualityControlPlan,
            SupportingFile,
            TestReport,
            Verification,
        )

        # MRV records are kept 5 years (DOMAIN.md section 5).
        for model, kept_from in ((MonthlySubmission, "submitted_at"), (FuelRecord, "submission.submitted_at"),
                                 (SupportingFile, "uploaded_at"), (TestReport, "created_at"),
                                 (AnnualReport, "submitted_at"), (Verification, "submitted_at"),
                                 (QualityControlPlan, "submitted_at"), (EarlyWarning, "created_at")):
            retain(model, 5, kept_from)
