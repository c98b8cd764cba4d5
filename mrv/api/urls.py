from django.urls import path

from cets.common.routers import ApiRouter

from . import cems, views

router = ApiRouter()
router.register("submissions", views.SubmissionViewSet, basename="mrv-submission")
router.register("uploads", views.UploadViewSet, basename="mrv-upload")
router.register("test-reports", views.TestReportViewSet, basename="mrv-test-report")
router.register("qc-plans", views.QcPlanViewSet, basename="mrv-qc-plan")
router.register("annual-reports", views.AnnualReportViewSet, basename="mrv-annual-report")
router.register("warnings", views.WarningViewSet, basename="mrv-warning")
router.register("verifications", views.VerificationViewSet, basename="mrv-verification")
router.register("reminders", views.ReminderViewSet, basename="mrv-reminder")
router.register("extensions", views.ExtensionViewSet, basename="mrv-extension")
router.register("findings", views.FindingViewSet, basename="mrv-finding")
router.register("assignments", views.AssignmentViewSet, basename="mrv-assignment")
router.register("cems/points", cems.PointViewSet, basename="mrv-cems-point")
router.register("consulting-engagements", views.ConsultingViewSet, basename="mrv-consulting")

urlpatterns = [
    path("calculate/", views.CalculateView.as_view(), name="mrv-calculate"),
    path("agency-ratings/", views.AgencyRatingView.as_view(), name="mrv-agency-rating"),
    path("cems/facilities/<int:unit_id>/month/", cems.FacilityMonthView.as_view(), name="mrv-cems-facility-month"),
    *router.urls,
]
