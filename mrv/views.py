"""Portal pages: the entity's MRV dashboard, spreadsheet upload, submission detail, warnings; regulators'
overview of their jurisdiction. Thin: selectors read, services write."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from cets.common.errors import DomainError, NotFound
from entities.models import AgencyAssignment
from entities.selectors import entity_get

from . import (
    charts,
    deadlines,
    reviews,
    sector_spreadsheet,
    sector_verification,
    selectors,
    services,
    tiers,
    uploads,
)
from .api.views import template_response
from .forms import FuelFormSet, MonthForm, QcPlanForm, TestReportForm, UploadForm
from .models import AnnualReport, EarlyWarning, MonthlySubmission, QualityControlPlan, Verification
from .verifications import (
    VERIFIED_FIELDS,
    annual_report_return,
    finding_answer,
    finding_close,
    verification_confirm,
    verification_request_review,
    verification_return,
    verification_start,
    verification_submit,
)


def _year(request) -> int:
    try:
        return int(request.GET.get("year") or timezone.localdate().year)
    except ValueError:
        raise Http404


def _entity_or_404(user, pk):
    try:
        return entity_get(user=user, pk=pk)
    except NotFound:
        raise Http404


@login_required
def home(request):
    """Entity users land on their own dashboard; regulators on their jurisdiction's overview."""
    if request.user.acting_entity_id:
        # Keep the query string: /mrv/?year=2025 lands on the 2025 dashboard, not the current year's.
        url = reverse("mrv:entity", kwargs={"pk": request.user.acting_entity_id})
        query = request.GET.urlencode()
        return redirect(f"{url}?{query}" if query else url)
    if not request.user.is_regulator:
        raise Http404
    year = _year(request)
    overview = selectors.regulator_overview(request.user, year)
    chart = charts.horizontal_bars([(r["rule__name"], r["total"]) for r in overview["by_rule"]])
    return render(request, "mrv/overview.html", {"year": year, "o": overview, "chart": chart})


@login_required
def entity_dashboard(request, pk: int):
    entity = _entity_or_404(request.user, pk)
    year = _year(request)
    data = selectors.entity_dashboard(entity, year, today=timezone.localdate())
    chart = charts.monthly_stacked_bars([(row["unit"].code, [c["submission"].emissions_tco2 if c["submission"]
                                                             else 0 for c in row["cells"]]) for row in data["units"]])
    warnings = selectors.warnings_visible_to(request.user).filter(entity=entity, status__in=[
        "detected", "transferred", "rectification_requested"]).order_by("due_date")[:20]
    reminders = selectors.reminders_visible_to(request.user).filter(
        entity=entity, due_date__gte=timezone.localdate()).order_by("due_date")[:10]
    return render(request, "mrv/dashboard.html", {"entity": entity, "year": year, "d": data, "chart": chart,
                                                  "warnings": warnings, "years": range(year - 2, year + 1),
                                                  "reminders": reminders,
                                                  "can_submit": request.user.acting_entity_id == entity.pk,
                                                  "facility_sectors": sorted(set(entity.units.exclude(
                                                      sector="power").values_list("sector_id", flat=True)))})


@login_required
def template_download(request):
    if not request.user.acting_entity_id:
        raise Http404
    return template_response(_entity_or_404(request.user, request.user.acting_entity_id), _year(request),
                             request.GET.get("sector"))


@login_required
def upload(request):
    """Upload a filled template: it becomes a preview (nothing stored) shown on its own page."""
    if not request.user.acting_entity_id:
        raise Http404
    errors = None
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload_file = form.cleaned_data["file"]
        try:
            staged = uploads.upload_preview(actor=request.user, content=upload_file.read(),
                                            filename=upload_file.name)
        except services.UploadInvalid as exc:
            errors = exc.errors
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            return redirect("mrv:upload-preview", pk=staged.pk)
    return render(request, "mrv/upload.html", {"form": form, "errors": errors, "year": _year(request),
                                               "recent": selectors.uploads_visible_to(request.user)[:10]})


@login_required
def upload_preview(request, pk: int):
    """The changes an upload would make, before and after per unit and month; confirm stores them."""
    staged = selectors.uploads_visible_to(request.user).filter(pk=pk).first()
    if staged is None:
        raise Http404
    if request.method == "POST":
        do = request.POST.get("do")
        try:
            if do == "confirm":
                staged = uploads.upload_confirm(actor=request.user, upload=staged)
                messages.success(request, _("%(n)d monthly submissions stored (%(s)d earlier versions kept), "
                                            "%(t)s tCO2.") % {"n": staged.result["created"],
                                                              "s": staged.result["superseded"],
                                                              "t": staged.result["emissions_tco2"]})
                return redirect("mrv:entity", pk=request.user.acting_entity_id)
            if do == "discard":
                uploads.upload_discard(actor=request.user, upload=staged)
                messages.success(request, _("The upload was discarded; nothing was stored."))
                return redirect("mrv:upload")
            raise Http404
        except services.InvalidRows as exc:
            messages.error(request, exc.message)
        except DomainError as exc:
            messages.error(request, exc.message)
        return redirect("mrv:upload-preview", pk=staged.pk)
    return render(request, "mrv/upload_preview.html", {"u": staged})


