from rest_framework import serializers

from ..models import (
    AllocationPlan,
    AllocationRun,
    BalanceValue,
    BenchmarkRow,
    BorrowingApplication,
    EntityAllocation,
    Scenario,
)


class CalculatorUnitInput(serializers.Serializer):
    """Documentation of one unit of the calculator (values are checked by the formula, naming the field)."""

    id = serializers.CharField()
    category = serializers.ChoiceField(choices=["I", "II", "III", "IV"])
    electricity_mwh = serializers.DecimalField(max_digits=20, decimal_places=6,
                                               help_text="supply or generation, as the plan's basis says")
    heat_gj = serializers.DecimalField(max_digits=20, decimal_places=6)
    cooling = serializers.ChoiceField(choices=["water", "air", "back_pressure"])
    heat_supply_ratio = serializers.DecimalField(max_digits=8, decimal_places=6)
    load_factor = serializers.DecimalField(max_digits=8, decimal_places=6)
    verified_emissions_tco2 = serializers.DecimalField(max_digits=20, decimal_places=3, allow_null=True)
    exemption = serializers.CharField(required=False, help_text="2025-26 plans: a unit allocated its emissions")
    output_t = serializers.DecimalField(max_digits=20, decimal_places=3, required=False,
                                       help_text="industrial sectors: intensity output (ironmaking, clinker, Al)")
    intensity_emissions_tco2 = serializers.DecimalField(max_digits=20, decimal_places=3, required=False,
                                                        help_text="industrial sectors; default verified emissions")


class CalculatorInput(serializers.Serializer):
    plan = serializers.CharField(help_text="power: 2019-20 ... 2026; industry: cement-2025 or the year")
    sector = serializers.CharField(required=False, help_text="absent: power")
    balance_value = serializers.DecimalField(max_digits=10, decimal_places=4, required=False,
                                             help_text="industrial sectors; absent: solved from the units")
    units = CalculatorUnitInput(many=True)


class LineOutput(serializers.Serializer):
    label = serializers.CharField()
    formula = serializers.CharField()
    inputs = serializers.DictField()
    value = serializers.CharField()


class CalculatorUnitOutput(serializers.Serializer):
    id = serializers.CharField()
    allocation_tco2 = serializers.IntegerField()
    lines = LineOutput(many=True)


class CalculatorOutput(serializers.Serializer):
    units = CalculatorUnitOutput(many=True)
    entity_total_tco2 = serializers.IntegerField(required=False, help_text="power")
    relief_tco2 = serializers.IntegerField(required=False, help_text="power")
    balance_value = serializers.CharField(required=False, allow_null=True, help_text="industrial sectors")
    sector_total_tco2 = serializers.IntegerField(required=False, help_text="industrial sectors")


class BenchmarkRowOutput(serializers.ModelSerializer):
    class Meta:
        model = BenchmarkRow
        fields = ["year", "category", "kind", "electricity_t_per_mwh", "heat_t_per_gj", "confidence", "note"]


class BalanceValueInput(serializers.Serializer):
    plan = serializers.CharField(help_text="an intensity plan, e.g. cement-2025")
    year = serializers.IntegerField(min_value=2019, max_value=2100)


class BalanceValueOutput(serializers.ModelSerializer):
    plan = serializers.CharField(source="plan.code", read_only=True)

    class Meta:
        model = BalanceValue
        fields = ["plan", "year", "value", "confidence", "note", "solved_from", "published_at"]


class PlanOutput(serializers.ModelSerializer):
    benchmarks = BenchmarkRowOutput(many=True, read_only=True)
    balance_values = BalanceValueOutput(many=True, read_only=True)

    class Meta:
        model = AllocationPlan
        fields = ["code", "title", "sector", "method", "consultation_draft", "first_year", "last_year",
                  "activity_basis", "correction_scheme", "peak_formula", "exemptions", "intensity_band",
                  "intensity_slope", "carbide_slag_threshold",
                  "cooling_water_factor", "cooling_air_factor", "cooling_back_pressure_factor",
                  "heat_ratio_coefficient", "gas_heat_ratio_coefficient", "load_factor_for_chp", "peak_threshold",
                  "pre_allocation_share", "pre_allocation_basis", "gas_relief", "entity_relief_floor",
                  "borrowing_allowed", "borrowing_threshold", "borrowing_max_share", "vintage_rule", "confidence",
                  "note", "status", "published_at", "benchmarks", "balance_values"]


class EntityAllocationOutput(serializers.ModelSerializer):
    year = serializers.IntegerField(source="run.year")
    kind = serializers.CharField(source="run.kind")
    plan = serializers.CharField(source="run.plan.code")
    units = serializers.SerializerMethodField()

    class Meta:
        model = EntityAllocation
        fields = ["id", "entity", "year", "kind", "plan", "base_tco2", "relief_tco2", "allocation_tco2",
                  "verified_emissions_tco2", "previously_issued_tco2", "borrowing_deduction_tco2",
                  "penalty_deduction_tco2", "difference_tco2",
                  "destination", "status", "lines", "units"]

    def get_units(self, ea) -> list[dict]:
        return [{"unit": u.unit.code, "category": u.category, "base_tco2": u.base_tco2, "relief_tco2": u.relief_tco2,
                 "allocation_tco2": u.allocation_tco2, "lines": u.lines} for u in ea.units.all()]


class RunInput(serializers.Serializer):
    year = serializers.IntegerField(min_value=2019, max_value=2100)
    kind = serializers.ChoiceField(choices=AllocationRun.Kind.choices)
    entities = serializers.ListField(child=serializers.IntegerField(), required=False,
                                     help_text="re-determination: the entity ids whose verification changed")


class RunOutput(serializers.ModelSerializer):
    plan = serializers.CharField(source="plan.code")

    class Meta:
        model = AllocationRun
        fields = ["id", "plan", "year", "kind", "status", "created_by", "approved_by", "calculate_job", "issue_job",
                  "total_tco2", "issuance_reference", "entity_ids", "due_date", "created_at"]


class BorrowingInput(serializers.Serializer):
    year = serializers.IntegerField(min_value=2019, max_value=2100)
    requested_tco2 = serializers.IntegerField()


class BorrowingDecisionInput(serializers.Serializer):
    approve = serializers.BooleanField()


class BorrowingOutput(serializers.ModelSerializer):
    plan = serializers.CharField(source="plan.code")

    class Meta:
        model = BorrowingApplication
        fields = ["id", "entity", "plan", "year", "verified_emissions_tco2", "allocation_tco2", "shortfall_tco2",
                  "requested_tco2", "status", "decided_at", "issuance_reference", "created_at"]


class ScenarioInput(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    plan = serializers.CharField()
    data_year = serializers.IntegerField(min_value=2019, max_value=2100)
    overrides = serializers.DictField(required=False, default=dict)


class ScenarioOutput(serializers.ModelSerializer):
    plan = serializers.CharField(source="plan.code")

    class Meta:
        model = Scenario
        fields = ["id", "name", "plan", "data_year", "overrides", "result", "created_at"]
