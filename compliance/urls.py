from django.urls import path

from . import views

app_name = "compliance"

urlpatterns = [
    path("", views.obligations, name="obligations"),
    path("obligations/<int:pk>/", views.obligation_detail, name="obligation"),
    path("obligations/<int:pk>/certificate.pdf", views.certificate, name="certificate"),
    path("cycles/<str:code>/risk/", views.risk, name="risk"),
    path("public/", views.public_index, name="public"),
    path("public/<str:code>/non-compliant/", views.public_list, name="public-list"),
    path("public/<str:code>/report/", views.public_report, name="public-report"),
    path("public/certificates/<str:code>/", views.certificate_verify, name="certificate-verify"),
]
