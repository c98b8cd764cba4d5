from django.urls import path

from cets.common.routers import ApiRouter

from . import carryover, views

router = ApiRouter()
router.register("cycles", views.CycleViewSet, basename="compliance-cycle")
router.register("obligations", views.ObligationViewSet, basename="compliance-obligation")
router.register("warnings", views.WarningViewSet, basename="compliance-warning")
router.register("reliefs", views.ReliefViewSet, basename="compliance-relief")
router.register("penalties", views.PenaltyViewSet, basename="compliance-penalty")
router.register("carry-over-schemes", carryover.CarryOverSchemeViewSet, basename="compliance-carry-over-scheme")
router.register("carry-over-notices", carryover.CarryOverNoticeViewSet, basename="compliance-carry-over-notice")
router.register("carry-over-applications", carryover.CarryOverApplicationViewSet,
                basename="compliance-carry-over-application")

urlpatterns = [
    path("cycles/<str:code>/risk/", views.RiskListView.as_view(), name="compliance-risk"),
    path("certificates/<str:code>/", views.CertificateVerifyView.as_view(), name="compliance-certificate-verify"),
    *router.urls,
]
