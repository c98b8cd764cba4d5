from django.urls import path

from cets.common.routers import ApiRouter

from . import views

router = ApiRouter()
router.register("plans", views.PlanViewSet, basename="allowances-plan")
router.register("allocations", views.AllocationViewSet, basename="allowances-allocation")
router.register("borrowings", views.BorrowingViewSet, basename="allowances-borrowing")
router.register("runs", views.RunViewSet, basename="allowances-run")
router.register("scenarios", views.ScenarioViewSet, basename="allowances-scenario")

urlpatterns = [
    path("calculate/", views.CalculateView.as_view(), name="allowances-calculate"),
    path("balance-values/", views.BalanceValuesView.as_view(), name="allowances-balance-values"),
    *router.urls,
]
