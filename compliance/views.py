"""Portal and public pages of the compliance app: thin views over services and selectors."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cets.common.errors import DomainError, NotFound
from cets.common.export import export_response
from cets.common.names import localized
from cets.common.preview import is_confirmed, preview_or_do
from entities.models import Province, Sector

from . import carryover_selectors, disclosure, selectors, services, standing
from .certificates import certificate_pdf
from .charts import bar_chart
from .forms import SurrenderForm
from .models import ComplianceCycle, Obligation
from .surrender_preview import surrender_done

REPORT_HEADINGS = {
    "supply": gettext_lazy("i. Supply and demand of CEAs generally balanced"),
    "surrender": gettext_lazy("iii. CEAs surrender management mechanism established"),
}


def _obligation_or_404(user, pk) -> Obligation:
    try:
        return selectors.obligation_get(user=user, pk=pk)
    except NotFound:
        raise Http404


def _cycle_or_404(code) -> ComplianceCycle:
    try:
        return selectors.cycle_get(code)
    except NotFound:
        raise Http404


@login_required
def obligations(request):
    """The entity's obligations and warnings (or a regulator's jurisdiction), with what remains."""
    qs = selectors.obligations_visible_to(request.user).order_by("-year", "entity__name")
    if not qs.exists() and not request.user.is_regulator and not request.user.acting_entity_id:
        raise PermissionDenied
    warnings = selectors.warnings_visible_to(request.user).order_by("-created_at")[:20]
    return render(request, "compliance/obligations.html", {"obligations": qs[:200], "warnings": warnings,
                                                           "cycles": selectors.cycles(),
                                                           "carry_over_schemes": carryover_selectors.schemes()})


def _surrender_receipt(outcome: dict) -> str:
    """What a confirmed surrender did, in one sentence a person can keep."""
    parts = "; ".join(_("%(instrument)s %(quantity)s t (serials %(serials)s, registry transaction #%(tx)s)")
                      % {"instrument": step["instrument"], "quantity": f"{step['quantity']:,}",
                         "serials": ", ".join(step["serials"]), "tx": step["transaction"]}
                      for step in outcome["steps"])
    text = _("Surrendered %(total)s t: %(parts)s. %(before)s t were owed, %(after)s t remain.") % {
        "total": f"{outcome['total']:,}", "parts": parts, "before": f"{outcome['remaining_before']:,}",
        "after": f"{outcome['remaining_after']:,}"}
    if outcome["late"]:
        text += " " + _("Recorded after the deadline of %(date)s: it counts as late.") % {
            "date": outcome["deadline"].isoformat()}
    return text


@login_required
def obligation_detail(request, pk: int):
    """One obligation: steps, remaining, eligible vintages and the CCER cap; the entity surrenders here."""
    obligation = _obligation_or_404(request.user, pk)
    form = SurrenderForm(request.POST or None)
    if request.method == "POST":
        if request.user.acting_entity_id != obligation.entity_id:
            raise PermissionDenied
        if form.is_valid():
            try:
                outcome = preview_or_do(request, lambda: surrender_done(actor=request.user, obligation=obligation,
                                                                        items=form.items()))
            except DomainError as exc:
                # The message alone, next to the field it is about; ``exc.field`` is the API's name for it.
                form.add_error(form.field_for(exc.field), str(exc.message))
            else:
                if not is_confirmed(request):
                    return render(request, "compliance/surrender_confirm.html",
                                  {"obligation": obligation, "form": form, "outcome": outcome})
                messages.success(request, _surrender_receipt(outcome))
                return redirect("compliance:obligation", pk=obligation.pk)
    return render(request, "compliance/obligation_detail.html", {
        "obligation": obligation, "steps": selectors.steps_of(obligation), "form": form,
        "vintages": services.eligible_vintages(obligation), "cap": services.offset_cap_tco2(obligation),
        "options": selectors.surrender_options(obligation) if request.user.acting_entity_id == obligation.entity_id
        else [],
        "may_surrender": request.user.acting_entity_id == obligation.entity_id
        and obligation.cycle.status == ComplianceCycle.Status.OPEN})


@login_required
def certificate(request, pk: int):
    """The completion certificate PDF of a fulfilled obligation of a closed cycle."""
    obligation = _obligation_or_404(request.user, pk)
    try:
        cert = services.certificate_issue(obligation=obligation)
    except DomainError:
        raise Http404
    url = request.build_absolute_uri(reverse("compliance:certificate-verify", args=[cert.code]))
    response = HttpResponse(certificate_pdf(cert, url), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="compliance-{cert.code}.pdf"'
    return response


@login_required
def risk(request, code: str):
    """Regulators: entities at risk in their jurisdiction with the gap and how it changed (CSV/Excel)."""
    if not request.user.is_regulator:
        raise PermissionDenied
    cycle = _cycle_or_404(code)
    rows = selectors.risk_list(request.user, cycle, province=request.GET.get("province") or None)
    if request.GET.get("export") in ("csv", "xlsx"):
        return export_response(f"risk-{cycle.code}", [
            _("Province"), _("Entity"), _("Expected obligation"), _("Basis"), _("Holdings"), _("Pending allocation"),
            _("Already surrendered"), _("Gap"), _("Gap change"), _("Days left"), _("Level")],
            ([r.entity.province_id, r.entity.name, r.expected_tco2, r.basis, r.holdings_tco2,
              r.pending_allocation_tco2, r.covered_tco2, r.gap_tco2, r.gap_change_tco2, r.days_left,
              r.get_level_display()] for r in rows), request.GET["export"])
    return render(request, "compliance/risk.html", {"cycle": cycle, "rows": rows})


# ---- public pages -------------------------------------------------------------------------------------

def public_list(request, code: str):
    """Public: the entities that did not comply fully and on time, from the day after the deadline
    (as they stand today; closing only freezes the list)."""
    cycle = _cycle_or_404(code)
    published = standing.deadline_passed(cycle) or cycle.status == ComplianceCycle.Status.CLOSED
    rows = selectors.non_compliant(cycle) if published else Obligation.objects.none()
    if request.GET.get("export") in ("csv", "xlsx"):
        return export_response(f"non-compliant-{cycle.code}", [
            _("Province"), _("Entity"), _("Credit code"), _("Year"), _("Obligation"), _("Covered"), _("Shortfall"),
            _("Status")], ([o.entity.province.name, o.entity.name, o.entity.credit_code, o.year, o.quantity_tco2,
                            o.covered_tco2, o.shortfall_now, o.standing_display] for o in rows),
            request.GET["export"])
    return render(request, "compliance/public_list.html", {"cycle": cycle, "rows": rows, "published": published,
                                                             "cycles": selectors.cycles()})


def _report_rows(report: dict) -> list[list]:
    rows = []
    for scope, name, years in [("national", _("National"), report["years"])] + [
            (p["code"], p["name"], p["years"]) for p in report["provinces"]]:
        for year, y in years.items():
            rows.append([scope, name, year, y["allocated_tco2"], y["verified_tco2"], y["surplus_tco2"],
                         y["surplus_share_pct"], y["obligation_tco2"], y["cea_surrendered_tco2"], y["ccer_used_tco2"],
                         y["shortfall_tco2"], y["compliance_rate_pct"], y["entities"], y["entities_failed"],
                         y["entity_rate_pct"]])
    return rows


REPORT_COLUMNS = [
    gettext_lazy("Scope"),
    gettext_lazy("Name"),
    gettext_lazy("Year"),
    gettext_lazy("Allocated (t)"),
    gettext_lazy("Verified emissions (t)"),
    gettext_lazy("Surplus (t)"),
    gettext_lazy("Surplus share of allocation (%)"),
    gettext_lazy("Obligation (t)"),
    gettext_lazy("CEAs surrendered (t)"),
    gettext_lazy("CCERs used (t)"),
    gettext_lazy("Shortfall (t)"),
    gettext_lazy("Compliance rate (%)"),
    gettext_lazy("Entities"),
    gettext_lazy("Entities not fully compliant on time"),
    gettext_lazy("Entities compliant on time (%)"),
]


def public_report(request, code: str):
    """Public cycle report: the chapter IV figures, nationally and by province, charts and exports."""
    cycle = _cycle_or_404(code)
    report = selectors.cycle_report(cycle, province=request.GET.get("province") or None)
    if request.GET.get("export") in ("csv", "xlsx"):
        return export_response(f"cycle-report-{cycle.code}", REPORT_COLUMNS, _report_rows(report),
                               request.GET["export"])
    years = report["years"]
    supply_chart = bar_chart(_("Allocated vs verified emissions (t)"), [
        (str(y), [(_("allocated"), f["allocated_tco2"]), (_("verified"), f["verified_tco2"])])
        for y, f in years.items()])
    rate_chart = bar_chart(_("Compliance rate (%)"), [
        (str(y), [(_("rate"), float(f["compliance_rate_pct"]))]) for y, f in years.items()])
    province_chart = bar_chart(_("Compliance rate by province (%)"), [
        (p["name"], [(str(y), float(f["compliance_rate_pct"])) for y, f in p["years"].items()])
        for p in report["provinces"]]) if report["provinces"] else ""
    return render(request, "compliance/public_report.html", {
        "cycle": cycle, "report": report, "headings": REPORT_HEADINGS, "cycles": selectors.cycles(),
        "supply_chart": supply_chart, "rate_chart": rate_chart, "province_chart": province_chart,
        "milestones": selectors.milestone_progress(cycle)})


def certificate_verify(request, code: str):
    """Public: confirms a certificate's facts, or says it is unknown or was tampered with."""
    result = selectors.certificate_verify(code)
    return render(request, "compliance/certificate_verify.html", {"code": code, "result": result},
                  status=200 if result["valid"] else 404)


