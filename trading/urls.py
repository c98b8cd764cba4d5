from django.urls import path

from . import views

app_name = "trading"

urlpatterns = [
    path("public/", views.public_market, name="public-market"),
    path("public/<str:code>/", views.public_product, name="public-product"),
    path("", views.desk, name="desk"),
    path("orders/place/", views.order_place, name="order-place"),
    path("orders/<int:pk>/take/", views.order_take, name="order-take"),
    path("orders/<int:pk>/cancel/", views.order_cancel, name="order-cancel"),
    path("bulk/<int:pk>/<str:decision>/", views.bulk_decide, name="bulk-decide"),
    path("export/<str:what>/", views.export, name="export"),
]
