from django.urls import path

from cets.common.routers import ApiRouter

from . import views

router = ApiRouter()
router.register("methodologies", views.MethodologyViewSet, basename="ccer-methodology")
router.register("organisations", views.VvbViewSet, basename="ccer-organisation")
router.register("projects", views.ProjectViewSet, basename="ccer-project")
router.register("reports", views.ReportViewSet, basename="ccer-report")
router.register("issuances", views.IssuanceViewSet, basename="ccer-issuance")
router.register("uses", views.UseViewSet, basename="ccer-use")

urlpatterns = [
    path("transfers/", views.TransferView.as_view(), name="ccer-transfer"),
    path("retirements/", views.RetireView.as_view(), name="ccer-retire"),
    *router.urls,
]
