from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from django.utils.translation import gettext_lazy as _
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from cets.common import views as common_views
from cets.common.admin import AdminLoginForm, StepUpOTPAdminSite
from compliance import home_views, portal_views
from compliance.api import doors as compliance_doors
from entities import views as entities_views

# SimpleAdminConfig does not autodiscover (cets.common.admin is imported above first): import every app's admin.
admin.autodiscover()
if settings.ADMIN_REQUIRE_OTP:
    # Regulators sign in to /admin/ with password and a TOTP code (django-otp).
    admin.site.__class__ = StepUpOTPAdminSite
    admin.site.login_form = AdminLoginForm
    admin.site.login_template = "admin/login_otp.html"  # django-otp's page plus the link to enrolment
admin.site.site_header = _("CETS · National Carbon Market")
admin.site.site_title = "CETS"
admin.site.index_title = _("National carbon market administration")

APPS = ["entities", "registry", "mrv", "allowances", "trading", "voluntary", "compliance"]

# Paths of the registry and the voluntary market whose rules belong to compliance (compliance.api.doors).
api_v1 = [path("registry/surrenders/", compliance_doors.RegistrySurrenderView.as_view(), name="registry-surrender"),
          path("voluntary/offsets/", compliance_doors.CcerOffsetView.as_view(), name="ccer-offset")]
api_v1 += [path(f"{app}/", include(f"{app}.api.urls")) for app in APPS if app != "entities"]
api_v1 += [path("", include("entities.api.urls")), path("jobs/", include("cets.common.api_urls"))]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("login/", entities_views.PortalLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/two-factor/", entities_views.two_factor, name="two-factor"),
    path("account/api-tokens/", entities_views.api_token_list, name="api-tokens"),
    path("account/api-tokens/<int:pk>/revoke/", entities_views.api_token_revoke, name="api-token-revoke"),
    # The public information portal is the front page; each role's home (its work) is one click away.
    path("", portal_views.home, name="portal"),
    path("search/", portal_views.search, name="portal-search"),
    path("home/", home_views.home, name="home"),
    path("notifications/", common_views.notifications, name="notifications"),
    path("notifications/read/", common_views.notifications_read, name="notifications-read"),
    path("jobs/<int:pk>/", common_views.job_detail, name="job-detail"),
    path("jobs/<int:pk>/progress/", common_views.job_progress_fragment, name="job-progress"),
    path("jobs/<int:pk>/retry/", common_views.job_retry_view, name="job-retry"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", common_views.api_getting_started, name="api-docs"),
    path("api/docs/reference/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-reference"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
    *[path(f"{app}/", include(f"{app}.urls")) for app in APPS],
    # Last: any other path under /api/ answers the API's JSON 404, in DEBUG too (handler404 serves only the rest).
    re_path(r"^api/", common_views.api_not_found),
]

# Under /api/ an unknown path or a server error answers JSON in the API's error shape.
handler404 = "cets.common.views.page_not_found"
handler500 = "cets.common.views.server_error"
