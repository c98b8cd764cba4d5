"""Registry API: scoped reads, explicit write endpoints (transfer, approvals) with Idempotency-Key.

The surrender path /api/v1/registry/surrenders/ is served by compliance (``compliance.api.doors``): a
surrender obeys the obligation's rules, which the registry cannot read.
"""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from cets.common.api import idempotent, validated
from cets.common.stepup import step_up
from cets.common.viewsets import ScopedReadViewSet

from .. import selectors, services
from .serializers import (
    RegistryAccountOutput,
    RegistryHoldingOutput,
    RegistryIssuanceInput,
    RegistryReasonInput,
    RegistryTransactionDetailOutput,
    RegistryTransactionOutput,
    RegistryTransferInput,
    RegistryVintageTotalOutput,
)


class AccountViewSet(ScopedReadViewSet):
    """Registry accounts the caller may see (own entity's, jurisdiction's, or all for the nation)."""

    serializer_class = RegistryAccountOutput
    filterset_fields = ["kind", "status", "entity", "province"]
    search_fields = ["number", "name"]

    def scoped_queryset(self, user):
        return selectors.accounts_visible_to(user).order_by("number")


class HoldingViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Balances (total, available, reserved, frozen) per account and instrument."""

    serializer_class = RegistryHoldingOutput
    filterset_fields = ["account", "instrument"]

    def get_queryset(self):
        return selectors.holdings_for(self.request.user)


class TransactionViewSet(ScopedReadViewSet):
    """Transactions touching the caller's accounts; approve, reject and cancel are explicit actions."""

    serializer_class = RegistryTransactionOutput
    filterset_fields = ["kind", "status", "instrument", "compliance_year"]
    ordering_fields = ["id", "created_at", "executed_at"]

    def scoped_queryset(self, user):
        return selectors.transactions_visible_to(user).order_by("-id")

    def get_serializer_class(self):
        return RegistryTransactionDetailOutput if self.action == "retrieve" else RegistryTransactionOutput

    @extend_schema(responses=RegistryTransactionOutput(many=True))
    @action(detail=False, methods=["get"])
    def approvals(self, request):
        """What the caller may approve (four-eyes proposals, second-representative transfers)."""
        page = self.paginate_queryset(selectors.approval_queue(request.user))
        return self.get_paginated_response(RegistryTransactionOutput(page, many=True).data)

    @extend_schema(request=None, responses=RegistryTransactionOutput)
    @action(detail=True, methods=["post"])
    @step_up
    @idempotent
    def approve(self, request, pk=None):
        tx = selectors.transaction_get(user=request.user, pk=pk)
        tx = services.transaction_approve(actor=request.user, transaction=tx)
        return Response(RegistryTransactionOutput(tx).data)

    @extend_schema(request=RegistryReasonInput, responses=RegistryTransactionOutput)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        data = validated(RegistryReasonInput, request)
        tx = selectors.transaction_get(user=request.user, pk=pk)
        tx = services.transaction_reject(actor=request.user, transaction=tx, reason=data["reason"])
        return Response(RegistryTransactionOutput(tx).data)

    @extend_schema(request=RegistryReasonInput, responses=RegistryTransactionOutput)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        data = validated(RegistryReasonInput, request)
        tx = selectors.transaction_get(user=request.user, pk=pk)
        tx = services.transaction_cancel(actor=request.user, transaction=tx, reason=data["reason"])
        return Response(RegistryTransactionOutput(tx).data)


class TransferView(APIView):
    """Transfer units from one of the caller's accounts to an account number (Idempotency-Key supported)."""

    @extend_schema(request=RegistryTransferInput, responses={201: RegistryTransactionOutput})
    @idempotent
    def post(self, request):
        data = validated(RegistryTransferInput, request)
        v = data
        source = selectors.account_get(user=request.user, pk=v["from_account"], field="from_account")
        tx = services.transfer_create(actor=request.user, from_account=source,
                                      to_account=selectors.account_by_number(v["to_account"]),
                                      instrument=selectors.instrument_get(v["instrument"]), quantity=v["quantity"],
                                      reference=v["reference"])
        return Response(RegistryTransactionOutput(tx).data, status=status.HTTP_201_CREATED)


class IssuanceView(APIView):
    """A national regulator proposes an issuance (four-eyes: another one approves it under approvals).

    Into the national issuance account, delivered on approval to the national allocation account (CEAs);
    never above the vintage's plan total (``above_plan_total``, field ``quantity``).
    """

    @extend_schema(request=RegistryIssuanceInput, responses={201: RegistryTransactionOutput})
    @idempotent
    def post(self, request):
        data = validated(RegistryIssuanceInput, request)
        tx = services.issuance_propose(actor=request.user, instrument=selectors.instrument_get(data["instrument"]),
                                       quantity=data["quantity"], reason=data["reason"])
        return Response(RegistryTransactionOutput(tx).data, status=status.HTTP_201_CREATED)


class VintageTotalsView(APIView):
    """Public: per-instrument totals issued, allocated, surrendered, cancelled, retired, deleted."""

    permission_classes = [AllowAny]

    @extend_schema(responses=RegistryVintageTotalOutput(many=True))
    def get(self, request):
        return Response(RegistryVintageTotalOutput(selectors.vintage_totals(), many=True).data)


class SerialTraceView(APIView):
    """Public: the events of one serial number (no private holder is named)."""

    permission_classes = [AllowAny]

    @extend_schema(responses=dict)
    def get(self, request, serial: str):
        instrument, number = selectors.parse_serial(serial)
        return Response(selectors.serial_history(instrument, number))
