from decimal import Decimal

from rest_framework import serializers

from ..models import AgencyAssignment, City, KeyEntity, Organisation, Province, Sector, SectorListing, Unit, User


class ProvinceOutput(serializers.ModelSerializer):
    class Meta:
        model = Province
        fields = ["code", "name", "name_en"]


class CityOutput(serializers.ModelSerializer):
    class Meta:
        model = City
        fields = ["code", "province", "name", "name_en"]


class EntityOutput(serializers.ModelSerializer):
    class Meta:
        model = KeyEntity
        fields = ["id", "name", "name_en", "credit_code", "sector", "province", "city", "inclusion_year", "status"]


class EntityInput(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    name_en = serializers.CharField(max_length=200, required=False, allow_blank=True)
    credit_code = serializers.CharField(max_length=18)
    sector = serializers.SlugRelatedField(slug_field="code", queryset=Sector.objects.filter(is_active=True),
                                          required=False, help_text="Main sector code (absent: power).")
    province = serializers.PrimaryKeyRelatedField(queryset=Province.objects.all())
    city = serializers.PrimaryKeyRelatedField(queryset=City.objects.all())
    inclusion_year = serializers.IntegerField(min_value=2013, max_value=2100)
    status = serializers.ChoiceField(choices=KeyEntity.Status.choices, default=KeyEntity.Status.ACTIVE)


class UnitOutput(serializers.ModelSerializer):
    category = serializers.SerializerMethodField()
    category_reason = serializers.SerializerMethodField()

    class Meta:
        model = Unit
        fields = ["id", "entity", "sector", "code", "name", "attributes", "rated_power_mw", "main_fuel", "coal_type",
                  "is_cfb", "cooling",
                  "is_chp", "technology", "biomass_share", "other_fuel_share", "commissioning_date", "status",
                  "category", "category_reason"]

    def get_category(self, unit) -> str | None:
        return unit.category_for().category

    def get_category_reason(self, unit) -> str:
        return unit.category_for().reason


class UnitInput(serializers.Serializer):
    entity = serializers.IntegerField()
    sector = serializers.SlugRelatedField(slug_field="code", queryset=Sector.objects.filter(is_active=True),
                                          required=False, help_text="Sector code (absent: power).")
    code = serializers.CharField(max_length=40)
    name = serializers.CharField(max_length=100)
    attributes = serializers.JSONField(required=False, help_text="The sector's facility attributes.")
    rated_power_mw = serializers.DecimalField(max_digits=8, decimal_places=2, min_value=Decimal("0.01"),
                                              required=False, allow_null=True)
    main_fuel = serializers.ChoiceField(choices=Unit.Fuel.choices, required=False, allow_blank=True)
    coal_type = serializers.ChoiceField(choices=Unit.CoalType.choices, required=False, allow_blank=True)
    is_cfb = serializers.BooleanField(default=False)
    cooling = serializers.ChoiceField(choices=Unit.Cooling.choices, default=Unit.Cooling.WATER)
    is_chp = serializers.BooleanField(default=False)
    technology = serializers.ChoiceField(choices=Unit.Technology.choices, default=Unit.Technology.CONVENTIONAL)
    biomass_share = serializers.DecimalField(max_digits=4, decimal_places=3, default=0, min_value=0, max_value=1)
    other_fuel_share = serializers.DecimalField(max_digits=4, decimal_places=3, default=0, min_value=0, max_value=1)
    commissioning_date = serializers.DateField()
    status = serializers.ChoiceField(choices=Unit.Status.choices, default=Unit.Status.OPERATING)


class SectorOutput(serializers.ModelSerializer):
    class Meta:
        model = Sector
        fields = ["code", "name", "name_en", "facility_kind", "facility_label", "facility_label_en", "processes",
                  "gases", "output_name", "output_name_en", "output_unit", "facility_attributes",
                  "monthly_parameters", "allocation_method", "allocation_level", "inclusion_threshold_tco2",
                  "first_year", "confidence", "source"]


class OrganisationOutput(serializers.ModelSerializer):
    class Meta:
        model = Organisation
        fields = ["id", "name", "name_en", "credit_code", "kind", "province", "is_active"]


class MeOutput(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "username", "role", "province", "city", "entity", "organisation"]


class AgencyAssignmentOutput(serializers.ModelSerializer):
    class Meta:
        model = AgencyAssignment
        fields = ["id", "year", "entity", "agency", "assigned_by", "assigned_at"]


class AgencyAssignmentInput(serializers.Serializer):
    entity = serializers.IntegerField()
    agency = serializers.PrimaryKeyRelatedField(queryset=Organisation.objects.all())
    year = serializers.IntegerField(min_value=2013, max_value=2100)


class ApiTokenOutput(serializers.Serializer):
    token = serializers.CharField()
    otp_verified = serializers.BooleanField(help_text="issued from a session verified by the user's authenticator")


class SectorListingOutput(serializers.ModelSerializer):
    entity_name = serializers.CharField(source="entity.name", read_only=True)
    credit_code = serializers.CharField(source="entity.credit_code", read_only=True)
    province = serializers.CharField(source="entity.province_id", read_only=True)

    class Meta:
        model = SectorListing
        fields = ["id", "year", "sector", "entity", "entity_name", "credit_code", "province", "status",
                  "emissions_tco2", "reason"]
