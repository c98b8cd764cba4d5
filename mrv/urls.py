from django.urls import path

from . import views

app_name = "mrv"

urlpatterns = [
    path("", views.home, name="home"),
    path("entities/<int:pk>/", views.entity_dashboard, name="entity"),
    path("entities/<int:pk>/qc-plan/", views.qc_plan, name="qc-plan"),
    path("entities/<int:pk>/submit/", views.month_submit, name="month-submit"),
    path("entities/<int:pk>/facility-month/", views.facility_month_submit, name="facility-month"),
    path("template/", views.template_download, name="template"),
    path("upload/", views.upload, name="upload"),
    path("uploads/<int:pk>/", views.upload_preview, name="upload-preview"),
    path("submissions/<int:pk>/", views.submission_detail, name="submission"),
    path("warnings/", views.warnings, name="warnings"),
    path("verifications/", views.verifications, name="verifications"),
    path("verifications/assignments/<int:assignment_id>/", views.verification_upload, name="verification-upload"),
]
