from django.urls import path

from cets.common.routers import ApiRouter

from . import views

router = ApiRouter()
router.register("products", views.ProductViewSet, basename="trading-product")
router.register("orders", views.OrderViewSet, basename="trading-order")
router.register("trades", views.TradeViewSet, basename="trading-trade")
router.register("bulk-proposals", views.BulkViewSet, basename="trading-bulk")
router.register("auctions", views.AuctionViewSet, basename="trading-auction")
router.register("alerts", views.AlertViewSet, basename="trading-alert")

urlpatterns = [
    path("cash/", views.CashView.as_view(), name="trading-cash"),
    path("cash/statement/", views.StatementView.as_view(), name="trading-statement"),
    path("cash/deposits/", views.CashMovementView.as_view(kind="deposit"), name="trading-deposit"),
    path("cash/withdrawals/", views.CashMovementView.as_view(kind="withdrawal"), name="trading-withdrawal"),
    path("products/<str:code>/large-holders/", views.LargeHoldersView.as_view(), name="trading-large-holders"),
    *router.urls,
]
