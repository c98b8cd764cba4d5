"""Portal pages: an entity's allocation unit by unit with its formula, borrowing; regulators' runs and sandbox."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cets.common.errors import DomainError, NotFound
from cets.common.export import export_response
from cets.common.stepup import step_up_check
from entities.models import Sector, User
from entities.selectors import entity_get

from . import sandbox, selectors, services
from .models import AllocationPlan, AllocationRun


@login_required
def allocation_list(request):
    """The caller's visible allocation results (an entity: its own; a regulator: its jurisdiction)."""
    qs = selectors.entity_allocations_visible_to(request.user).order_by("-run__year", "run__kind", "entity_id")
    if request.GET.get("export") in ("csv", "xlsx"):
        rows = ((ea.entity.credit_code, ea.entity.name, ea.run.year, ea.run.kind, ea.base_tco2, ea.relief_tco2,
                 ea.allocation_tco2, ea.verified_emissions_tco2, ea.previously_issued_tco2,
                 ea.borrowing_deduction_tco2, ea.difference_tco2, ea.destination, ea.status) for ea in qs)
        return export_response("allocations", ["credit_code", "entity", "year", "kind", "base_tco2", "relief_tco2",
                                               "allocation_tco2", "verified_emissions_tco2", "pre_allocated_tco2",
                                               "borrowing_deduction_tco2", "difference_tco2", "destination",
                                               "status"], rows, request.GET["export"])
    borrowings = selectors.borrowings_visible_to(request.user).order_by("-year")
    return render(request, "allowances/list.html", {"allocations": qs[:200], "borrowings": borrowings,
                                                    "can_borrow": bool(request.user.acting_entity_id)})


@login_required
def allocation_detail(request, pk: int):
    try:
        ea = selectors.entity_allocation_get(user=request.user, pk=pk)
    except NotFound:
        raise Http404
    units = ea.units.select_related("unit").order_by("unit__code")
    return render(request, "allowances/detail.html", {"ea": ea, "units": units})


@login_required
def benchmarks(request, entity_pk: int):
    """A unit-by-unit view of intensity against the category benchmark (entities: their own)."""
    try:
        entity = entity_get(user=request.user, pk=entity_pk)
        year = int(request.GET.get("year") or timezone.localdate().year)
    except (NotFound, ValueError):
        raise Http404
    rows = selectors.intensity_against_benchmarks(entity, year, today=timezone.localdate())
    return render(request, "allowances/benchmarks.html", {"entity": entity, "year": year, "rows": rows})


@login_required
@require_POST
def borrowing_apply(request):
    if not request.user.acting_entity_id:
        raise Http404
    entity = entity_get(user=request.user, pk=request.user.acting_entity_id)
    try:
        year = int(request.POST.get("year", ""))
        requested = int(request.POST.get("requested_tco2", ""))
    except ValueError:
        messages.error(request, _("Give the year and a whole number of tonnes."))
        return redirect("allowances:list")
    try:
        services.borrowing_apply(actor=request.user, entity=entity, year=year, requested_tco2=requested)
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Borrowing application submitted to the provincial regulator."))
    return redirect("allowances:list")


def _regulator(request) -> None:
    if not request.user.is_regulator:
        raise Http404


@login_required
def run_list(request):
    """Runs with progress; the national regulator starts and (another one) approves them here."""
    _regulator(request)
    if request.method == "POST":
        try:
            if "approve" in request.POST:
                step_up_check(request)
                run = AllocationRun.objects.get(pk=int(request.POST["approve"]))
                run = services.run_approve(actor=request.user, run=run)
                return redirect("job-detail", pk=run.issue_job_id)
            run = services.run_start(actor=request.user, year=int(request.POST.get("year") or 0),
                                     kind=request.POST.get("kind", ""))
            return redirect("job-detail", pk=run.calculate_job_id)
        except (DomainError, AllocationRun.DoesNotExist, ValueError) as exc:
            messages.error(request, str(getattr(exc, "message", exc)))
    runs = selectors.runs_visible_to(request.user).select_related("calculate_job", "issue_job")
    return render(request, "allowances/runs.html", {
        "runs": runs, "kinds": AllocationRun.Kind.choices,
        "is_national": request.user.role == User.Role.NATIONAL_REGULATOR})


def _overrides_from(post) -> dict:
    overrides: dict = {}
    for kind in ("electricity", "heat"):
        for category in ("I", "II", "III", "IV"):
            value = post.get(f"{kind}_{category}", "").strip()
            if value:
                overrides.setdefault(kind, {})[category] = value
    if post.get("entity_relief_floor", "").strip():
        overrides["entity_relief_floor"] = post["entity_relief_floor"].strip()
    for name, value in post.items():
        if name.startswith("balance_value_") and value.strip():
            overrides.setdefault("balance_values", {})[name.removeprefix("balance_value_")] = value.strip()
    return overrides


@login_required
def scenario_new(request):
    """The policy sandbox: edit benchmarks or the relief floor, see the consequences (nothing is issued)."""
    if request.user.role != User.Role.NATIONAL_REGULATOR:
        raise Http404
    plans = AllocationPlan.objects.filter(sector_id="power")
    if request.method == "POST":
        try:
            plan = selectors.plan_get(request.POST.get("plan", ""), published=False)
            scenario = services.scenario_create(actor=request.user, plan=plan, name=request.POST.get("name", ""),
                                                data_year=int(request.POST.get("data_year") or 0),
                                                overrides=_overrides_from(request.POST))
            return redirect("allowances:scenario", pk=scenario.pk)
        except (DomainError, ValueError) as exc:
            messages.error(request, str(getattr(exc, "message", exc)))
    return render(request, "allowances/scenario_new.html", {
        "plans": plans, "categories": ["I", "II", "III", "IV"], "scenarios": selectors.scenarios_visible_to(
            request.user)[:20],
        "intensity_sectors": Sector.objects.filter(allocation_method=Sector.AllocationMethod.INTENSITY,
                                                   is_active=True)})


@login_required
def scenario_detail(request, pk: int):
    scenario = selectors.scenarios_visible_to(request.user).filter(pk=pk).first()
    if scenario is None:
        raise Http404
    result = scenario.result
    categories = [{"category": c, "scenario": result["scenario"]["by_category"][c],
                   "baseline": result["baseline"]["by_category"][c], "balance": result["balance_values"][c],
                   "benchmark": result["benchmarks"]["electricity"][c]} for c in ("I", "II", "III", "IV")]
    provinces = [{"province": code, "scenario": figures,
                  "baseline": result["baseline"]["by_province"].get(code, {})}
                 for code, figures in result["scenario"]["by_province"].items()]
    # the SVG is built from numbers and escaped labels only (sandbox.histogram_svg)
    chart = mark_safe(sandbox.histogram_svg(result["scenario"]["histogram"]))  # noqa: S308
    baseline_chart = mark_safe(sandbox.histogram_svg(result["baseline"]["histogram"]))  # noqa: S308
    industry = result.get("industry") or {"scenario": {}, "baseline": {}}
    sectors = [{"sector": code, "scenario": figures, "baseline": industry["baseline"].get(code, {})}
               for code, figures in industry["scenario"].items()]
    return render(request, "allowances/scenario.html", {
        "scenario": scenario, "result": result, "categories": categories, "provinces": provinces,
        "chart": chart, "baseline_chart": baseline_chart, "sectors": sectors})
