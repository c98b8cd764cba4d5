"""MRV API: thin views over mrv.services, mrv.selectors and the oversight modules (reviews, verifications...)."""

from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from cets.common.api import error_response, validated
from cets.common.errors import DomainError, NotFound
from cets.common.stepup import step_up
from cets.common.viewsets import ScopedReadViewSet
from entities.models import ConsultingEngagement, KeyEntity, Organisation, Sector, Unit
from entities.selectors import assignments_visible_to, entity_get, scope_by_entity, units_visible_to
from entities.services import consulting_register

from .. import (
    accounting,
    agencies,
    determinations,
    early_warnings,
    reviews,
    sector_spreadsheet,
    sectors,
    selectors,
    services,
    spreadsheet,
    uploads,
    verifications,
)
from ..models import EarlyWarning
from . import serializers as s


def _invalid_file(exc: services.UploadInvalid) -> Response:
    return error_response(exc.code, str(exc.message), exc.field, 400, details=exc.errors)


def _invalid_rows(exc: services.InvalidRows) -> Response:
    return error_response(exc.code, str(exc.message), exc.field, 400,
                          details=[p.as_dict() for p in exc.problems])


class CalculateView(APIView):
    """The accounting guideline as a calculator: fuels and purchased electricity in, tCO2 with every line out."""

    @extend_schema(request=s.CalculateInput, responses={200: s.CalculateOutput},
                   description="Without `sector`: power, as before. With `sector` (steel, cement, aluminium, "
                               "power, ...): the sector's body (docs/adding-a-sector.md); the answer adds output, "
                               "intensity and gases. A field of another sector is refused.")
    def post(self, request):
        sector = request.data.get("sector") if isinstance(request.data, dict) else None
        try:
            if sector is None:
                values = validated(s.CalculateInput, request)
                result = accounting.compute(selectors.parameter_set(values["year"]), fuels=values["fuels"],
                                            purchased_electricity_mwh=values["purchased_electricity_mwh"])
            else:
                head = validated(s.SectorCalculateInput, request)
                body = {k: v for k, v in request.data.items() if k not in head}
                result = sectors.calculate(head["sector"], head["year"], body)
        except accounting.AccountingError as exc:
            raise DomainError(exc.message, exc.code, exc.field) from exc
        return Response(result.as_dict())


