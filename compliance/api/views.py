"""The compliance API: thin views over ``compliance.services`` and ``compliance.selectors``."""

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from cets.common.api import idempotent, validated
from cets.common.api_views import JobOutput
from cets.common.errors import Forbidden
from cets.common.stepup import step_up
from cets.common.viewsets import ScopedReadViewSet

from .. import selectors, services
from ..certificates import certificate_pdf
from . import serializers as s


def _json(value):
    """Decimals as strings, dates as ISO text: the report dict made JSON-safe."""
    if isinstance(value, dict):
        return {str(k): _json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json(v) for v in value]
    if isinstance(value, (int, str, bool)) or value is None:
        return value
    return str(value)


class CycleViewSet(viewsets.ReadOnlyModelViewSet):
    """Compliance cycles (public reference data); the cycle report; closing (national regulator)."""

    serializer_class = s.ComplianceCycleOutput
    permission_classes = [AllowAny]
    lookup_field = "code"
    pagination_class = None

    def get_queryset(self):
        return selectors.cycles().prefetch_related("sectors", "milestones")

    @extend_schema(responses=dict)
    @action(detail=True, methods=["get"])
    def report(self, request, code=None):
        """The cycle report's figures nationally and by province (or ``?province=42``)."""
        cycle = selectors.cycle_get(code)
        return Response(_json(selectors.cycle_report(cycle, province=request.query_params.get("province") or None)))

    @extend_schema(request=s.ComplianceObligationsInput, responses=dict)
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def obligations(self, request, code=None):
        """Set (or refresh) one year's obligations from confirmed verified emissions (national regulator)."""
        cycle = selectors.cycle_get(code)  # an unknown cycle is a 404 whatever the body says
        data = validated(s.ComplianceObligationsInput, request)
        result = services.obligations_calculate(actor=request.user, cycle=cycle, year=data["year"])
        return Response(result)

    @extend_schema(request=None, responses={202: JobOutput})
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def close(self, request, code=None):
        """Start closing the cycle (national regulator); a second close while one runs is refused (409)."""
        job = services.cycle_close(actor=request.user, cycle=selectors.cycle_get(code))
        return Response(JobOutput(job).data, status=status.HTTP_202_ACCEPTED)


class ObligationViewSet(ScopedReadViewSet):
    """Obligations the user may see (own entity, jurisdiction); surrender by the entity itself."""

    serializer_class = s.ComplianceObligationOutput
    filterset_fields = ["year", "status", "cycle__code"]
    ordering_fields = ["id", "year", "quantity_tco2"]

    def scoped_queryset(self, user):
        return selectors.obligations_visible_to(user).order_by("id")

    def get_serializer_class(self):
        return s.ComplianceObligationDetailOutput if self.action == "retrieve" else s.ComplianceObligationOutput

    def retrieve(self, request, pk=None):
        obligation = selectors.obligation_get(user=request.user, pk=pk)
        return Response(s.ComplianceObligationDetailOutput(obligation).data)

    @extend_schema(request=s.ComplianceSurrenderInput, responses={201: s.ComplianceSurrenderOutput})
    @action(detail=True, methods=["post"])
    @idempotent
    def surrender(self, request, pk=None):
        """Surrender CEAs and cancel CCERs in one step; answers the steps and the remaining obligation."""
        obligation = selectors.obligation_get(user=request.user, pk=pk)
        data = validated(s.ComplianceSurrenderInput, request)
        steps = services.surrender(actor=request.user, obligation=obligation,
                                   items=[dict(i) for i in data["items"]])
        obligation = selectors.obligation_get(user=request.user, pk=pk)
        return Response({"steps": s.ComplianceStepOutput(steps, many=True).data,
                         "obligation": s.ComplianceObligationOutput(obligation).data}, status=status.HTTP_201_CREATED)

    @extend_schema(responses={(200, "application/pdf"): bytes})
    @action(detail=True, methods=["get"])
    def certificate(self, request, pk=None):
        obligation = selectors.obligation_get(user=request.user, pk=pk)
        cert = services.certificate_issue(obligation=obligation)
        url = request.build_absolute_uri(f"/compliance/public/certificates/{cert.code}/")
        response = HttpResponse(certificate_pdf(cert, url), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="compliance-{cert.code}.pdf"'
        return response


class WarningViewSet(ScopedReadViewSet):
    serializer_class = s.ComplianceRiskWarningOutput
    filterset_fields = ["cycle__code", "level", "horizon_days"]

    def scoped_queryset(self, user):
        return selectors.warnings_visible_to(user).order_by("-id")


class RiskListView(APIView):
    """Regulators: the latest scan's entities at risk in their jurisdiction, with gap and its change."""

    @extend_schema(responses=s.ComplianceRiskOutput(many=True))
    def get(self, request, code):
        if not request.user.is_regulator:
            raise Forbidden("Only regulators see the risk list.")
        cycle = selectors.cycle_get(code)
        rows = selectors.risk_list(request.user, cycle, province=request.query_params.get("province") or None)
        return Response(s.ComplianceRiskOutput(rows, many=True).data)


class ReliefViewSet(ScopedReadViewSet):
    serializer_class = s.ComplianceReliefOutput

    def scoped_queryset(self, user):
        if not getattr(user, "is_regulator", False):
            return selectors.reliefs_visible_to(user).none()
        return selectors.reliefs_visible_to(user).order_by("-id")

    @extend_schema(request=s.ComplianceReliefInput, responses={201: s.ComplianceReliefOutput})
    def create(self, request):
        data = validated(s.ComplianceReliefInput, request)
        obligation = selectors.obligation_get(user=request.user, pk=data["obligation"])
        decision = services.relief_propose(actor=request.user, obligation=obligation,
                                           quantity=data["quantity"],
                                           reason=data["reason"])
        return Response(s.ComplianceReliefOutput(decision).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.ComplianceDecideInput, responses=s.ComplianceReliefOutput)
    @action(detail=True, methods=["post"])
    @step_up
    def decide(self, request, pk=None):
        data = validated(s.ComplianceDecideInput, request)
        decision = services.relief_decide(actor=request.user, decision=self.get_object(),
                                          approve=data["approve"])
        return Response(s.ComplianceReliefOutput(decision).data)


class PenaltyViewSet(ScopedReadViewSet):
    serializer_class = s.CompliancePenaltyOutput

    def scoped_queryset(self, user):
        return selectors.penalties_visible_to(user).order_by("-id")

    @extend_schema(request=s.CompliancePenaltyInput, responses={201: s.CompliancePenaltyOutput})
    def create(self, request):
        data = validated(s.CompliancePenaltyInput, request)
        obligation = selectors.obligation_get(user=request.user, pk=data["obligation"])
        penalty = services.penalty_propose(actor=request.user, obligation=obligation,
                                           multiplier=data["multiplier"],
                                           average_price=data.get("average_price"))
        return Response(s.CompliancePenaltyOutput(penalty).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=s.CompliancePenaltyOutput)
    @action(detail=True, methods=["post"])
    @step_up
    def decide(self, request, pk=None):
        penalty = services.penalty_decide(actor=request.user, penalty=self.get_object())
        return Response(s.CompliancePenaltyOutput(penalty).data)


class CertificateVerifyView(APIView):
    """Public: is this certificate code genuine, and what does it certify?"""

    permission_classes = [AllowAny]

    @extend_schema(responses=dict)
    def get(self, request, code):
        result = selectors.certificate_verify(code)
        return Response({"valid": result["valid"], "reason": result["reason"], "content": result["content"]},
                        status=status.HTTP_200_OK if result["valid"] else status.HTTP_404_NOT_FOUND)
