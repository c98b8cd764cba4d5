from django.urls import path

from . import api_views

urlpatterns = [
    path("<int:pk>/", api_views.JobDetailView.as_view(), name="api-job-detail"),
    path("<int:pk>/retry/", api_views.JobRetryView.as_view(), name="api-job-retry"),
]