class SubmissionViewSet(ScopedReadViewSet):
    """Monthly submissions (every version); entities submit their own units, regulators review theirs."""

    filterset_fields = ["entity", "unit", "year", "month", "status", "is_current", "on_time"]
    ordering_fields = ["year", "month", "submitted_at"]

    def scoped_queryset(self, user):
        return selectors.submissions_visible_to(user).prefetch_related("fuels__test_report")

    def get_serializer_class(self):
        return s.SubmissionListOutput if self.action == "list" else s.SubmissionOutput

    @extend_schema(request=s.SubmissionInput, responses={201: s.SubmissionOutput},
                   description="A generating unit's month as below; a facility of another sector sends "
                               "FacilitySubmissionInput (its sector's monthly key parameters).")
    def create(self, request):
        head = validated(s.FacilitySubmissionInput, request)
        unit = units_visible_to(request.user).filter(pk=head["unit"]).first()
        if unit is None:
            raise NotFound("No such unit among the units you may submit for.", field="unit")
        if unit.is_generating_unit:
            values = dict(validated(s.SubmissionInput, request))
            values.pop("unit")
        else:
            values = {k: head[k] for k in ("year", "month", "note") if k in head}
            values["inputs"] = {**{k: v for k, v in request.data.items() if k not in head and k != "inputs"},
                                **head.get("inputs", {})}
        try:
            sub = services.submission_submit(actor=request.user, unit=unit, **values)
        except services.InvalidRows as exc:
            return _invalid_rows(exc)
        return Response(s.SubmissionOutput(sub).data, status=status.HTTP_201_CREATED)

    @extend_schema(request={"multipart/form-data": s.UploadInput}, responses={201: s.UploadOutput},
                   description="Kept for integrators: the same as POST /api/v1/mrv/uploads/ (a preview that "
                               "stores nothing until confirmed).")
    @action(detail=False, methods=["post"], parser_classes=[MultiPartParser, FormParser])
    def upload(self, request):
        return _upload_preview(request)

    @extend_schema(parameters=[OpenApiParameter("year", int), OpenApiParameter("sector", str)],
                   responses={(200, "application/octet-stream"): bytes})
    @action(detail=False, methods=["get"])
    def template(self, request):
        entity_id = request.user.acting_entity_id
        if not entity_id:
            raise NotFound("Templates are for entity users.", field="entity")
        try:
            year = int(request.query_params.get("year", timezone.localdate().year))
        except ValueError:
            raise DomainError("year must be a whole number.", "invalid_integer", "year")
        return template_response(entity_get(user=request.user, pk=entity_id), year,
                                 request.query_params.get("sector"))

    @extend_schema(request={"multipart/form-data": s.UploadInput}, responses={201: None})
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser, FormParser])
    def files(self, request, pk=None):
        item = services.supporting_file_add(actor=request.user, submission=self.get_object(),
                                            upload=request.FILES.get("file"),
                                            description=request.data.get("description", ""))
        return Response({"id": item.pk, "description": item.description}, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.QuestionInput, responses={201: s.InformationRequestOutput})
    @action(detail=True, methods=["post"], url_path="information-requests")
    def information_request(self, request, pk=None):
        data = validated(s.QuestionInput, request)
        rfi = reviews.information_request(actor=request.user, submission=self.get_object(),
                                          question=data["question"])
        return Response(s.InformationRequestOutput(rfi).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.AnswerInput, responses={200: s.InformationRequestOutput})
    @action(detail=True, methods=["post"], url_path="information-requests/answer")
    def information_answer(self, request, pk=None):
        data = validated(s.AnswerInput, request)
        rfi = self.get_object().information_requests.filter(status="open").first()
        if rfi is None:
            raise NotFound("No request for information is waiting.", field="answer")
        rfi = reviews.information_answer(actor=request.user, request=rfi, answer=data["answer"])
        return Response(s.InformationRequestOutput(rfi).data)

    @extend_schema(request=s.ExtensionInput, responses={201: s.ExtensionOutput})
    @action(detail=True, methods=["post"])
    def extensions(self, request, pk=None):
        data = validated(s.ExtensionInput, request)
        extension = reviews.extension_request(actor=request.user, submission=self.get_object(),
                                              **data)
        return Response(s.ExtensionOutput(extension).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.DecisionInput, responses={200: s.SubmissionOutput})
    @action(detail=True, methods=["post"])
    def review(self, request, pk=None):
        data = validated(s.DecisionInput, request)
        sub = reviews.submission_review(actor=request.user, submission=self.get_object(), **data)
        return Response(s.SubmissionOutput(sub).data)


def _upload_preview(request) -> Response:
    upload = request.FILES.get("file")
    if upload is None:
        raise DomainError("Attach the file as 'file'.", "required", "file")
    try:
        staged = uploads.upload_preview(actor=request.user, content=upload.read(), filename=upload.name)
    except services.UploadInvalid as exc:
        return _invalid_file(exc)
    return Response(s.UploadOutput(staged).data, status=status.HTTP_201_CREATED)


class UploadViewSet(ScopedReadViewSet):
    """Monthly template uploads: POST a file to get a preview of every change (before and after, per unit
    and month; nothing is stored), then POST ``confirm`` to store exactly that, or ``discard``. A confirm
    after any previewed month changed (new version, review decision, question) is refused with 409
    ``changed_since_preview`` and nothing changes: upload the file again."""

    serializer_class = s.UploadOutput
    filterset_fields = ["status"]

    def scoped_queryset(self, user):
        return selectors.uploads_visible_to(user)

    @extend_schema(request={"multipart/form-data": s.UploadInput}, responses={201: s.UploadOutput})
    def create(self, request):
        return _upload_preview(request)

    @extend_schema(request=None, responses={200: s.UploadOutput})
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        try:
            staged = uploads.upload_confirm(actor=request.user, upload=self.get_object())
        except services.InvalidRows as exc:
            return _invalid_rows(exc)
        return Response(s.UploadOutput(staged).data)

    @extend_schema(request=None, responses={200: s.UploadOutput})
    @action(detail=True, methods=["post"])
    def discard(self, request, pk=None):
        return Response(s.UploadOutput(uploads.upload_discard(actor=request.user, upload=self.get_object())).data)


