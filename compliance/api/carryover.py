"""The carry-over API: notices and applications scoped to the user, regulators' four-eyes, public totals."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response

from cets.common.api import idempotent, validated
from cets.common.errors import Forbidden
from cets.common.stepup import STEP_UP_PARAMETER, step_up, step_up_check
from cets.common.viewsets import ScopedReadViewSet
from entities.models import KeyEntity

from .. import carryover_selectors as selectors
from .. import carryover_services as services
from ..models import CarryOverApplication, CarryOverNotice, CarryOverScheme


class CarryOverSchemeOutput(serializers.ModelSerializer):
    batches = serializers.SerializerMethodField()

    class Meta:
        model = CarryOverScheme
        fields = ["code", "name", "first_vintage", "last_vintage", "target_vintage", "sales_from", "sales_to", "cutoff",
                  "base_tco2", "multiplier", "notices_by", "apply_until", "excluded_years",
                  "issue_within_working_days", "confidence", "source", "batches"]

    def get_batches(self, scheme) -> list[dict]:
        """Public totals per batch: received, approved (count, tonnes), rejected."""
        return selectors.batch_totals(scheme)


class CarryOverNoticeOutput(serializers.ModelSerializer):
    scheme = serializers.CharField(source="scheme.code")

    class Meta:
        model = CarryOverNotice
        fields = ["id", "scheme", "entity", "net_sales_tco2", "holdings_tco2", "quota_tco2", "notified_at"]


class CarryOverApplicationOutput(serializers.ModelSerializer):
    scheme = serializers.CharField(source="scheme.code")
    batch = serializers.IntegerField(source="batch.number")

    class Meta:
        model = CarryOverApplication
        fields = ["id", "scheme", "batch", "entity", "quantity_tco2", "status", "registry_transaction_ids", "reason",
                  "created_at", "proposed_at", "decided_at", "issue_by"]


class CarryOverApplicationInput(serializers.Serializer):
    scheme = serializers.CharField(default="2025")
    quantity = serializers.IntegerField(min_value=1)


class CarryOverDecideInput(serializers.Serializer):
    approve = serializers.BooleanField()
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class CarryOverSchemeViewSet(viewsets.ReadOnlyModelViewSet):
    """Carry-over schemes with their batches' public totals; the national regulator issues the notices."""

    serializer_class = CarryOverSchemeOutput
    permission_classes = [AllowAny]
    lookup_field = "code"
    pagination_class = None

    def get_queryset(self):
        return selectors.schemes()

    @extend_schema(request=None, responses=dict, parameters=[STEP_UP_PARAMETER])
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def notices(self, request, code=None):
        """Compute every holder's quota and write its notice (national regulator; an unknown scheme is a 404)."""
        scheme = selectors.scheme_get(code)
        step_up_check(request)
        return Response(services.notices_issue(actor=request.user, scheme=scheme))


class CarryOverNoticeViewSet(ScopedReadViewSet):
    """Quota notices: an entity its own, a regulator its jurisdiction's."""

    serializer_class = CarryOverNoticeOutput
    filterset_fields = ["scheme__code"]

    def scoped_queryset(self, user):
        return selectors.notices_visible_to(user).order_by("id")


class CarryOverApplicationViewSet(ScopedReadViewSet):
    """Applications: the entity applies; a national regulator proposes, another decides (four-eyes)."""

    serializer_class = CarryOverApplicationOutput
    filterset_fields = ["scheme__code", "status", "batch__number"]

    def scoped_queryset(self, user):
        return selectors.applications_visible_to(user).order_by("id")

    @extend_schema(request=CarryOverApplicationInput, responses={201: CarryOverApplicationOutput})
    @idempotent
    def create(self, request):
        data = validated(CarryOverApplicationInput, request)
        if not request.user.acting_entity_id:
            raise Forbidden("Only a key emitting entity applies for carry-over.")
        application = services.application_submit(
            actor=request.user, entity=KeyEntity.objects.get(pk=request.user.acting_entity_id),
            scheme=selectors.scheme_get(data["scheme"]), quantity=data["quantity"])
        return Response(CarryOverApplicationOutput(application).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=CarryOverApplicationOutput)
    @action(detail=True, methods=["post"])
    @step_up
    def propose(self, request, pk=None):
        application = services.application_propose(actor=request.user, application=self.get_object())
        return Response(CarryOverApplicationOutput(application).data)

    @extend_schema(request=CarryOverDecideInput, responses=CarryOverApplicationOutput)
    @action(detail=True, methods=["post"])
    @step_up
    def decide(self, request, pk=None):
        data = validated(CarryOverDecideInput, request)
        application = services.application_decide(actor=request.user, application=self.get_object(),
                                                  approve=data["approve"], reason=data["reason"])
        return Response(CarryOverApplicationOutput(application).data)
