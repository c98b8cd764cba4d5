
"""Input and output shapes of the voluntary-market API: validate shape only, rules live in services."""

from django.urls import reverse
from django.utils import timezone
from rest_framework import serializers

from entities.models import Organisation, Province

from ..models import Comment, CreditUse, Document, Issuance, Methodology, MonitoringReport, Project


class CcerMethodologyOutput(serializers.ModelSerializer):
    class Meta:
        model = Methodology
        fields = ["id", "code", "version", "title", "title_en", "sector_code", "sector", "calculation", "capacity_unit",
                  "project_fields", "applicability", "applicability_text", "crediting_years_min",
                  "crediting_years_max", "parameters", "formula", "confidence", "published_on", "note"]


class CcerProjectOutput(serializers.ModelSerializer):
    methodology = serializers.SlugRelatedField(slug_field="code", read_only=True)
    owner_name = serializers.CharField(source="owner.name", read_only=True)
    validator_name = serializers.CharField(source="validator.name", read_only=True)

    class Meta:
        model = Project
        fields = ["id", "ref", "registration_number", "title", "title_en", "description", "owner", "owner_name",
                  "methodology", "validator", "validator_name", "province", "site", "capacity", "construction_start",
                  "crediting_start", "crediting_end", "parameters", "state", "disclosure_start", "disclosure_end",
                  "validated_on", "applied_on", "decision_due", "registered_on", "rejected_on", "rejection_reason",
                  "cancelled_on", "cancellation_reason"]


class CcerProjectInput(serializers.Serializer):
    methodology = serializers.SlugRelatedField(slug_field="code", queryset=Methodology.objects.filter(is_active=True))
    validator = serializers.PrimaryKeyRelatedField(queryset=Organisation.objects.filter(kind=Organisation.Kind.VVB))
    title = serializers.CharField(max_length=200)
    title_en = serializers.CharField(max_length=200, required=False, allow_blank=True)
    description = serializers.CharField(required=False, allow_blank=True)
    site = serializers.CharField(max_length=200)
    province = serializers.PrimaryKeyRelatedField(queryset=Province.objects.all())
    capacity = serializers.DecimalField(max_digits=12, decimal_places=2)
    construction_start = serializers.DateField()
    crediting_start = serializers.DateField()
    crediting_end = serializers.DateField()
    parameters = serializers.DictField()

    def to_service(self) -> dict:
        data = dict(self.validated_data)
        if "province" in data:
            data["province_id"] = data.pop("province").pk
        return data


class CcerProjectUpdateInput(CcerProjectInput):
    def to_service(self) -> dict:
        data = super().to_service()
        for key in ("methodology", "validator"):
            if key in data:
                data[f"{key}_id"] = data.pop(key).pk
        return data