def template_response(entity: KeyEntity, year: int, sector_code: str | None = None) -> HttpResponse:
    """The template of one sector's facilities of the entity (``sector``: default its main sector; a steel
    works with a captive power unit downloads each sector's template)."""
    sector = Sector.objects.filter(code=sector_code or entity.sector_id).first()
    if sector is None:
        raise DomainError("Unknown sector.", "invalid_choice", "sector")
    units = Unit.objects.filter(entity=entity, status=Unit.Status.OPERATING, sector=sector).order_by("code")
    months = spreadsheet.template_months(year, timezone.localdate())
    content = (spreadsheet.template_workbook(units, year, months) if sector.code == "power" else
               sector_spreadsheet.template_workbook(sector, units, year, months))
    response = HttpResponse(content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    suffix = "" if sector.code == "power" else f"-{sector.code}"
    response["Content-Disposition"] = f'attachment; filename="mrv-{entity.credit_code}-{year}{suffix}.xlsx"'
    return response


class TestReportViewSet(ScopedReadViewSet):
    """CMA/CNAS laboratory reports of the entity's fuel samples."""

    serializer_class = s.TestReportOutput
    filterset_fields = ["entity"]

    def scoped_queryset(self, user):
        return selectors.test_reports_visible_to(user)

    @extend_schema(request=s.TestReportInput, responses={201: s.TestReportOutput})
    def create(self, request):
        data = validated(s.TestReportInput, request)
        entity = _own_entity(request.user)
        report = services.test_report_create(actor=request.user, entity=entity, **data)
        return Response(s.TestReportOutput(report).data, status=status.HTTP_201_CREATED)


def _own_entity(user) -> KeyEntity:
    if not user.acting_entity_id:
        raise NotFound("Only an entity's users act for it.", field="entity")
    return entity_get(user=user, pk=user.acting_entity_id)


class QcPlanViewSet(ScopedReadViewSet):
    """Data quality control plans: every version; the province reviews each change."""

    serializer_class = s.QcPlanOutput
    filterset_fields = ["entity", "year", "status"]

    def scoped_queryset(self, user):
        return selectors.qc_plans_visible_to(user)

    @extend_schema(request=s.QcPlanInput, responses={201: s.QcPlanOutput})
    def create(self, request):
        data = validated(s.QcPlanInput, request)
        plan = services.qc_plan_submit(actor=request.user, entity=_own_entity(request.user), **data)
        return Response(s.QcPlanOutput(plan).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.DecisionInput, responses={200: s.QcPlanOutput})
    @action(detail=True, methods=["post"])
    def review(self, request, pk=None):
        data = validated(s.DecisionInput, request)
        plan = services.qc_plan_review(actor=request.user, plan=self.get_object(),
                                       approve=data["accept"], comment=data["comment"])
        return Response(s.QcPlanOutput(plan).data)


class AnnualReportViewSet(ScopedReadViewSet):
    """Annual emission reports compiled from the months (due Mar 31)."""

    serializer_class = s.AnnualReportOutput
    filterset_fields = ["entity", "year", "status"]

    def scoped_queryset(self, user):
        return selectors.annual_reports_visible_to(user)

    @extend_schema(request=s.AnnualReportInput, responses={201: s.AnnualReportOutput})
    def create(self, request):
        data = validated(s.AnnualReportInput, request)
        report = services.annual_report_compile(actor=request.user, entity=_own_entity(request.user),
                                                year=data["year"])
        return Response(s.AnnualReportOutput(report).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: s.AnnualReportOutput})
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        report = services.annual_report_submit(actor=request.user, report=self.get_object())
        return Response(s.AnnualReportOutput(report).data)

    @extend_schema(request=None, responses={200: s.AnnualReportOutput})
    @action(detail=True, methods=["post"])
    def recall(self, request, pk=None):
        report = services.annual_report_recall(actor=request.user, report=self.get_object())
        return Response(s.AnnualReportOutput(report).data)

    @extend_schema(request=s.ReasonInput, responses={200: s.AnnualReportOutput})
    @action(detail=True, methods=["post"], url_path="return")
    def return_for_correction(self, request, pk=None):
        data = validated(s.ReasonInput, request)
        report = verifications.annual_report_return(actor=request.user, report=self.get_object(),
                                                    reason=data["reason"])
        return Response(s.AnnualReportOutput(report).data)


class WarningViewSet(ScopedReadViewSet):
    """Early warnings: regulators' queues by tier and status; entities see what they must fix and why."""

    serializer_class = s.WarningOutput
    filterset_fields = ["entity", "tier", "status", "year", "month", "rule__code"]

    def scoped_queryset(self, user):
        return selectors.warnings_visible_to(user)

    @extend_schema(request=s.TransitionInput, responses={200: s.WarningOutput})
    @action(detail=True, methods=["post"])
    def transition(self, request, pk=None):
        data = validated(s.TransitionInput, request)
        warning: EarlyWarning = self.get_object()
        warning = early_warnings.warning_transition(actor=request.user, warning=warning, **data)
        return Response(s.WarningOutput(warning).data)


