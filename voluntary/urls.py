from django.urls import path

from . import views

app_name = "voluntary"

urlpatterns = [
    path("", views.portal, name="portal"),
    path("projects/new/", views.project_new, name="project-new"),
    path("projects/<int:pk>/", views.project_detail, name="project"),
    path("projects/<int:pk>/<slug:name>/", views.project_action, name="project-action"),
    path("reports/<int:pk>/", views.report_detail, name="report"),
    path("reports/<int:pk>/<slug:name>/", views.report_action, name="report-action"),
    path("retire/", views.retire, name="retire"),
    path("transfer/", views.transfer, name="transfer"),
    path("public/", views.public_index, name="public"),
    path("public/organisations/", views.public_organisations, name="public-organisations"),
    path("public/methodologies/", views.public_methodologies, name="public-methodologies"),
    path("public/methodologies/<str:code>/", views.public_methodology, name="public-methodology"),
    path("public/projects/", views.public_projects, name="public-projects"),
    path("public/projects/<int:pk>/", views.public_project, name="public-project"),
    path("public/projects/<int:pk>/comment/", views.public_comment, name="public-comment"),
    path("public/documents/<int:pk>/", views.public_document, name="public-document"),
    path("public/issuances/", views.public_issuances, name="public-issuances"),
    path("public/cancellations/", views.public_uses, name="public-uses"),
    path("public/verify/", views.public_verify, name="public-verify"),
    path("public/cancellations/<str:code>/", views.public_use, name="public-use"),
    path("public/cancellations/<str:code>/certificate.pdf", views.public_certificate, name="public-certificate"),
]
