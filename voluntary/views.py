"""Public pages of the voluntary market and the portal of project owners, VVBs and CCER holders.

Public pages (no login) live under ``public/``: methodologies, projects with their documents and the
comment form while disclosure is open, issuances, cancellations and retirements, and the online
check of a certificate by its code. Portal pages need a login; every action posts to a service and
shows the service's message when a rule refuses it.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cets.common.errors import Conflict, DomainError, NotFound
from cets.common.export import export_response
from cets.common.preview import is_confirmed, preview_or_do
from cets.common.stepup import step_up_check

from . import clock, forms, outcomes, selectors, services
from .certificates import certificate_pdf
from .models import CreditUse, Document, MonitoringReport, Project


def _or_404(fn, **kwargs):
    try:
        return fn(**kwargs)
    except NotFound:
        raise Http404


def _refused(request, exc: DomainError) -> None:
    field = f" ({exc.field})" if exc.field else ""
    messages.error(request, f"{exc.message}{field}")


def _page(request, qs, per_page: int = 50):
    return Paginator(qs, per_page).get_page(request.GET.get("page"))


# ---------------------------------------------------------------- public

def public_index(request):
    return render(request, "voluntary/public/index.html", {
        "in_disclosure": selectors.projects_public().filter(state=Project.State.DISCLOSURE)[:10],
        "methodologies": selectors.methodologies_public(),
    })


def public_organisations(request):
    return render(request, "voluntary/public/organisations.html", {"organisations": selectors.organisations_public()})


def public_methodologies(request):
    return render(request, "voluntary/public/methodologies.html",
                  {"methodologies": selectors.methodologies_public()})


def public_methodology(request, code: str):
    methodology = selectors.methodologies_public().filter(code=code).first()
    if methodology is None:
        raise Http404
    return render(request, "voluntary/public/methodology.html", {"m": methodology})


PROJECT_HEADERS = ["ref", "registration_number", "title", "owner", "methodology", "province", "site", "capacity",
                   "state", "disclosure_end", "registered_on"]


def public_projects(request):
    filters = {k: request.GET.get(k, "").strip() for k in ("q", "state", "methodology", "province")}
    qs = selectors.project_search(selectors.projects_public(), **filters)
    fmt = request.GET.get("export")
    if fmt in ("csv", "xlsx"):
        rows = ((p.ref, p.registration_number, p.title, p.owner.name, p.methodology.code, p.province.name, p.site,
                 p.capacity, p.get_state_display(), p.disclosure_end, p.registered_on) for p in qs)
        return export_response("ccer-projects", PROJECT_HEADERS, rows, fmt)
    return render(request, "voluntary/public/projects.html", {
        "page": _page(request, qs), "filters": filters, "states": Project.State.choices[1:],
        "methodologies": selectors.methodologies_public(), "query": request.GET.urlencode()})


def public_project(request, pk: int):
    project = _or_404(selectors.project_get, user=request.user, pk=pk)
    if project.state == Project.State.DRAFT:
        raise Http404
    today = clock.today()
    reports = project.reports.filter(state__in=selectors.PUBLIC_REPORT_STATES).order_by("period_start")
    return render(request, "voluntary/public/project.html", {
        "project": project, "documents": selectors.documents_public(project), "reports": reports,
        "issuances": project.issuances.order_by("vintage"), "comment_form": forms.CommentForm(),
        "open": project.state == Project.State.DISCLOSURE and today <= project.disclosure_end,
        "open_reports": [r for r in reports if r.state == MonitoringReport.State.DISCLOSURE
                         and today <= r.disclosure_end]})


@require_POST
def public_comment(request, pk: int):
    project = _or_404(selectors.project_get, user=request.user, pk=pk)
    form = forms.CommentForm(request.POST)
    report = None
    if request.POST.get("report"):
        report = _or_404(selectors.report_get, user=request.user, pk=request.POST["report"])
    if not form.is_valid():
        messages.error(request, _("Give your name and a comment."))
    else:
        try:
            services.comment_add(project=project, report=report, user=request.user, **form.cleaned_data)
            messages.success(request, _("Thank you: your comment was sent to the owner and the VVB."))
        except DomainError as exc:
            _refused(request, exc)
    return redirect("voluntary:public-project", pk=project.pk)


def public_document(request, pk: int):
    """Download a document: public once disclosed; before that only its owner, VVBs and reviewers."""
    doc = Document.objects.select_related("project").filter(pk=pk).first()
    if doc is None or not selectors.documents_visible_to(request.user, doc.project).filter(pk=pk).exists():
        raise Http404
    return FileResponse(doc.file.open("rb"), as_attachment=True, filename=doc.name)


ISSUANCE_HEADERS = ["registration_number", "project", "vintage", "instrument", "quantity", "serial_numbers",
                    "issued_on"]


def public_issuances(request):
    qs = selectors.issuances_public()
    q = request.GET.get("q", "").strip()
    if q:
        qs = qs.filter(instrument_code__icontains=q) | qs.filter(project__title__icontains=q)
    fmt = request.GET.get("export")
    if fmt in ("csv", "xlsx"):
        rows = ((i.project.registration_number, i.project.title, i.vintage, i.instrument_code, i.quantity,
                 i.serial_range, i.issued_on) for i in qs)
        return export_response("ccer-issuances", ISSUANCE_HEADERS, rows, fmt)
    return render(request, "voluntary/public/issuances.html", {"page": _page(request, qs), "q": q})


USE_HEADERS = ["code", "kind", "purpose", "beneficiary", "project", "vintage", "instrument", "quantity",
               "compliance_year", "date"]


def public_uses(request):
    qs = selectors.uses_public()
    kind = request.GET.get("kind", "")
    q = request.GET.get("q", "").strip()
    if kind in CreditUse.Kind.values:
        qs = qs.filter(kind=kind)
    if q:
        qs = qs.filter(code__icontains=q) | qs.filter(beneficiary__icontains=q)
    fmt = request.GET.get("export")
    if fmt in ("csv", "xlsx"):
        rows = ((u.code, u.get_kind_display(), u.get_purpose_display(), u.beneficiary, u.project.ref, u.vintage,
                 u.instrument_code, u.quantity, u.compliance_year, u.used_on) for u in qs)
        return export_response("ccer-cancellations", USE_HEADERS, rows, fmt)
    page = _page(request, qs)
    page.object_list = selectors.with_registry_status(page.object_list)
    return render(request, "voluntary/public/uses.html", {"page": page, "kind": kind, "q": q,
                                                          "kinds": CreditUse.Kind.choices})


def public_verify(request):
    form = forms.VerifyCodeForm(request.GET or None)
    if form.is_valid():
        code = form.cleaned_data["code"].strip().upper()
        if CreditUse.objects.filter(code=code).exists():
            return redirect("voluntary:public-use", code=code)
        messages.error(request, _("No cancellation or retirement has this certificate code."))
    return render(request, "voluntary/public/verify.html", {"form": form})


def public_use(request, code: str):
    use = _or_404(selectors.use_by_code, code=code)
    return render(request, "voluntary/public/use.html", {"use": use})


def public_certificate(request, code: str):
    try:
        use = selectors.use_for_certificate(code)
    except NotFound:
        raise Http404
    except Conflict as exc:
        messages.error(request, exc.message)
        return redirect("voluntary:public-use", code=code.strip().upper())
    url = request.build_absolute_uri(reverse("voluntary:public-use", args=[use.code]))
    response = HttpResponse(certificate_pdf(use, url), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="ccer-{use.code}.pdf"'
    return response


# ---------------------------------------------------------------- portal

@login_required
def portal(request):
    """The voluntary-market desk of the signed-in user: their projects, reviews or queue."""
    user = request.user
    owner, vvb = selectors.owner_org_id(user), selectors.vvb_org_id(user)
    reviewer = selectors.is_reviewer(user)
    if not (owner or vvb or reviewer or _may_hold(user)):
        raise Http404
    context = {"owner": owner, "vvb": vvb, "reviewer": reviewer, "holder": _may_hold(user) and not owner}
    if owner:
        context["projects"] = selectors.projects_visible_to(user).filter(owner_id=owner)
        context["reports"] = selectors.reports_visible_to(user).filter(project__owner_id=owner)
    if vvb:
        context["validations"] = selectors.projects_visible_to(user).filter(validator_id=vvb)
        context["verifications"] = selectors.reports_visible_to(user).filter(verifier_id=vvb)
    if reviewer:
        context["project_queue"] = selectors.projects_visible_to(user).filter(
            state=Project.State.APPLIED).order_by("decision_due")
        context["report_queue"] = selectors.reports_visible_to(user).filter(
            state=MonitoringReport.State.APPLIED).order_by("decision_due")
    context["today"] = clock.today()
    return render(request, "voluntary/portal/index.html", context)


@login_required
def project_new(request):
    if not selectors.owner_org_id(request.user):
        raise Http404
    form = forms.ProjectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            project = services.project_create(actor=request.user, **form.to_service())
            messages.success(request, _("Project %(ref)s drafted.") % {"ref": project.ref})
            return redirect("voluntary:project", pk=project.pk)
        except DomainError as exc:
            _refused(request, exc)
            if exc.field in form.fields:
                form.add_error(exc.field, str(exc.message))
    return render(request, "voluntary/portal/project_form.html", {"form": form})


def _portal_project(request, pk) -> Project:
    """The portal shows a project to those who work on it: owner, its VVBs and the reviewers."""
    project = _or_404(selectors.project_get, user=request.user, pk=pk)
    if not selectors.may_see_comments(request.user, project):
        raise Http404
    return project


@login_required
def project_detail(request, pk: int):
    project = _portal_project(request, pk)
    user = request.user
    return render(request, "voluntary/portal/project.html", {
        "project": project, "documents": project.documents.all(), "comments": selectors.comments_visible_to(
            user, project), "reports": project.reports.order_by("period_start"),
        "is_owner": selectors.owner_org_id(user) == project.owner_id,
        "is_validator": selectors.vvb_org_id(user) == project.validator_id,
        "reviewer": selectors.is_reviewer(user), "today": clock.today(),
        "document_form": forms.DocumentForm(), "validate_form": forms.ValidateForm(),
        "reason_form": forms.ReasonForm(), "report_form": forms.ReportForm()})


PROJECT_ACTIONS = {
    "publish": (None, lambda user, project, data: services.project_publish(actor=user, project=project)),
    "apply": (None, lambda user, project, data: services.project_apply(actor=user, project=project)),
    "register": (None, lambda user, project, data: services.project_register(actor=user, project=project)),
    "validate": (forms.ValidateForm, lambda user, project, data: services.project_validate(
        actor=user, project=project, **data)),
    "reject": (forms.ReasonForm, lambda user, project, data: services.project_reject(
        actor=user, project=project, **data)),
    "cancel": (forms.ReasonForm, lambda user, project, data: services.project_cancel(
        actor=user, project=project, **data)),
    "report": (forms.ReportForm, lambda user, project, data: services.report_create(
        actor=user, project=project, **data)),
}


@login_required
@require_POST
def project_action(request, pk: int, name: str):
    project = _portal_project(request, pk)
    if name == "upload":
        return _upload(request, project, None, redirect("voluntary:project", pk=project.pk))
    if name not in PROJECT_ACTIONS:
        raise Http404
    form_class, run = PROJECT_ACTIONS[name]
    form = form_class(request.POST) if form_class else None
    if form is not None and not form.is_valid():
        field, errors = next(iter(form.errors.items()))
        messages.error(request, f"{errors[0]} ({field})")
    else:
        try:
            result = run(request.user, project, form.cleaned_data if form else {})
            messages.success(request, _("Done."))
            if isinstance(result, MonitoringReport):
                return redirect("voluntary:report", pk=result.pk)
        except DomainError as exc:
            _refused(request, exc)
    return redirect("voluntary:project", pk=project.pk)


def _upload(request, project, report, back):
    form = forms.DocumentForm(request.POST, request.FILES)
    if not form.is_valid():
        field, errors = next(iter(form.errors.items()))
        messages.error(request, f"{errors[0]} ({field})")
        return back
    try:
        services.document_upload(actor=request.user, project=project, kind=form.cleaned_data["kind"],
                                 upload=form.cleaned_data["file"], report=report)
        messages.success(request, _("Document uploaded."))
    except DomainError as exc:
        _refused(request, exc)
    return back


def _portal_report(request, pk) -> MonitoringReport:
    report = _or_404(selectors.report_get, user=request.user, pk=pk)
    if not selectors.may_see_comments(request.user, report.project):
        raise Http404
    return report


@login_required
def report_detail(request, pk: int):
    report = _portal_report(request, pk)
    user = request.user
    return render(request, "voluntary/portal/report.html", {
        "report": report, "project": report.project, "documents": report.documents.all(),
        "comments": report.comments.all(), "issuances": report.issuances.all(),
        "is_owner": selectors.owner_org_id(user) == report.project.owner_id,
        "is_verifier": selectors.vvb_org_id(user) == report.verifier_id,
        "reviewer": selectors.is_reviewer(user), "document_form": forms.DocumentForm(),
        "verify_form": forms.VerifyForm(), "reason_form": forms.ReasonForm(), "today": clock.today()})


REPORT_ACTIONS = {
    "submit": (None, lambda user, report, data: services.report_submit(actor=user, report=report)),
    "apply": (None, lambda user, report, data: services.report_apply(actor=user, report=report)),
    "register": (None, lambda user, report, data: services.report_register(actor=user, report=report)),
    "verify": (forms.VerifyForm, lambda user, report, data: services.report_verify(actor=user, report=report,
                                                                                  **data)),
    "reject": (forms.ReasonForm, lambda user, report, data: services.report_reject(actor=user, report=report,
                                                                                  **data)),
}

#: Report actions that are a four-eyes sign-off (CCER issuance): each asks for a fresh authenticator code.
REPORT_SIGN_OFFS = {"register"}


@login_required
@require_POST
def report_action(request, pk: int, name: str):
    report = _portal_report(request, pk)
    back = redirect("voluntary:report", pk=report.pk)
    if name == "upload":
        return _upload(request, report.project, report, back)
    if name not in REPORT_ACTIONS:
        raise Http404
    form_class, run = REPORT_ACTIONS[name]
    form = form_class(request.POST) if form_class else None
    if form is not None and not form.is_valid():
        field, errors = next(iter(form.errors.items()))
        messages.error(request, f"{errors[0]} ({field})")
        return back
    try:
        if name in REPORT_SIGN_OFFS:
            step_up_check(request)
        run(request.user, report, form.cleaned_data if form else {})
        messages.success(request, _("Done."))
    except DomainError as exc:
        _refused(request, exc)
    return back


def _may_hold(user) -> bool:
    return bool(user.acting_entity_id or selectors.owner_org_id(user) or user.role == "participant")


def _transfer_receipt(outcome: dict) -> str:
    values = {"quantity": f"{outcome['quantity']:,}", "instrument": outcome["instrument"],
              "to": outcome["to_account"], "tx": outcome["transaction"], "after": f"{outcome['after']:,}"}
    if outcome["not_before"]:
        return _("Transfer #%(tx)s of %(quantity)s t of %(instrument)s to %(to)s is booked: the units are reserved "
                 "and move on %(when)s. You can use %(after)s t of it now.") % {
            **values, "when": timezone.localtime(outcome["not_before"]).strftime("%Y-%m-%d %H:%M")}
    return _("Transferred %(quantity)s t of %(instrument)s to %(to)s (transaction #%(tx)s, serials %(serials)s); "
             "you hold %(after)s t of it now.") % {**values, "serials": ", ".join(outcome["serials"])}


@login_required
def transfer(request):
    """A holder moves CCERs to another registry account (the registry applies its delay rules)."""
    if not _may_hold(request.user):
        raise Http404
    form = forms.TransferForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            outcome = preview_or_do(request, lambda: outcomes.transfer_done(
                actor=request.user, instrument_code=data["instrument"], to_account=data["to_account"],
                quantity=data["quantity"]))
        except DomainError as exc:
            _refused(request, exc)
        else:
            if not is_confirmed(request):
                return render(request, "voluntary/portal/confirm.html", {
                    "form": form, "outcome": outcome, "action": "transfer",
                    "title": _("Confirm the transfer"), "button": _("Transfer these credits")})
            messages.success(request, _transfer_receipt(outcome))
            return redirect("voluntary:portal")
    return render(request, "voluntary/portal/transfer.html", {"form": form})


@login_required
def retire(request):
    """A holder retires CCERs for a beneficiary; the answer is the public record with its certificate."""
    user = request.user
    if not _may_hold(user):
        raise Http404
    form = forms.RetireForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            outcome = preview_or_do(request, lambda: outcomes.retire_done(
                actor=user, instrument_code=data["instrument"], quantity=data["quantity"],
                beneficiary=data["beneficiary"], purpose=data["purpose"], purpose_detail=data["purpose_detail"]))
        except DomainError as exc:
            _refused(request, exc)
        else:
            if not is_confirmed(request):
                return render(request, "voluntary/portal/confirm.html", {
                    "form": form, "outcome": outcome, "action": "retire",
                    "title": _("Confirm the retirement"), "button": _("Retire these credits")})
            messages.success(request, _("Retired %(quantity)s t of %(instrument)s for %(beneficiary)s (serials "
                                        "%(serials)s); you hold %(after)s t of it now. Certificate %(code)s.")
                             % {"quantity": f"{outcome['quantity']:,}", "instrument": outcome["instrument"],
                                "beneficiary": outcome["beneficiary"], "serials": ", ".join(outcome["serials"]),
                                "after": f"{outcome['after']:,}", "code": outcome["code"]})
            return redirect("voluntary:public-use", code=outcome["code"])
    return render(request, "voluntary/portal/retire.html", {"form": form})
