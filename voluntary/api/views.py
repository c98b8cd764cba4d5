"""The voluntary-market API: public reads, owner/VVB/registry actions, each a thin call to a service."""

from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from cets.common.api import idempotent, validated
from cets.common.errors import NotFound
from cets.common.parsers import JSONParser
from cets.common.stepup import step_up

from .. import selectors, services
from ..certificates import certificate_pdf
from ..models import MonitoringReport
from . import serializers as s


class PublicRead(AllowAny):
    """Reads are public; writes need a signed-in user (each service then checks the role)."""

    def has_permission(self, request, view):
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        return bool(request.user and request.user.is_authenticated)


class MethodologyViewSet(viewsets.ReadOnlyModelViewSet):
    """Published CCER methodologies with their applicability, limits and formula (public)."""

    serializer_class = s.CcerMethodologyOutput
    permission_classes = [AllowAny]
    lookup_field = "code"
    search_fields = ["code", "title", "title_en"]

    def get_queryset(self):
        return selectors.methodologies_public()


class VvbViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """VVBs and project owners (public register); the registry admits new ones."""

    serializer_class = s.CcerVvbOutput
    permission_classes = [PublicRead]
    filterset_fields = ["kind"]
    search_fields = ["name", "credit_code"]

    def get_queryset(self):
        return selectors.organisations_public()

    @extend_schema(request=s.CcerOrganisationInput, responses={201: s.CcerVvbOutput})
    def create(self, request):
        data = validated(s.CcerOrganisationInput, request)
        fields = dict(data)
        org = services.organisation_register(actor=request.user, province_id=fields.pop("province").pk, **fields)
        return Response(s.CcerVvbOutput(org).data, status=status.HTTP_201_CREATED)


class ProjectViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """CCER projects: public once disclosed; drafts to their owner and VVB; actions by role."""

    serializer_class = s.CcerProjectOutput
    permission_classes = [PublicRead]
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    filterset_fields = ["state", "province", "owner", "validator"]
    search_fields = ["ref", "registration_number", "title", "title_en", "site", "owner__name"]
    ordering_fields = ["id", "registered_on", "disclosure_end"]

    def get_queryset(self):
        return selectors.projects_visible_to(self.request.user)

    def _project(self, pk):
        return selectors.project_get(user=self.request.user, pk=pk)

    def _done(self, project):
        return Response(s.CcerProjectOutput(project).data)

    @extend_schema(request=s.CcerProjectInput, responses={201: s.CcerProjectOutput})
    def create(self, request):
        data = s.CcerProjectInput(data=request.data)
        data.is_valid(raise_exception=True)
        project = services.project_create(actor=request.user, **data.to_service())
        return Response(s.CcerProjectOutput(project).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.CcerProjectUpdateInput, responses=s.CcerProjectOutput)
    def partial_update(self, request, pk=None):
        project = self._project(pk)
        data = s.CcerProjectUpdateInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        return self._done(services.project_update(actor=request.user, project=project, **data.to_service()))

    @extend_schema(request=None, responses=s.CcerProjectOutput)
    @action(detail=True, methods=["post"])
    def publish(self, request, pk=None):
        return self._done(services.project_publish(actor=request.user, project=self._project(pk)))

    @extend_schema(request=s.CcerValidateInput, responses=s.CcerProjectOutput)
    @action(detail=True, methods=["post"])
    def validate(self, request, pk=None):
        data = validated(s.CcerValidateInput, request)
        return self._done(services.project_validate(actor=request.user, project=self._project(pk),
                                                    **data))

    @extend_schema(request=None, responses=s.CcerProjectOutput)
    @action(detail=True, methods=["post"])
    def apply(self, request, pk=None):
        return self._done(services.project_apply(actor=request.user, project=self._project(pk)))

    @extend_schema(request=None, responses=s.CcerProjectOutput)
    @action(detail=True, methods=["post"])
    def register(self, request, pk=None):
        return self._done(services.project_register(actor=request.user, project=self._project(pk)))

    @extend_schema(request=s.CcerReasonInput, responses=s.CcerProjectOutput)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        data = validated(s.CcerReasonInput, request)
        return self._done(services.project_reject(actor=request.user, project=self._project(pk),
                                                  reason=data["reason"]))

    @extend_schema(request=s.CcerReasonInput, responses=s.CcerProjectOutput)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        data = validated(s.CcerReasonInput, request)
        return self._done(services.project_cancel(actor=request.user, project=self._project(pk),
                                                  reason=data["reason"]))

    @extend_schema(request={"multipart/form-data": s.CcerDocumentInput},
                   responses={200: s.CcerDocumentOutput(many=True), 201: s.CcerDocumentOutput})
    @action(detail=True, methods=["get", "post"])
    def documents(self, request, pk=None):
        project = self._project(pk)
        if request.method == "GET":
            return Response(s.CcerDocumentOutput(selectors.documents_visible_to(request.user, project), many=True).data)
        data = validated(s.CcerDocumentInput, request)
        report = None
        if data.get("report"):
            report = selectors.report_get(user=request.user, pk=data["report"])
        doc = services.document_upload(actor=request.user, project=project, kind=data["kind"],
                                       upload=data["file"], report=report)
        return Response(s.CcerDocumentOutput(doc).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.CcerCommentInput,
                   responses={200: s.CcerCommentOutput(many=True), 201: s.CcerCommentOutput})
    @action(detail=True, methods=["get", "post"], permission_classes=[AllowAny])
    def comments(self, request, pk=None):
        project = self._project(pk)
        if request.method == "GET":
            if not selectors.may_see_comments(request.user, project):
                raise NotFound("Comments are visible to the owner, the VVBs and the registry only.", field="project")
            return Response(s.CcerCommentOutput(selectors.comments_visible_to(request.user, project), many=True).data)
        data = validated(s.CcerCommentInput, request)
        fields = dict(data)
        report = None
        if fields.get("report"):
            report = selectors.report_get(user=request.user, pk=fields.pop("report"))
        fields.pop("report", None)
        comment = services.comment_add(project=project, report=report, user=request.user, **fields)
        return Response({"id": comment.pk, "created_at": comment.created_at}, status=status.HTTP_201_CREATED)


class ReportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Monitoring reports (reductions): public once disclosed; actions by owner, verifier, registry."""

    serializer_class = s.CcerReportOutput
    permission_classes = [PublicRead]
    filterset_fields = ["state", "project", "verifier"]

    def get_queryset(self):
        return selectors.reports_visible_to(self.request.user)

    def _report(self, pk) -> MonitoringReport:
        return selectors.report_get(user=self.request.user, pk=pk)

    def _done(self, report):
        return Response(s.CcerReportOutput(report).data)

    @extend_schema(request=s.CcerReportInput, responses={201: s.CcerReportOutput})
    def create(self, request):
        data = validated(s.CcerReportInput, request)
        fields = dict(data)
        project = selectors.project_get(user=request.user, pk=fields.pop("project"))
        report = services.report_create(actor=request.user, project=project, **fields)
        return Response(s.CcerReportOutput(report).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=s.CcerReportOutput)
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        return self._done(services.report_submit(actor=request.user, report=self._report(pk)))

    @extend_schema(request=s.CcerVerifyInput, responses=s.CcerReportOutput)
    @action(detail=True, methods=["post"])
    def verify(self, request, pk=None):
        data = validated(s.CcerVerifyInput, request)
        return self._done(services.report_verify(actor=request.user, report=self._report(pk),
                                                 **data))

    @extend_schema(request=None, responses=s.CcerReportOutput)
    @action(detail=True, methods=["post"])
    def apply(self, request, pk=None):
        return self._done(services.report_apply(actor=request.user, report=self._report(pk)))

    @extend_schema(request=None, responses=s.CcerIssuanceOutput(many=True))
    @action(detail=True, methods=["post"])
    @step_up
    @idempotent
    def register(self, request, pk=None):
        issuances = services.report_register(actor=request.user, report=self._report(pk))
        return Response(s.CcerIssuanceOutput(issuances, many=True).data)

    @extend_schema(request=s.CcerReasonInput, responses=s.CcerReportOutput)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        data = validated(s.CcerReasonInput, request)
        return self._done(services.report_reject(actor=request.user, report=self._report(pk),
                                                 reason=data["reason"]))


class IssuanceViewSet(viewsets.ReadOnlyModelViewSet):
    """Every CCER issuance with its serial range (public)."""

    serializer_class = s.CcerIssuanceOutput
    permission_classes = [AllowAny]
    filterset_fields = ["project", "vintage", "instrument_code"]

    def get_queryset(self):
        return selectors.issuances_public()


class UseViewSet(viewsets.ReadOnlyModelViewSet):
    """Cancellations for offset and voluntary retirements (public), looked up by certificate code."""

    serializer_class = s.CcerUseOutput
    permission_classes = [AllowAny]
    lookup_field = "code"
    filterset_fields = ["kind", "purpose", "project", "entity", "compliance_year"]
    search_fields = ["code", "beneficiary"]

    def get_queryset(self):
        return selectors.uses_public()

    def get_object(self):
        return selectors.with_registry_status([super().get_object()])[0]

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        return None if page is None else selectors.with_registry_status(page)

    @extend_schema(responses={(200, "application/pdf"): bytes})
    @action(detail=True, methods=["get"])
    def certificate(self, request, code=None):
        use = selectors.use_for_certificate(code)
        url = request.build_absolute_uri(reverse("voluntary:public-use", args=[use.code]))
        response = HttpResponse(certificate_pdf(use, url), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="ccer-{use.code}.pdf"'
        return response


class TransferView(APIView):
    """Move CCERs to another registry account (registry transfer; exchange trading comes later)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=s.CcerTransferInput, responses={201: dict})
    @idempotent
    def post(self, request):
        data = validated(s.CcerTransferInput, request)
        v = data
        result = services.ccer_transfer(actor=request.user, instrument_code=v["instrument"],
                                        to_account=v["to_account"], quantity=v["quantity"])
        return Response(result, status=status.HTTP_201_CREATED)


class RetireView(APIView):
    """Retire CCERs voluntarily for a beneficiary and purpose; answers the public record."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=s.CcerRetireInput, responses={201: s.CcerUseOutput})
    @idempotent
    def post(self, request):
        data = validated(s.CcerRetireInput, request)
        v = data
        use = services.credit_retire(actor=request.user, instrument_code=v["instrument"], quantity=v["quantity"],
                                     beneficiary=v["beneficiary"], purpose=v["purpose"],
                                     purpose_detail=v.get("purpose_detail", ""))
        return Response(s.CcerUseOutput(use).data, status=status.HTTP_201_CREATED)