ENTITY_COLUMNS = [gettext_lazy("Province"), gettext_lazy("Sector"), gettext_lazy("Entity"),
                  gettext_lazy("Credit code"), gettext_lazy("Year"), gettext_lazy("Verified emissions (t)"),
                  gettext_lazy("Allocated (t)"), gettext_lazy("Obligation (t)"), gettext_lazy("Status")]


def public_entities(request, code: str):
    """Public: every key emitting entity's emissions, allocation and outcome for the cycle (Decree 775),
    filtered by province and sector, with the decided penalties; CSV and Excel."""
    cycle = _cycle_or_404(code)
    province, sector = request.GET.get("province") or None, request.GET.get("sector") or None
    rows = disclosure.entity_figures(cycle, province=province, sector=sector)
    if request.GET.get("export") in ("csv", "xlsx"):
        return export_response(f"entities-{cycle.code}", ENTITY_COLUMNS, (
            [localized(o.entity.province), localized(o.entity.sector), localized(o.entity), o.entity.credit_code,
             o.year, o.verified_emissions_tco2, o.allocation_tco2, o.quantity_tco2, o.standing_display]
            for o in rows.iterator()), request.GET["export"])
    return render(request, "compliance/public_entities.html", {
        "cycle": cycle, "page": Paginator(rows, 100).get_page(request.GET.get("page")),
        "penalties": disclosure.decided_penalties(cycle), "provinces": Province.objects.order_by("code"),
        "sectors": Sector.objects.filter(is_active=True), "province": province, "sector": sector,
        "cycles": selectors.cycles()})


def public_index(request):
    return render(request, "compliance/public_index.html", {"cycles": selectors.cycles_overview(),
                                                            "carry_over_schemes": carryover_selectors.schemes()})
