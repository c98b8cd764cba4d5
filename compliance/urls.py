from django.urls import path

from . import carryover_views, views

app_name = "compliance"

urlpatterns = [
    path("", views.obligations, name="obligations"),
    path("obligations/<int:pk>/", views.obligation_detail, name="obligation"),
    path("obligations/<int:pk>/certificate.pdf", views.certificate, name="certificate"),
    path("cycles/<str:code>/risk/", views.risk, name="risk"),
    path("carry-over/<str:code>/", carryover_views.carry_over, name="carry-over"),
    path("public/", views.public_index, name="public"),
    path("public/carry-over/<str:code>/", carryover_views.carry_over_public, name="carry-over-public"),
    path("public/<str:code>/non-compliant/", views.public_list, name="public-list"),
    path("public/<str:code>/report/", views.public_report, name="public-report"),
    path("public/<str:code>/entities/", views.public_entities, name="public-entities"),
    path("public/certificates/<str:code>/", views.certificate_verify, name="certificate-verify"),
]
