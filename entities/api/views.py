import django_filters
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from cets.common.api import idempotent, validated
from cets.common.errors import DomainError
from cets.common.export import export_response
from cets.common.viewsets import ScopedReadViewSet

from .. import api_tokens, selectors, services, two_factor
from ..authentication import OTPSessionAuthentication, is_otp_verified
from ..models import ApiToken, City, Organisation, Province, Sector, SectorListing
from .serializers import (
    AgencyAssignmentInput,
    AgencyAssignmentOutput,
    ApiTokenOutput,
    CityOutput,
    EntityInput,
    EntityOutput,
    MeOutput,
    OrganisationOutput,
    ProvinceOutput,
    SectorListingOutput,
    SectorOutput,
    UnitInput,
    UnitOutput,
)


class ProvinceViewSet(viewsets.ReadOnlyModelViewSet):
    """The 31 provincial-level divisions (public reference data)."""

    queryset = Province.objects.all()
    serializer_class = ProvinceOutput
    permission_classes = [AllowAny]
    pagination_class = None


class SectorViewSet(viewsets.ReadOnlyModelViewSet):
    """The covered sectors with their allocation unit, gases, monthly key parameters and methods (public)."""

    queryset = Sector.objects.filter(is_active=True)
    serializer_class = SectorOutput
    permission_classes = [AllowAny]
    pagination_class = None
    lookup_field = "code"
    lookup_value_regex = "[a-z0-9_-]{1,20}"


class CityViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = City.objects.all()
    serializer_class = CityOutput
    permission_classes = [AllowAny]
    filterset_fields = ["province"]


class OrganisationViewSet(viewsets.ReadOnlyModelViewSet):
    """Agencies, VVBs, project owners and other participants (public register)."""

    queryset = Organisation.objects.filter(is_active=True)
    serializer_class = OrganisationOutput
    permission_classes = [AllowAny]
    filterset_fields = ["kind", "province"]
    search_fields = ["name", "name_en", "credit_code"]


class EntityViewSet(ScopedReadViewSet):
    """Key emitting entities the caller may see; regulators register and change them."""

    serializer_class = EntityOutput
    filterset_fields = ["province", "city", "sector", "status", "inclusion_year"]
    search_fields = ["name", "name_en", "credit_code"]
    ordering_fields = ["credit_code", "name", "inclusion_year"]

    def scoped_queryset(self, user):
        return selectors.entities_visible_to(user)

    @extend_schema(request=EntityInput, responses={201: EntityOutput})
    @idempotent
    def create(self, request):
        data = validated(EntityInput, request)
        entity = services.entity_create(actor=request.user, **data)
        return Response(EntityOutput(entity).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=EntityInput, responses={200: EntityOutput})
    def partial_update(self, request, pk=None):
        entity = selectors.entity_get(user=request.user, pk=pk)
        data = validated(EntityInput, request, partial=True)
        entity = services.entity_update(actor=request.user, entity=entity, **data)
        return Response(EntityOutput(entity).data)


class UnitViewSet(ScopedReadViewSet):
    """Facilities of every sector (generating units with their ETS category and why; clinker lines, steel
    enterprises with their processes, electrolysis processes with their sector attributes)."""

    serializer_class = UnitOutput
    filterset_fields = ["entity", "sector", "main_fuel", "status", "is_chp", "cooling"]
    search_fields = ["code", "name"]

    def scoped_queryset(self, user):
        return selectors.units_visible_to(user)

    @extend_schema(request=UnitInput, responses={201: UnitOutput})
    def create(self, request):
        data = validated(UnitInput, request)
        fields = dict(data)
        entity = selectors.entity_get(user=request.user, pk=fields.pop("entity"))
        unit = services.unit_create(actor=request.user, entity=entity, **fields)
        return Response(UnitOutput(unit).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=UnitInput, responses={200: UnitOutput})
    def partial_update(self, request, pk=None):
        unit = selectors.unit_get(user=request.user, pk=pk)
        fields = dict(validated(UnitInput, request, partial=True))
        if "entity" in fields and fields.pop("entity") != unit.entity_id:
            raise DomainError(_("A facility stays with its entity; register it anew under the other one."),
                              "entity_fixed", "entity")
        unit = services.unit_update(actor=request.user, unit=unit, **fields)
        return Response(UnitOutput(unit).data)


