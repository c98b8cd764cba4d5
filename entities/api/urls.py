from django.urls import path

from cets.common.routers import ApiRouter

from . import views

router = ApiRouter()
router.register("provinces", views.ProvinceViewSet, basename="province")
router.register("sectors", views.SectorViewSet, basename="sector")
router.register("cities", views.CityViewSet, basename="city")
router.register("organisations", views.OrganisationViewSet, basename="organisation")
router.register("entities", views.EntityViewSet, basename="entity")
router.register("units", views.UnitViewSet, basename="unit")
router.register("sector-listings", views.SectorListingViewSet, basename="sector-listing")
router.register("agency-assignments", views.AgencyAssignmentViewSet, basename="agency-assignment")

urlpatterns = [path("me/", views.MeView.as_view(), name="me"),
               path("auth/token/", views.ApiTokenView.as_view(), name="api-token"), *router.urls]
