from django.urls import path

from cets.common.routers import ApiRouter

from . import views

router = ApiRouter()
router.register("accounts", views.AccountViewSet, basename="registry-account")
router.register("holdings", views.HoldingViewSet, basename="registry-holding")
router.register("transactions", views.TransactionViewSet, basename="registry-transaction")

urlpatterns = [
    path("transfers/", views.TransferView.as_view(), name="registry-transfer"),
    path("issuances/", views.IssuanceView.as_view(), name="registry-issuance"),
    path("public/vintages/", views.VintageTotalsView.as_view(), name="registry-public-vintages"),
    path("public/serials/<str:serial>/", views.SerialTraceView.as_view(), name="registry-public-serial"),
    *router.urls,
]
