from django.urls import path

from . import views

app_name = "allowances"

urlpatterns = [
    path("", views.allocation_list, name="list"),
    path("<int:pk>/", views.allocation_detail, name="detail"),
    path("borrow/", views.borrowing_apply, name="borrow"),
    path("benchmarks/<int:entity_pk>/", views.benchmarks, name="benchmarks"),
    path("runs/", views.run_list, name="runs"),
    path("sandbox/", views.scenario_new, name="sandbox"),
    path("sandbox/<int:pk>/", views.scenario_detail, name="scenario"),
]