class VerificationViewSet(ScopedReadViewSet):
    """Verification: the assigned agency submits, the province confirms or determines, the entity may ask review."""

    serializer_class = s.VerificationOutput
    filterset_fields = ["entity", "year", "status", "agency"]

    def scoped_queryset(self, user):
        return selectors.verifications_visible_to(user).prefetch_related("unit_values__unit", "facility_values__unit",
                                                                          "findings")

    @extend_schema(request=s.VerificationInput, responses={201: s.VerificationOutput})
    def create(self, request):
        data = validated(s.VerificationInput, request)
        values = dict(data)
        entity = entity_get(user=request.user, pk=values.pop("entity"))
        verification = verifications.verification_submit(actor=request.user, entity=entity, **values)
        return Response(s.VerificationOutput(verification).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.EntityYearInput, responses={200: s.VerificationOutput})
    @action(detail=False, methods=["post"])
    def start(self, request):
        data = validated(s.EntityYearInput, request)
        entity = entity_get(user=request.user, pk=data["entity"])
        verification = verifications.verification_start(actor=request.user, entity=entity, year=data["year"])
        return Response(s.VerificationOutput(verification).data)

    @extend_schema(request=s.ReasonInput, responses={200: s.VerificationOutput})
    @action(detail=True, methods=["post"], url_path="return")
    def return_for_reverification(self, request, pk=None):
        data = validated(s.ReasonInput, request)
        verification = verifications.verification_return(actor=request.user, verification=self.get_object(),
                                                         reason=data["reason"])
        return Response(s.VerificationOutput(verification).data)

    @extend_schema(request=None, responses={200: s.VerificationOutput})
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        verification = verifications.verification_confirm(actor=request.user, verification=self.get_object())
        return Response(s.VerificationOutput(verification).data)

    @extend_schema(request=s.ReasonInput, responses={200: s.VerificationOutput})
    @action(detail=True, methods=["post"], url_path="request-review")
    def request_review(self, request, pk=None):
        data = validated(s.ReasonInput, request)
        verification = verifications.verification_request_review(actor=request.user, verification=self.get_object(),
                                                                 reason=data["reason"])
        return Response(s.VerificationOutput(verification).data)

    @extend_schema(request=s.ReviewDecisionInput, responses={200: s.VerificationOutput})
    @action(detail=True, methods=["post"], url_path="decide-review")
    def decide_review(self, request, pk=None):
        data = validated(s.ReviewDecisionInput, request)
        verification = verifications.verification_decide_review(actor=request.user, verification=self.get_object(),
                                                                **data)
        return Response(s.VerificationOutput(verification).data)

    @extend_schema(request=s.ExtensionInput, responses={201: s.ExtensionOutput})
    @action(detail=True, methods=["post"])
    def extensions(self, request, pk=None):
        data = validated(s.ExtensionInput, request)
        extension = reviews.extension_request(actor=request.user, verification=self.get_object(),
                                              **data)
        return Response(s.ExtensionOutput(extension).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.DetermineInput, responses={201: s.VerificationOutput})
    @action(detail=False, methods=["post"])
    def determine(self, request):
        data = validated(s.DetermineInput, request)
        values = dict(data)
        entity = entity_get(user=request.user, pk=values.pop("entity"))
        verification = determinations.verification_determine(actor=request.user, entity=entity, **values)
        return Response(s.VerificationOutput(verification).data, status=status.HTTP_201_CREATED)


    @extend_schema(request=None, responses={200: s.VerificationOutput})
    @action(detail=True, methods=["post"], url_path="approve-determination")
    @step_up
    def approve_determination(self, request, pk=None):
        verification = determinations.verification_determination_approve(actor=request.user,
                                                                         verification=self.get_object())
        return Response(s.VerificationOutput(verification).data)


class FindingViewSet(ScopedReadViewSet):
    """Verification findings: the entity answers each, the assigned agency closes or reopens it."""

    serializer_class = s.FindingOutput
    filterset_fields = ["verification", "status"]

    def scoped_queryset(self, user):
        return selectors.findings_visible_to(user)

    @extend_schema(request=s.AnswerInput, responses={200: s.FindingOutput})
    @action(detail=True, methods=["post"])
    def answer(self, request, pk=None):
        data = validated(s.AnswerInput, request)
        finding = verifications.finding_answer(actor=request.user, finding=self.get_object(), **data)
        return Response(s.FindingOutput(finding).data)

    @extend_schema(request=s.CloseFindingInput, responses={200: s.FindingOutput})
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        data = validated(s.CloseFindingInput, request)
        finding = verifications.finding_close(actor=request.user, finding=self.get_object(), **data)
        return Response(s.FindingOutput(finding).data)


