"""Shapes of the registry API: outputs for reads, inputs for the write endpoints (validated again by services)."""

from rest_framework import serializers

from ..models import Account, Holding, Transaction


class RegistryAccountOutput(serializers.ModelSerializer):
    entity_name = serializers.CharField(source="entity.name", default=None, read_only=True)
    organisation_name = serializers.CharField(source="organisation.name", default=None, read_only=True)

    class Meta:
        model = Account
        fields = ["id", "number", "kind", "name", "status", "entity", "entity_name", "organisation",
                  "organisation_name", "province", "requires_second_approval", "opened_at", "closed_at"]


class RegistryHoldingOutput(serializers.ModelSerializer):
    account = serializers.CharField(source="account.number")
    instrument = serializers.CharField(source="instrument.code")
    vintage = serializers.IntegerField(source="instrument.vintage")
    available = serializers.IntegerField(read_only=True)

    class Meta:
        model = Holding
        fields = ["account", "instrument", "vintage", "total", "available", "reserved", "frozen"]


class RegistryLegOutput(serializers.Serializer):
    from_account = serializers.CharField(source="from_account.number", default=None)
    to_account = serializers.CharField(source="to_account.number")
    serial_start = serializers.IntegerField()
    serial_end = serializers.IntegerField()
    quantity = serializers.IntegerField()
    serials = serializers.SerializerMethodField()

    def get_serials(self, leg) -> str:
        return leg.instrument.serial_range(leg.serial_start, leg.serial_end)


class RegistryTransactionOutput(serializers.ModelSerializer):
    instrument = serializers.CharField(source="instrument.code", default=None)  # None: account governance
    from_account = serializers.CharField(source="from_account.number", default=None)
    to_account = serializers.CharField(source="to_account.number", default=None)
    proposed_by = serializers.CharField(source="proposed_by.username", default=None)
    approved_by = serializers.CharField(source="approved_by.username", default=None)

    class Meta:
        model = Transaction
        fields = ["id", "kind", "status", "instrument", "quantity", "from_account", "to_account", "reference",
                  "compliance_year", "purpose", "beneficiary", "reason", "proposed_by", "approved_by", "not_before",
                  "created_at", "executed_at", "reverses"]


class RegistryTransactionDetailOutput(RegistryTransactionOutput):
    legs = serializers.SerializerMethodField()

    class Meta(RegistryTransactionOutput.Meta):
        fields = [*RegistryTransactionOutput.Meta.fields, "legs"]

    def get_legs(self, tx) -> list[dict]:
        legs = tx.legs.select_related("instrument", "from_account", "to_account").order_by("serial_start")[:500]
        return RegistryLegOutput(legs, many=True).data


# Quantities are taken as given (string or number) so the service names the rule that a bad one breaks.
class RegistryTransferInput(serializers.Serializer):
    from_account = serializers.IntegerField()
    to_account = serializers.CharField(max_length=24, help_text="recipient account number, e.g. CN-300-0000042")
    instrument = serializers.CharField(max_length=60, help_text="instrument code, e.g. CEA21")
    quantity = serializers.JSONField(help_text="whole tonnes")
    reference = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")


class RegistryIssuanceInput(serializers.Serializer):
    instrument = serializers.CharField(max_length=60, help_text="instrument code, e.g. CEA25")
    quantity = serializers.JSONField(help_text="whole tonnes")
    reason = serializers.CharField(max_length=500)


class RegistrySurrenderInput(serializers.Serializer):
    account = serializers.IntegerField()
    instrument = serializers.CharField(max_length=60)
    quantity = serializers.JSONField(help_text="whole tonnes")
    compliance_year = serializers.IntegerField(min_value=2019, max_value=2100)
    reference = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")


class RegistryReasonInput(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class RegistryVintageTotalOutput(serializers.Serializer):
    instrument = serializers.CharField()
    kind = serializers.CharField()
    vintage = serializers.IntegerField()
    issued = serializers.IntegerField()
    allocated = serializers.IntegerField()
    surrendered = serializers.IntegerField()
    cancelled = serializers.IntegerField()
    retired = serializers.IntegerField()
    carried_over = serializers.IntegerField()
    deleted = serializers.IntegerField()