@login_required
def submission_detail(request, pk: int):
    try:
        sub = selectors.submission_get(user=request.user, pk=pk)
    except NotFound:
        raise Http404
    if request.method == "POST":
        return _submission_act(request, sub)
    history = selectors.submissions_visible_to(request.user).filter(unit=sub.unit, year=sub.year, month=sub.month)
    tier = reviews.REVIEW_STATUS.get(sub.status)
    open_rfi = sub.information_requests.filter(status="open").first()
    return render(request, "mrv/submission.html", {
        "s": sub, "history": history.order_by("-version"), "reviews": sub.reviews.select_related("reviewer"),
        "rfis": sub.information_requests.all(), "open_rfi": open_rfi, "next": deadlines.next_step(sub),
        "can_review": bool(tier and request.user.is_regulator and tiers.ROLE_TIER.get(request.user.role) == tier
                           and tiers.regulator_covers(request.user, sub.entity)),
        "can_answer": bool(open_rfi and request.user.acting_entity_id == sub.entity_id)})


def _submission_act(request, sub):
    """Review (accept / return), ask for information, or answer it: one service call per button."""
    do, text = request.POST.get("do"), request.POST.get("text", "")
    try:
        if do in ("accept", "return"):
            reviews.submission_review(actor=request.user, submission=sub, accept=do == "accept", comment=text)
        elif do == "ask":
            reviews.information_request(actor=request.user, submission=sub, question=text)
        elif do == "answer":
            rfi = sub.information_requests.filter(status="open").first()
            if rfi is None:
                raise Http404
            reviews.information_answer(actor=request.user, request=rfi, answer=text)
        else:
            raise Http404
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Done."))
    return redirect("mrv:submission", pk=sub.pk)


@login_required
def warnings(request):
    qs = selectors.warnings_visible_to(request.user).order_by("due_date", "-created_at")
    if not (request.user.is_regulator or request.user.acting_entity_id):
        raise Http404
    status = request.GET.get("status", "open")
    if status == "open":
        qs = qs.filter(status__in=EarlyWarning.OPEN)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(request, "mrv/warnings.html", {"page": page, "status": status})


@login_required
def verifications(request):
    """Agencies: their assignments and reports; regulators: confirm; entities: their results and review requests."""
    user = request.user
    if request.method == "POST" and request.POST.get("finding"):
        return _finding_act(request)
    if request.method == "POST" and request.POST.get("assignment"):
        return _assignment_act(request)
    if request.method == "POST":
        verification = selectors.verifications_visible_to(user).filter(pk=request.POST.get("verification")).first()
        if verification is None:
            raise Http404
        reason = request.POST.get("reason", "")
        act = {"confirm": lambda: verification_confirm(actor=user, verification=verification),
               "review": lambda: verification_request_review(actor=user, verification=verification, reason=reason),
               "return": lambda: verification_return(actor=user, verification=verification, reason=reason)}
        return _verifications_act(request, act.get(request.POST.get("do")))
    assignments = []
    if user.role == user.Role.VERIFIER and user.organisation_id:
        done = {(v.entity_id, v.year): v for v in selectors.verifications_visible_to(user)}
        assignments = [{"a": a, "v": done.get((a.entity_id, a.year))} for a in
                       AgencyAssignment.objects.filter(agency_id=user.organisation_id,
                                                       status=AgencyAssignment.Status.ACTIVE).select_related("entity")
                       .order_by("-year")]
    elif not (user.is_regulator or user.acting_entity_id):
        raise Http404
    rows = selectors.verifications_visible_to(user).prefetch_related("findings").order_by("-year", "entity__name")
    return render(request, "mrv/verifications.html", {"assignments": assignments, "rows": rows})


def _own_assignment_or_404(user, pk):
    """An active assignment of the verifier's own agency (anything else is a 404)."""
    assignment = AgencyAssignment.objects.filter(pk=pk, agency_id=user.organisation_id or -1,
                                                 status=AgencyAssignment.Status.ACTIVE).select_related("entity").first()
    if assignment is None or user.role != user.Role.VERIFIER:
        raise Http404
    return assignment