class ExtensionViewSet(ScopedReadViewSet):
    """Requests to extend a decision deadline; the tier above the requester decides."""

    serializer_class = s.ExtensionOutput
    filterset_fields = ["status"]

    def scoped_queryset(self, user):
        return selectors.extensions_visible_to(user)

    @extend_schema(request=s.GrantInput, responses={200: s.ExtensionOutput})
    @action(detail=True, methods=["post"])
    def decide(self, request, pk=None):
        data = validated(s.GrantInput, request)
        extension = reviews.extension_decide(actor=request.user, extension=self.get_object(),
                                             grant=data["grant"])
        return Response(s.ExtensionOutput(extension).data)


class AssignmentViewSet(ScopedReadViewSet):
    """Agency assignments as verification work: the province cancels one or replaces the agency, with a reason,
    until the agency submits its report."""

    serializer_class = s.AssignmentOutput
    filterset_fields = ["year", "entity", "agency", "status"]

    def scoped_queryset(self, user):
        return assignments_visible_to(user)

    @extend_schema(request=s.ReasonInput, responses={200: s.AssignmentOutput})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        data = validated(s.ReasonInput, request)
        assignment = agencies.assignment_cancel(actor=request.user, assignment=self.get_object(),
                                                reason=data["reason"])
        return Response(s.AssignmentOutput(assignment).data)

    @extend_schema(request=s.ReplaceAssignmentInput, responses={201: s.AssignmentOutput})
    @action(detail=True, methods=["post"])
    def replace(self, request, pk=None):
        data = validated(s.ReplaceAssignmentInput, request)
        agency = Organisation.objects.filter(pk=data["agency"]).first()
        if agency is None:
            raise NotFound(_("No such organisation."), field="agency")
        assignment = agencies.assignment_replace(actor=request.user, assignment=self.get_object(), agency=agency,
                                                 reason=data["reason"])
        return Response(s.AssignmentOutput(assignment).data, status=status.HTTP_201_CREATED)


class ReminderViewSet(ScopedReadViewSet):
    """Reminders sent 7 days and 1 day before due dates, to whoever must act."""

    serializer_class = s.ReminderOutput
    filterset_fields = ["kind", "entity", "due_date"]

    def scoped_queryset(self, user):
        return selectors.reminders_visible_to(user)


class AgencyRatingView(APIView):
    """A province rates a verification agency's year (timeliness and quality, 1-5)."""

    @extend_schema(request=s.RatingInput, responses={200: None})
    def post(self, request):
        data = validated(s.RatingInput, request)
        values = dict(data)
        agency = Organisation.objects.filter(pk=values.pop("agency"),
                                             kind=Organisation.Kind.VERIFICATION_AGENCY).first()
        if agency is None:
            raise NotFound("No such verification agency.", field="agency")
        rating = agencies.agency_rate(actor=request.user, agency=agency, **values)
        return Response({"agency": agency.pk, "year": rating.year, "timeliness": rating.timeliness,
                         "quality": rating.quality, "on_time_reports": rating.on_time_reports,
                         "late_reports": rating.late_reports})


class ConsultingViewSet(ScopedReadViewSet):
    """Who helped an entity prepare its report for a year; such a body may not verify in that province that year."""

    serializer_class = s.ConsultingOutput
    filterset_fields = ["entity", "year", "organisation"]

    def scoped_queryset(self, user):
        return scope_by_entity(ConsultingEngagement.objects.order_by("-year", "pk"), user)

    @extend_schema(request=s.ConsultingInput, responses={201: s.ConsultingOutput})
    def create(self, request):
        data = validated(s.ConsultingInput, request)
        values = data
        entity = entity_get(user=request.user, pk=values.get("entity") or request.user.acting_entity_id or -1)
        organisation = Organisation.objects.filter(pk=values["organisation"]).first()
        if organisation is None:
            raise NotFound("No such organisation.", field="organisation")
        engagement = consulting_register(actor=request.user, entity=entity, organisation=organisation,
                                         year=values["year"])
        return Response(s.ConsultingOutput(engagement).data, status=status.HTTP_201_CREATED)
