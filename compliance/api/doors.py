"""The registry's surrender path and the voluntary market's offset path, served by compliance.

``POST /api/v1/registry/surrenders/`` and ``POST /api/v1/voluntary/offsets/`` keep their shapes for
integrators, but units go to a national account only through ``compliance.services.surrender`` (via
``surrender_for_year``): the same obligation rules as the portal and the obligation's own endpoint
(the obligation exists and is open, eligible vintage, never more than owed, the 5% cap, CEAs only
on the surrender path, CCERs of offset-eligible projects only on the offset path). The registry and
voluntary apps cannot import compliance, so the project's URL configuration mounts these views at
their paths (``cets/urls.py``).
"""

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from cets.common.api import idempotent, validated
from cets.common.errors import DomainError
from entities.selectors import entity_get
from registry import selectors as registry_selectors
from registry.api.serializers import RegistrySurrenderInput, RegistryTransactionOutput
from voluntary import selectors as voluntary_selectors
from voluntary.api.serializers import CcerOffsetInput, CcerUseOutput

from .. import services


class RegistrySurrenderView(APIView):
    """Surrender CEAs from an entity holding account against the entity's obligation of a compliance year.

    Routed through compliance's surrender (the obligation's rules); answers the registry transaction.
    """

    permission_classes = [IsAuthenticated]

    @extend_schema(request=RegistrySurrenderInput, responses={201: RegistryTransactionOutput})
    @idempotent
    def post(self, request):
        v = validated(RegistrySurrenderInput, request)
        account = registry_selectors.account_get(user=request.user, pk=v["account"])
        if account.entity_id is None or account.kind != account.Kind.ENTITY_HOLDING:
            raise DomainError(_("Only an entity holding account surrenders."), "invalid_account", "account")
        step = services.surrender_for_year(actor=request.user, entity=account.entity,
                                           compliance_year=v["compliance_year"], instrument_code=v["instrument"],
                                           quantity=v["quantity"], kind="cea")
        tx = registry_selectors.transaction_get(user=request.user, pk=step.registry_transaction_id)
        return Response(RegistryTransactionOutput(tx).data, status=status.HTTP_201_CREATED)


class CcerOffsetView(APIView):
    """Cancel an entity's CCERs as an ETS offset against its obligation of a compliance year (within the cap).

    Routed through compliance's surrender (the obligation's rules); answers the public use record.
    """

    permission_classes = [IsAuthenticated]

    @extend_schema(request=CcerOffsetInput, responses={201: CcerUseOutput})
    @idempotent
    def post(self, request):
        v = validated(CcerOffsetInput, request)
        entity = entity_get(user=request.user, pk=v["entity"])
        step = services.surrender_for_year(actor=request.user, entity=entity, compliance_year=v["compliance_year"],
                                           instrument_code=v["instrument"], quantity=v["quantity"], kind="ccer")
        use = voluntary_selectors.use_by_code(step.credit_use_code)
        return Response(CcerUseOutput(use).data, status=status.HTTP_201_CREATED)