def _assignment_act(request):
    """The assigned agency starts verifying the entity's submitted report, or returns it for correction."""
    user = request.user
    assignment = _own_assignment_or_404(user, request.POST.get("assignment"))
    entity, year = assignment.entity, assignment.year
    if request.POST.get("do") == "start":
        return _verifications_act(request, lambda: verification_start(actor=user, entity=entity, year=year))
    report = entity.annual_reports.filter(year=year, status=AnnualReport.Status.SUBMITTED).first()
    if request.POST.get("do") != "return_report" or report is None:
        raise Http404
    return _verifications_act(request, lambda: annual_report_return(actor=user, report=report,
                                                                    reason=request.POST.get("reason", "")))


def _verifications_act(request, act):
    """Run one step from the verifications page (an unknown step is a 404) and show its outcome there."""
    if act is None:
        raise Http404
    try:
        act()
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Done."))
    return redirect("mrv:verifications")


def _finding_act(request):
    """The entity answers a finding; the assigned agency closes or reopens it."""
    finding = selectors.findings_visible_to(request.user).filter(pk=request.POST.get("finding")).first()
    if finding is None:
        raise Http404
    do, text = request.POST.get("do"), request.POST.get("text", "")
    try:
        if do == "answer":
            finding_answer(actor=request.user, finding=finding, answer=text)
        elif do in ("close", "reopen"):
            finding_close(actor=request.user, finding=finding, accept=do == "close", comment=text)
        else:
            raise Http404
    except DomainError as exc:
        messages.error(request, f"{exc.field or ''}: {exc.message}")
    else:
        messages.success(request, _("Done."))
    return redirect("mrv:verifications")


@login_required
def verification_upload(request, assignment_id: int):
    """The assigned agency enters verified values per unit, findings and the report file."""
    user = request.user
    assignment = _own_assignment_or_404(user, assignment_id)
    units = list(assignment.entity.units.order_by("code"))
    values = [{"unit": u.code, **{f: request.POST.get(f"{u.code}:{f}", "")
                                  for f in sector_verification.verified_fields(u, VERIFIED_FIELDS)}}
              for u in units]
    if request.method == "POST":
        findings = [line.strip() for line in request.POST.get("findings", "").splitlines() if line.strip()]
        try:
            verification_submit(actor=user, entity=assignment.entity, year=assignment.year,
                                unit_values=values, findings=findings, report_file=request.FILES.get("report_file"),
                                conclusion=request.POST.get("conclusion", ""),
                                conclusion_reasons=request.POST.get("conclusion_reasons", ""))
        except DomainError as exc:
            messages.error(request, f"{exc.field or ''}: {exc.message}")
        else:
            messages.success(request, _("Verification report submitted to the province."))
            return redirect("mrv:verifications")
    return render(request, "mrv/verification_upload.html", {"assignment": assignment, "values": values,
                                                            "optional": sector_verification.OPTIONAL,
                                                            "conclusions": Verification.Conclusion.choices})


def _own_entity_or_404(user, pk):
    """Pages that write for an entity: only its own users (another entity, or a regulator, gets a 404)."""
    if user.acting_entity_id != pk:
        raise Http404
    return _entity_or_404(user, pk)


@login_required
def qc_plan(request, pk: int):
    """The entity's quality control plan of a year: every version with the province's decision, and a form
    for the next version (pre-filled from the latest), submitted for provincial review."""
    entity = _own_entity_or_404(request.user, pk)
    year = _year(request)
    versions = QualityControlPlan.objects.filter(entity=entity, year=year).prefetch_related("meters__unit")
    error = None
    form = QcPlanForm(request.POST or None, initial={"year": year, **QcPlanForm.initial_from(versions.first())})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            plan = services.qc_plan_submit(actor=request.user, entity=entity, year=data["year"],
                                           parameters=data["parameters"], meters=data["meters"],
                                           change_reason=data["change_reason"])
        except DomainError as exc:
            error = exc
        else:
            messages.success(request, _("Version %(v)d of the %(y)d plan submitted for the province's review.")
                             % {"v": plan.version, "y": plan.year})
            return redirect(f"{request.path}?year={plan.year}")
    return render(request, "mrv/qc_plan.html", {"entity": entity, "year": year, "form": form, "error": error,
                                                "versions": versions})


