from django.urls import path

from . import views

app_name = "entities"

urlpatterns = [
    path("", views.entity_list, name="list"),
    path("mine/", views.entity_mine, name="mine"),
    path("<int:pk>/", views.entity_detail, name="detail"),
]
