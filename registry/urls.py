from django.urls import path

from . import views

app_name = "registry"

urlpatterns = [
    path("", views.account_list, name="accounts"),
    path("accounts/<int:pk>/", views.account_detail, name="account"),
    path("accounts/<int:pk>/statement/", views.statement, name="statement"),
    path("transactions/", views.transaction_list, name="transactions"),
    path("public/", views.public_totals, name="public"),
]