class CcerReasonInput(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class CcerValidateInput(serializers.Serializer):
    positive = serializers.BooleanField()
    conclusion = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class CcerDocumentOutput(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = Document
        fields = ["id", "kind", "name", "size", "sha256", "report", "uploaded_at", "url"]

    def get_url(self, doc) -> str:
        return reverse("voluntary:public-document", args=[doc.pk])


class CcerDocumentInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Document.Kind.choices)
    file = serializers.FileField()
    report = serializers.IntegerField(required=False)


class CcerCommentOutput(serializers.ModelSerializer):
    class Meta:
        model = Comment
        fields = ["id", "report", "author_name", "author_email", "text", "created_at"]


class CcerCommentInput(serializers.Serializer):
    author_name = serializers.CharField(max_length=100)
    author_email = serializers.EmailField(required=False, allow_blank=True)
    text = serializers.CharField(max_length=5000)
    report = serializers.IntegerField(required=False)


class CcerReportOutput(serializers.ModelSerializer):
    project_ref = serializers.CharField(source="project.ref", read_only=True)

    class Meta:
        model = MonitoringReport
        fields = ["id", "project", "project_ref", "verifier", "period_start", "period_end", "net_export_mwh",
                  "reported_reductions", "claimed_reductions", "verified_net_export_mwh", "verified_reductions",
                  "calculation", "state", "verified_on", "disclosure_end", "applied_on", "decision_due",
                  "registered_on", "rejected_on", "rejection_reason"]


class CcerReportInput(serializers.Serializer):
    project = serializers.IntegerField()
    verifier = serializers.PrimaryKeyRelatedField(queryset=Organisation.objects.filter(kind=Organisation.Kind.VVB))
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    net_export_mwh = serializers.DecimalField(max_digits=14, decimal_places=3, required=False, allow_null=True)
    reported_reductions = serializers.IntegerField(required=False, allow_null=True, min_value=0)


class CcerVerifyInput(serializers.Serializer):
    verified_net_export_mwh = serializers.DecimalField(max_digits=14, decimal_places=3, required=False,
                                                       allow_null=True)
    verified_reductions = serializers.IntegerField(required=False, allow_null=True, min_value=0)


class CcerIssuanceOutput(serializers.ModelSerializer):
    project_ref = serializers.CharField(source="project.ref", read_only=True)
    registration_number = serializers.CharField(source="project.registration_number", read_only=True)

    class Meta:
        model = Issuance
        fields = ["id", "project", "project_ref", "registration_number", "report", "vintage", "instrument_code",
                  "quantity", "serial_start", "serial_end", "serial_range", "registry_ref", "issued_on"]


class CcerUseOutput(serializers.ModelSerializer):
    project_ref = serializers.CharField(source="project.ref", read_only=True)
    reversed_on = serializers.SerializerMethodField(help_text="Date the registry reversed this cancellation "
                                                              "(null: it stands).")
    verify_url = serializers.SerializerMethodField()
    certificate_url = serializers.SerializerMethodField()

    class Meta:
        model = CreditUse
        fields = ["code", "kind", "purpose", "purpose_detail", "beneficiary", "holder", "entity", "compliance_year",
                  "project", "project_ref", "vintage", "instrument_code", "quantity", "serials", "registry_ref",
                  "used_on", "reversed_on", "verify_url", "certificate_url"]

    def get_reversed_on(self, use) -> str | None:
        reversal = getattr(use, "reversal", None)
        return timezone.localdate(reversal.executed_at).isoformat() if reversal and reversal.executed_at else None

    def get_verify_url(self, use) -> str:
        return reverse("voluntary:public-use", args=[use.code])

    def get_certificate_url(self, use) -> str:
        return reverse("voluntary:public-certificate", args=[use.code])


class CcerTransferInput(serializers.Serializer):
    instrument = serializers.CharField(max_length=60)
    to_account = serializers.CharField(max_length=24)
    quantity = serializers.IntegerField()


class CcerRetireInput(serializers.Serializer):
    instrument = serializers.CharField(max_length=60)
    quantity = serializers.IntegerField()
    beneficiary = serializers.CharField(max_length=200)
    purpose = serializers.ChoiceField(choices=[c for c in CreditUse.Purpose.choices if c[0] != "compliance"])
    purpose_detail = serializers.CharField(max_length=300, required=False, allow_blank=True)


class CcerOffsetInput(serializers.Serializer):
    entity = serializers.IntegerField()
    instrument = serializers.CharField(max_length=60)
    quantity = serializers.IntegerField()
    compliance_year = serializers.IntegerField(min_value=2021, max_value=2100)


class CcerAccreditationInput(serializers.Serializer):
    scope = serializers.CharField(max_length=100)
    number = serializers.CharField(max_length=60)
    valid_from = serializers.DateField()
    valid_to = serializers.DateField()


class CcerOrganisationInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[Organisation.Kind.VVB, Organisation.Kind.PROJECT_OWNER])
    name = serializers.CharField(max_length=200)
    name_en = serializers.CharField(max_length=200, required=False, allow_blank=True)
    credit_code = serializers.CharField(max_length=18)
    province = serializers.PrimaryKeyRelatedField(queryset=Province.objects.all())
    accreditations = CcerAccreditationInput(many=True, required=False)


class CcerVvbOutput(serializers.ModelSerializer):
    accreditations = serializers.SerializerMethodField()

    class Meta:
        model = Organisation
        fields = ["id", "name", "name_en", "credit_code", "kind", "province", "is_active", "accreditations"]

    def get_accreditations(self, org) -> list[dict]:
        return [{"scope": a.scope, "number": a.number, "valid_from": a.valid_from, "valid_to": a.valid_to}
                for a in org.accreditations.all()]
