"""Input and output shapes of the compliance API (money as strings, tonnes as integers)."""

from rest_framework import serializers

from .. import standing
from ..models import (
    ComplianceCycle,
    CycleMilestone,
    CycleSector,
    Obligation,
    Penalty,
    ReliefDecision,
    RiskSnapshot,
    RiskWarning,
    SurrenderStep,
)


class CycleSectorOutput(serializers.ModelSerializer):
    class Meta:
        model = CycleSector
        fields = ["sector", "allocation_basis", "confidence", "source"]


class CycleMilestoneOutput(serializers.ModelSerializer):
    class Meta:
        model = CycleMilestone
        fields = ["kind", "sector", "due_on", "confidence", "source"]


class ComplianceCycleOutput(serializers.ModelSerializer):
    eligible_vintages = serializers.SerializerMethodField()
    sectors = CycleSectorOutput(many=True, read_only=True)
    milestones = CycleMilestoneOutput(many=True, read_only=True)

    class Meta:
        model = ComplianceCycle
        fields = ["id", "code", "name", "first_year", "last_year", "offset_cap_pct", "milestone_pct",
                  "milestone_date", "deadline", "warning_horizons", "status", "draft", "closed_at", "confidence",
                  "source", "eligible_vintages", "sectors", "milestones"]

    def get_eligible_vintages(self, cycle) -> dict:
        result: dict[str, list[int]] = {}
        for v in cycle.vintages.all():
            result.setdefault(str(v.year), []).append(v.vintage)
        return result


class ComplianceObligationsInput(serializers.Serializer):
    year = serializers.IntegerField(min_value=2013, max_value=2100)


class ComplianceStepOutput(serializers.ModelSerializer):
    class Meta:
        model = SurrenderStep
        fields = ["id", "kind", "instrument_code", "quantity", "registry_transaction_id", "credit_use_code",
                  "on_date", "late", "created_at"]


class ComplianceObligationOutput(serializers.ModelSerializer):
    cycle = serializers.CharField(source="cycle.code")
    entity_name = serializers.CharField(source="entity.name")
    province = serializers.CharField(source="entity.province_id")
    # read from the registry ledger (Obligation.coverage), not stored
    surrendered_tco2 = serializers.IntegerField(read_only=True)
    offsets_tco2 = serializers.IntegerField(read_only=True)
    on_time_tco2 = serializers.IntegerField(read_only=True)
    remaining_tco2 = serializers.IntegerField(read_only=True)
    completed_on = serializers.DateField(read_only=True)
    # As the obligation stands today (compliance.standing), not only once the cycle is closed.
    status = serializers.ChoiceField(choices=Obligation.Status.choices, source="current_standing", read_only=True)
    shortfall_tco2 = serializers.SerializerMethodField()

    class Meta:
        model = Obligation
        fields = ["id", "cycle", "entity", "entity_name", "province", "year", "verified_emissions_tco2",
                  "relief_tco2", "quantity_tco2", "allocation_tco2", "plan_relief_tco2", "borrowed_tco2",
                  "surrendered_tco2", "offsets_tco2", "on_time_tco2", "remaining_tco2", "completed_on", "status",
                  "shortfall_tco2", "closed_at"]

    def get_shortfall_tco2(self, obligation) -> int:
        return standing.shortfall_of(obligation)


class ComplianceObligationDetailOutput(ComplianceObligationOutput):
    steps = ComplianceStepOutput(many=True, read_only=True)
    offset_cap_tco2 = serializers.SerializerMethodField()
    eligible_vintages = serializers.SerializerMethodField()

    class Meta(ComplianceObligationOutput.Meta):
        fields = ComplianceObligationOutput.Meta.fields + ["steps", "offset_cap_tco2", "eligible_vintages", "holdings"]

    holdings = serializers.SerializerMethodField()

    def get_holdings(self, obligation) -> list[dict]:
        from ..selectors import surrender_options

        return surrender_options(obligation)

    def get_offset_cap_tco2(self, obligation) -> int:
        from ..services import offset_cap_tco2

        return offset_cap_tco2(obligation)

    def get_eligible_vintages(self, obligation) -> list[int]:
        from ..services import eligible_vintages

        return eligible_vintages(obligation)


class ComplianceSurrenderInput(serializers.Serializer):
    """``items``: ``{"kind": "cea", "vintage": 2021, "quantity": 600000}`` or ``{"kind": "ccer", "instrument":
    "CCER-...-2022", "quantity": 30000}``; the service checks each item and names the field at fault
    (``items[0].vintage``), so the rules live in one place for every door."""

    items = serializers.ListField(child=serializers.DictField(), allow_empty=True, max_length=20)


class ComplianceSurrenderOutput(serializers.Serializer):
    steps = ComplianceStepOutput(many=True)
    obligation = ComplianceObligationOutput()


class ComplianceRiskWarningOutput(serializers.ModelSerializer):
    cycle = serializers.CharField(source="cycle.code")
    entity_name = serializers.CharField(source="entity.name")

    class Meta:
        model = RiskWarning
        fields = ["id", "cycle", "entity", "entity_name", "horizon_days", "level", "gap_tco2", "message",
                  "created_at"]


class ComplianceRiskOutput(serializers.ModelSerializer):
    entity_name = serializers.CharField(source="entity.name")
    province = serializers.CharField(source="entity.province_id")

    class Meta:
        model = RiskSnapshot
        fields = ["entity", "entity_name", "province", "on_date", "expected_tco2", "basis", "holdings_tco2",
                  "pending_allocation_tco2", "covered_tco2", "gap_tco2", "gap_change_tco2", "days_left", "level"]


class ComplianceReliefInput(serializers.Serializer):
    obligation = serializers.IntegerField()
    quantity = serializers.IntegerField(min_value=1, max_value=10**13)
    reason = serializers.CharField(max_length=500)


class ComplianceDecideInput(serializers.Serializer):
    approve = serializers.BooleanField()


class ComplianceReliefOutput(serializers.ModelSerializer):
    class Meta:
        model = ReliefDecision
        fields = ["id", "obligation", "quantity_tco2", "reason", "status", "proposed_by", "decided_by", "created_at",
                  "decided_at"]


class CompliancePenaltyInput(serializers.Serializer):
    obligation = serializers.IntegerField()
    multiplier = serializers.DecimalField(max_digits=4, decimal_places=2)
    average_price = serializers.DecimalField(max_digits=18, decimal_places=2, required=False)


class CompliancePenaltyOutput(serializers.ModelSerializer):
    class Meta:
        model = Penalty
        fields = ["id", "obligation", "shortfall_tco2", "price_month", "average_price", "multiplier", "amount",
                  "status", "proposed_by", "decided_by", "deduction_transaction_id", "created_at"]

