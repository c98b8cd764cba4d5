from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from cets.common.api import idempotent, validated
from cets.common.viewsets import ScopedReadViewSet

from .. import selectors, services, two_factor
from ..authentication import OTPSessionAuthentication, is_otp_verified
from ..models import City, Organisation, Province, Sector
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
    """Generating units with their ETS category and why."""

    serializer_class = UnitOutput
    filterset_fields = ["entity", "main_fuel", "status", "is_chp", "cooling"]
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
        """End the caller's API token now (from the browser session or with the token itself)."""
        two_factor.api_token_revoke(actor=request.user, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={201: ApiTokenOutput})
    def post(self, request):
        token = two_factor.api_token_issue(actor=request.user, otp_verified=is_otp_verified(request.user))
        return Response(ApiTokenOutput({"token": token.key, "otp_verified": token.issue.otp_verified}).data,
                        status=status.HTTP_201_CREATED)