@login_required
def month_submit(request, pk: int):
    """Submit (or, with ``?submission=<id>``, resubmit as a new version) one unit's month, optionally registering
    the laboratory report of a measured carbon content in the same step (both or nothing)."""
    entity = _own_entity_or_404(request.user, pk)
    previous = None
    if request.GET.get("submission"):
        previous = MonthlySubmission.objects.filter(entity=entity, pk=request.GET["submission"]).first()
        if previous is None:
            raise Http404
    initial, fuel_initial = {}, []
    if previous is not None:
        initial = {"unit": previous.unit_id, "year": previous.year, "month": previous.month, "note": previous.note,
                   **{f: getattr(previous, f) for f in MonthForm.VALUE_FIELDS}}
        fuel_initial = [{"fuel": r.fuel, "consumption": r.consumption, "ncv": r.ncv,
                         "carbon_content": r.carbon_content, "oxidation_rate": r.oxidation_rate,
                         "test_report": r.test_report.number if r.test_report else ""}
                        for r in previous.fuels.select_related("test_report")]
    data, files = (request.POST, request.FILES) if request.method == "POST" else (None, None)
    form = MonthForm(data, files, entity=entity, initial=initial)
    fuels = FuelFormSet(data, prefix="fuels", initial=fuel_initial)
    report_form = TestReportForm(data, files)
    problems = None
    if request.method == "POST" and form.is_valid() and fuels.is_valid() and report_form.is_valid():
        values = form.cleaned_data
        stage = "report"
        try:
            with transaction.atomic():
                report = report_form.report_fields()
                if report:
                    services.test_report_create(actor=request.user, entity=entity, **report)
                stage = "month"
                sub = services.submission_submit(
                    actor=request.user, unit=values["unit"], year=values["year"], month=values["month"],
                    fuels=[f for f in (x.as_fuel() for x in fuels) if f],
                    files=[values["ledger"]] if values["ledger"] else None, note=values["note"],
                    **{f: values[f] or None for f in MonthForm.VALUE_FIELDS})
        except services.InvalidRows as exc:
            problems = [p.as_dict() for p in exc.problems]
        except DomainError as exc:
            field = f"report.{exc.field}" if stage == "report" and exc.field else exc.field or ""
            problems = [{"field": field, "code": exc.code, "message": exc.message}]
        else:
            messages.success(request, _("%(unit)s %(y)d-%(m)02d stored as version %(v)d: %(t)s tCO2.")
                             % {"unit": sub.unit.code, "y": sub.year, "m": sub.month, "v": sub.version,
                                "t": sub.emissions_tco2})
            return redirect("mrv:submission", pk=sub.pk)
    return render(request, "mrv/month_form.html", {
        "entity": entity, "form": form, "fuels": fuels, "report_form": report_form, "problems": problems,
        "previous": previous, "reports": entity.test_reports.order_by("-report_date")[:20]})


@login_required
def facility_month_submit(request, pk: int):
    """Submit one month of a steel enterprise, clinker line or aluminium process (``?sector=``; default the
    entity's main sector): the sector's key parameters and one row per list item, as in its template."""
    from entities.models import Sector

    from .forms import FacilityItemFormSet, FacilityMonthForm

    entity = _own_entity_or_404(request.user, pk)
    sector = Sector.objects.filter(code=request.GET.get("sector") or entity.sector_id).exclude(code="power").first()
    if sector is None:
        raise Http404
    data = request.POST if request.method == "POST" else None
    form = FacilityMonthForm(data, entity=entity, sector=sector)
    items = FacilityItemFormSet(data, prefix="items")
    problems = None
    if request.method == "POST" and form.is_valid() and items.is_valid():
        inputs, where = form.inputs(), sector_spreadsheet.Origin()
        rows = [{k: (v or "").strip() for k, v in item.items()} for item in items.cleaned_data]
        problems = []
        for number, row in enumerate(rows, start=1):
            if any(row.get(c) for c in sector_spreadsheet.ITEM_VALUES):
                problem = sector_spreadsheet.add_item(inputs, where, row, number, sector)
                if problem:
                    problems.append({"field": f"items[{number}].{problem['column']}", "code": problem["rule"],
                                     "message": problem["message"]})
        if not problems:
            try:
                sub = services.submission_submit(actor=request.user, unit=form.cleaned_data["unit"],
                                                 year=form.cleaned_data["year"], month=form.cleaned_data["month"],
                                                 note=form.cleaned_data["note"], inputs=inputs)
            except services.InvalidRows as exc:
                problems = [p.as_dict() for p in exc.problems]
            else:
                messages.success(request, _("%(unit)s %(y)d-%(m)02d stored as version %(v)d: %(t)s tCO2e.")
                                 % {"unit": sub.unit.code, "y": sub.year, "m": sub.month, "v": sub.version,
                                    "t": sub.emissions_tco2})
                return redirect("mrv:submission", pk=sub.pk)
    return render(request, "mrv/facility_month_form.html", {"entity": entity, "sector": sector, "form": form,
                                                            "items": items, "problems": problems,
                                                            "lists": sector_spreadsheet.list_names(sector)})
