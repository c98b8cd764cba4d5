from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.viewsets import ReadOnlyModelViewSet

from cets.common.api import idempotent, validated
from cets.common.errors import DomainError, Forbidden, NotFound
from cets.common.stepup import step_up
from cets.common.viewsets import ScopedReadViewSet
from entities.selectors import entity_get

from .. import balance_values, calculator, sandbox, selectors, services
from ..models import AllocationPlan, BorrowingApplication
from .serializers import (
    BalanceValueInput,
    BalanceValueOutput,
    BorrowingDecisionInput,
    BorrowingInput,
    BorrowingOutput,
    CalculatorInput,
    CalculatorOutput,
    EntityAllocationOutput,
    PlanOutput,
    RunInput,
    RunOutput,
    ScenarioInput,
    ScenarioOutput,
)


class CalculateView(APIView):
    """Allocation calculator: a plan's formula, line by line, on facilities you describe (nothing stored).

    Power bodies as before; an industrial ``sector`` takes {plan, sector, balance_value?, units[{id,
    verified_emissions_tco2, output_t, intensity_emissions_tco2?, exemption?}]} (``allowances.calculator``).
    """

    permission_classes = [IsAuthenticated]

    @extend_schema(request=CalculatorInput, responses=CalculatorOutput)
    def post(self, request):
        data = request.data if isinstance(request.data, dict) else {}
        return Response(calculator.calculate(data))


class BalanceValuesView(APIView):
    """Regulators: per category (power) or sector (intensity plans), the intensity at which allocation equals
    verified emissions; POST publishes an intensity plan's balance value (national regulator)."""

    @extend_schema(parameters=[OpenApiParameter("plan", str), OpenApiParameter("year", int)], responses=dict)
    def get(self, request):
        if not request.user.is_regulator:
            raise Forbidden("Only regulators see balance values.")
        try:
            year = int(request.query_params.get("year", ""))
        except ValueError:
            raise DomainError("Give the verified data year.", "required", "year") from None
        plan = selectors.plan_get(request.query_params.get("plan", ""), published=False)
        return Response(sandbox.balance_values_for(plan=plan, data_year=year))

    @extend_schema(request=BalanceValueInput, responses={201: BalanceValueOutput})
    @idempotent
    def post(self, request):
        """The national regulator publishes an intensity plan's balance value, solved on verified data."""
        data = validated(BalanceValueInput, request)
        plan = selectors.plan_get(data["plan"], published=False)
        row = balance_values.balance_value_publish(actor=request.user, plan=plan, year=data["year"])
        return Response(BalanceValueOutput(row).data, status=status.HTTP_201_CREATED)


class PlanViewSet(ReadOnlyModelViewSet):
    """Published allocation plans with their rules and benchmark rows (confidence marks included)."""

    serializer_class = PlanOutput
    queryset = AllocationPlan.objects.none()  # the schema's model (the "code" path type); rows: get_queryset
    lookup_field = "code"
    pagination_class = None

    def get_queryset(self):
        qs = AllocationPlan.objects.prefetch_related("benchmarks", "balance_values")
        sector = self.request.query_params.get("sector")
        if sector:
            qs = qs.filter(sector_id=sector)
        if not self.request.user.is_regulator:
            qs = qs.filter(status=AllocationPlan.Status.PUBLISHED)
        return qs


class AllocationViewSet(ScopedReadViewSet):
    """Allocation results of the entities the caller may see, each unit with its formula lines."""

    serializer_class = EntityAllocationOutput
    filterset_fields = ["entity", "run__year", "run__kind", "status"]

    def scoped_queryset(self, user):
        return selectors.entity_allocations_visible_to(user).prefetch_related("units__unit")


class BorrowingViewSet(ScopedReadViewSet):
    """Borrowing applications (2021-22 plans): the entity applies, its province decides."""

    serializer_class = BorrowingOutput

    def scoped_queryset(self, user):
        return selectors.borrowings_visible_to(user)

    @extend_schema(request=BorrowingInput, responses={201: BorrowingOutput})
    @idempotent
    def create(self, request):
        data = validated(BorrowingInput, request)
        if not request.user.acting_entity_id:
            raise NotFound("No entity to apply for.", field="entity")
        entity = entity_get(user=request.user, pk=request.user.acting_entity_id)
        application = services.borrowing_apply(actor=request.user, entity=entity, **data)
        return Response(BorrowingOutput(application).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=BorrowingDecisionInput, responses=BorrowingOutput)
    @action(detail=True, methods=["post"])
    def decide(self, request, pk=None):
        application: BorrowingApplication = self.get_object()
        data = validated(BorrowingDecisionInput, request)
        application = services.borrowing_decide(actor=request.user, application=application,
                                                approve=data["approve"])
        return Response(BorrowingOutput(application).data)


class RunViewSet(ScopedReadViewSet):
    """Allocation runs (regulators): the national regulator starts one, a second one approves it."""

    serializer_class = RunOutput

    def scoped_queryset(self, user):
        return selectors.runs_visible_to(user)

    @extend_schema(request=RunInput, responses={201: RunOutput})
    @idempotent
    def create(self, request):
        data = validated(RunInput, request)
        run = services.run_start(actor=request.user, **data)
        return Response(RunOutput(run).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=RunOutput)
    @action(detail=True, methods=["post"])
    @step_up
    @idempotent
    def approve(self, request, pk=None):
        run = services.run_approve(actor=request.user, run=self.get_object())
        return Response(RunOutput(run).data)


class ScenarioViewSet(ScopedReadViewSet):
    """Policy sandbox (national regulator): edited benchmarks or rules evaluated on verified data."""

    serializer_class = ScenarioOutput

    def scoped_queryset(self, user):
        return selectors.scenarios_visible_to(user)

    @extend_schema(request=ScenarioInput, responses={201: ScenarioOutput})
    def create(self, request):
        data = validated(ScenarioInput, request)
        fields = dict(data)
        plan = selectors.plan_get(fields.pop("plan"), published=False)
        scenario = services.scenario_create(actor=request.user, plan=plan, **fields)
        return Response(ScenarioOutput(scenario).data, status=status.HTTP_201_CREATED)