class SectorListingFilter(django_filters.FilterSet):
    province = django_filters.CharFilter(field_name="entity__province_id", help_text="province code, e.g. 42")

    class Meta:
        model = SectorListing
        fields = ["year", "sector", "status", "entity", "province"]


EXPORT_COLUMNS = ["year", "sector", "credit_code", "entity_name", "province", "status", "emissions_tco2", "reason"]


class SectorListingViewSet(ScopedReadViewSet):
    """Lists of key emitting entities per data year and sector (listed, report only, removed, with the
    emissions and reason that decided); ``export/`` downloads the filtered rows as CSV or Excel."""

    serializer_class = SectorListingOutput
    filterset_class = SectorListingFilter
    ordering_fields = ["year", "sector", "emissions_tco2"]

    def scoped_queryset(self, user):
        return selectors.sector_listings_visible_to(user)

    @extend_schema(parameters=[OpenApiParameter("export", str, enum=["csv", "xlsx"])],
                   responses={(200, "text/csv"): bytes})
    @action(detail=False, methods=["get"])
    def export(self, request):
        rows = self.filter_queryset(self.get_queryset())
        data = SectorListingOutput(rows, many=True).data
        return export_response("sector-listings", EXPORT_COLUMNS, ([row[c] for c in EXPORT_COLUMNS] for row in data),
                               "xlsx" if request.query_params.get("export") == "xlsx" else "csv")


class AgencyAssignmentViewSet(ScopedReadViewSet):
    """Which verification agency checks which entity in a year; the entity's province assigns."""

    serializer_class = AgencyAssignmentOutput
    filterset_fields = ["year", "entity", "agency"]

    def scoped_queryset(self, user):
        return selectors.assignments_visible_to(user)

    @extend_schema(request=AgencyAssignmentInput, responses={201: AgencyAssignmentOutput})
    @idempotent
    def create(self, request):
        data = validated(AgencyAssignmentInput, request)
        entity = selectors.entity_get(user=request.user, pk=data["entity"])
        assignment = services.agency_assign(actor=request.user, entity=entity, agency=data["agency"],
                                            year=data["year"])
        return Response(AgencyAssignmentOutput(assignment).data, status=status.HTTP_201_CREATED)


class MeView(APIView):
    """Who the token or session belongs to, and what it is tied to."""

    @extend_schema(responses=MeOutput)
    def get(self, request):
        return Response(MeOutput(request.user).data)


class ApiTokenView(APIView):
    """Issue the caller a new API token (the previous one stops working) from a logged-in browser session.

    Only session authentication is accepted: a token never mints another. A user with approval powers needs
    a session verified by their authenticator (else 403 ``otp_required``), and only such a token works for them.
    """

    authentication_classes = [OTPSessionAuthentication]

    def initialize_request(self, request, *args, **kwargs):
        # Revoking is allowed with the token itself (whoever holds a leaked key may end it); minting is not.
        if request.method == "DELETE":
            self.authentication_classes = api_settings.DEFAULT_AUTHENTICATION_CLASSES
        return super().initialize_request(request, *args, **kwargs)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request):
        """End the caller's API token now (from the browser session or with the token itself; a named token
        presented here ends only itself)."""
        if isinstance(request.auth, ApiToken):
            api_tokens.api_token_revoke_named(actor=request.user, pk=request.auth.pk)
        else:
            two_factor.api_token_revoke(actor=request.user, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={201: ApiTokenOutput})
    def post(self, request):
        token = two_factor.api_token_issue(actor=request.user, otp_verified=is_otp_verified(request.user))
        return Response(ApiTokenOutput({"token": token.key, "otp_verified": token.issue.otp_verified}).data,
                        status=status.HTTP_201_CREATED)
