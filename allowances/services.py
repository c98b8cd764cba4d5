"""Writes of the allocation app: plans (four-eyes publication), runs, borrowing, high-risk, scenarios.

Every service is atomic, keyword-only, checks who may do it, audits as its last step and returns
what it changed. Long work (a run over 2,257 entities) is a Job (``allowances.jobs``) that calls
the chunk functions here, each chunk in its own transaction.
"""

from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.forms.models import model_to_dict
from django.utils import timezone
from django.utils.translation import gettext as _

from cets.common.audit import audit_record
from cets.common.errors import Conflict, DomainError, Forbidden
from cets.common.locks import lock_rows
from cets.common.rows import update_rows
from entities.models import KeyEntity, User
from entities.selectors import can_manage_entity

from . import balance_values
from .models import (
    AllocationPlan,
    AllocationRun,
    BenchmarkRow,
    BorrowingApplication,
    EntityAllocation,
    HighRiskDesignation,
    Obligation,
    Scenario,
    UnitAllocation,
)
from .vintage_totals import vintage_total_add  # the one door that raises a vintage's plan total (and its cap)

NATIONAL = User.Role.NATIONAL_REGULATOR


def _require_national(actor, what: str) -> None:
    if getattr(actor, "role", None) != NATIONAL:
        raise Forbidden(_("Only the national regulator may %(what)s.") % {"what": what})


def _plan_snapshot(plan: AllocationPlan) -> dict:
    return {k: v for k, v in model_to_dict(plan).items() if k not in ("submitted_by", "published_by")}


# ---- plans ---------------------------------------------------------------------------------------

@transaction.atomic
def plan_draft_create(*, actor, source: AllocationPlan, code: str, first_year: int, last_year: int) -> AllocationPlan:
    """A new draft plan copied from ``source`` (rules and benchmark rows), to be edited then published."""
    _require_national(actor, _("draft allocation plans"))
    if AllocationPlan.objects.filter(code=code).exists():
        raise Conflict(_("A plan with code %(code)s already exists.") % {"code": code}, "duplicate_plan", "code")
    if last_year < first_year:
        raise DomainError(_("The last year must not be before the first year."), "invalid_years", "last_year")
    fields = {f.name: getattr(source, f.name) for f in AllocationPlan._meta.concrete_fields
              if f.name not in ("id", "code", "first_year", "last_year", "status", "submitted_by",
                                "published_by", "published_at")}
    plan = AllocationPlan.objects.create(**fields, code=code, first_year=first_year, last_year=last_year,
                                         status=AllocationPlan.Status.DRAFT)
    source_year = source.last_year
    rows = [BenchmarkRow(plan=plan, year=year, category=row.category, kind=row.kind,
                         electricity_t_per_mwh=row.electricity_t_per_mwh, heat_t_per_gj=row.heat_t_per_gj,
                         confidence=row.confidence, note=_("copied from %(code)s %(year)s, to be edited")
                         % {"code": source.code, "year": source_year})
            for row in source.benchmarks.filter(year=source_year, kind=BenchmarkRow.Kind.BENCHMARK)
            for year in range(first_year, last_year + 1)]
    BenchmarkRow.objects.bulk_create(rows)
    audit_record(actor=actor, action="allocation_plan.draft", obj=plan, after=_plan_snapshot(plan))
    return plan


def _editable(plan: AllocationPlan) -> None:
    if plan.status != AllocationPlan.Status.DRAFT:
        raise Conflict(_("Plan %(code)s is %(status)s: only a draft can be edited.")
                       % {"code": plan.code, "status": plan.get_status_display()}, "plan_not_draft", "plan")


@transaction.atomic
def benchmark_row_update(*, actor, row: BenchmarkRow, electricity_t_per_mwh=None, heat_t_per_gj=None,
                         confidence=None, note=None) -> BenchmarkRow:
    """Change a benchmark row of a draft plan (published plans are frozen)."""
    _require_national(actor, _("edit benchmarks"))
    (row,) = lock_rows(BenchmarkRow.objects.filter(pk=row.pk))
    _editable(row.plan)
    before = model_to_dict(row)
    for name, value in (("electricity_t_per_mwh", electricity_t_per_mwh), ("heat_t_per_gj", heat_t_per_gj)):
        if value is not None:
            value = Decimal(str(value))
            if value < 0:
                raise DomainError(_("A benchmark must not be negative."), "invalid_benchmark", name)
            setattr(row, name, value)
    if confidence is not None:
        row.confidence = confidence
    if note is not None:
        row.note = note
    row.save()
    audit_record(actor=actor, action="benchmark_row.update", obj=row, before=before, after=model_to_dict(row))
    return row


@transaction.atomic
def plan_update(*, actor, plan: AllocationPlan, **fields) -> AllocationPlan:
    """Change the rules of a draft plan (shares, correction coefficients, relief, borrowing)."""
    _require_national(actor, _("edit allocation plans"))
    (plan,) = lock_rows(AllocationPlan.objects.filter(pk=plan.pk))
    _editable(plan)
    before = _plan_snapshot(plan)
    for name, value in fields.items():
        setattr(plan, name, value)
    plan.full_clean()
    plan.save()
    audit_record(actor=actor, action="allocation_plan.update", obj=plan, before=before, after=_plan_snapshot(plan))
    return plan


@transaction.atomic
def plan_submit(*, actor, plan: AllocationPlan) -> AllocationPlan:
    """First pair of eyes: submit a complete draft for publication."""
    _require_national(actor, _("submit allocation plans"))
    (plan,) = lock_rows(AllocationPlan.objects.filter(pk=plan.pk))
    _editable(plan)
    for year in plan.years if plan.method == AllocationPlan.Method.BENCHMARK else ():
        have = set(plan.benchmarks.filter(year=year, kind=BenchmarkRow.Kind.BENCHMARK)
                   .values_list("category", flat=True))
        if have != {"I", "II", "III", "IV"}:
            raise DomainError(_("Plan %(code)s lacks benchmarks for %(year)s (categories I-IV).")
                              % {"code": plan.code, "year": year}, "incomplete_plan", "benchmarks")
    updated = AllocationPlan.objects.filter(pk=plan.pk, status=AllocationPlan.Status.DRAFT).update(
        status=AllocationPlan.Status.SUBMITTED, submitted_by=actor)
    if updated != 1:
        raise Conflict(_("The plan changed meanwhile; reload and retry."), "plan_changed", "plan")
    plan.refresh_from_db()
    audit_record(actor=actor, action="allocation_plan.submit", obj=plan, before={"status": "draft"},
                 after={"status": plan.status})
    return plan


@transaction.atomic
def plan_publish(*, actor, plan: AllocationPlan) -> AllocationPlan:
    """Second pair of eyes: another national regulator publishes the submitted plan (then frozen)."""
    _require_national(actor, _("publish allocation plans"))
    (plan,) = lock_rows(AllocationPlan.objects.filter(pk=plan.pk))
    if plan.status != AllocationPlan.Status.SUBMITTED:
        raise Conflict(_("Only a submitted plan can be published."), "plan_not_submitted", "plan")
    if plan.submitted_by_id == actor.pk:
        raise Forbidden(_("Four-eyes: the regulator who submitted the plan may not publish it."), "four_eyes")
    AllocationPlan.objects.filter(pk=plan.pk).update(status=AllocationPlan.Status.PUBLISHED, published_by=actor,
                                                     published_at=timezone.now())
    plan.refresh_from_db()
    audit_record(actor=actor, action="allocation_plan.publish", obj=plan, before={"status": "submitted"},
                 after={"status": plan.status, "published_by": actor.pk})
    return plan


@transaction.atomic
def plan_return_to_draft(*, actor, plan: AllocationPlan) -> AllocationPlan:
    """The second regulator sends a submitted plan back for changes."""
    _require_national(actor, _("return allocation plans"))
    updated = AllocationPlan.objects.filter(pk=plan.pk, status=AllocationPlan.Status.SUBMITTED).update(
        status=AllocationPlan.Status.DRAFT, submitted_by=None)
    if updated != 1:
        raise Conflict(_("Only a submitted plan can be returned to draft."), "plan_not_submitted", "plan")
    plan.refresh_from_db()
    audit_record(actor=actor, action="allocation_plan.return", obj=plan, before={"status": "submitted"},
                 after={"status": plan.status})
    return plan


# ---- high-risk entities -----------------------------------------------------------------------------

@transaction.atomic
def high_risk_designate(*, actor, entity: KeyEntity, year: int, reason: str) -> HighRiskDesignation:
    """The province marks an entity whose allocation of ``year`` goes to the provincial account."""
    if not can_manage_entity(actor, entity):
        raise Forbidden(_("Only the national regulator or the entity's province may designate it high-risk."))
    if reason not in HighRiskDesignation.Reason.values:
        raise DomainError(_("Unknown reason %(r)s.") % {"r": reason}, "invalid_reason", "reason")
    row, created = HighRiskDesignation.objects.get_or_create(
        entity=entity, year=year, defaults={"reason": reason, "designated_by": actor})
    if not created:
        raise Conflict(_("The entity is already designated high-risk for that year."), "already_designated", "year")
    audit_record(actor=actor, action="allocation.high_risk", obj=row,
                 after={"entity": entity.pk, "year": year, "reason": reason})
    return row


# ---- borrowing (2021-22 plans) --------------------------------------------------------------------------

@transaction.atomic
def borrowing_apply(*, actor, entity: KeyEntity, year: int, requested_tco2: int) -> BorrowingApplication:
    """An entity short by more than the plan's threshold applies to borrow next-vintage CEAs.

    The shortfall is verified emissions minus the year's completed true-up allocation; the entity
    may borrow up to the plan's share (50%) of it. The province decides (``borrowing_decide``).
    """
    from . import selectors

    if actor.acting_entity_id != entity.pk:
        raise Forbidden(_("Only the entity itself may apply to borrow allowances."))
    plan = selectors.plan_for_year(year)
    if not plan.borrowing_allowed:
        raise DomainError(_("Plan %(code)s does not allow borrowing.") % {"code": plan.code},
                          "borrowing_not_allowed", "year")
    figures = selectors.allocation_for(entity.pk, year)
    verified = _verified_emissions(entity.pk, year)
    if not figures["final"] or verified is None:
        raise DomainError(_("Borrowing needs the year's verified emissions and completed true-up."),
                          "not_trued_up", "year")
    allocation = figures["allocation_tco2"]
    shortfall = verified - allocation
    if shortfall <= verified * plan.borrowing_threshold:
        raise DomainError(_("The shortfall %(s)s t is not more than %(p)s%% of verified emissions %(v)s t.")
                          % {"s": shortfall, "p": plan.borrowing_threshold * 100, "v": verified},
                          "shortfall_too_small", "requested_tco2")
    limit = int(shortfall * plan.borrowing_max_share)
    if isinstance(requested_tco2, bool) or not isinstance(requested_tco2, int) or requested_tco2 <= 0:
        raise DomainError(_("The requested quantity must be a positive whole number of tonnes."),
                          "invalid_quantity", "requested_tco2")
    if requested_tco2 > limit:
        raise DomainError(_("At most %(m)s t may be borrowed (%(p)s%% of the shortfall %(s)s t).")
                          % {"m": limit, "p": plan.borrowing_max_share * 100, "s": shortfall},
                          "borrowing_above_limit", "requested_tco2")
    if BorrowingApplication.objects.filter(entity=entity, year=year).exclude(status="rejected").exists():
        raise Conflict(_("The entity already applied to borrow for this year."), "already_applied", "year")
    application = BorrowingApplication.objects.create(
        entity=entity, plan=plan, year=year, verified_emissions_tco2=verified, allocation_tco2=allocation,
        shortfall_tco2=shortfall, requested_tco2=requested_tco2, applied_by=actor)
    audit_record(actor=actor, action="borrowing.apply", obj=application,
                 after={"entity": entity.pk, "year": year, "requested_tco2": requested_tco2, "shortfall": shortfall})
    return application


@transaction.atomic
def borrowing_decide(*, actor, application: BorrowingApplication, approve: bool) -> BorrowingApplication:
    """The entity's province approves or rejects; an approval issues the borrowed CEAs, deducted next year.

    Who does what: the province approves ELIGIBILITY (the shortfall rule, its entity); only the
    Ministry ISSUES. So an approval creates a registry issuance proposal of ``requested_tco2`` CEAs of
    the NEXT vintage (year + 1) straight into the entity's holding account, a system proposal naming
    the application; a national regulator approves it in the registry's approval queue (four-eyes:
    the province's decision, then the Ministry's approval; a province cannot approve an issuance).
    The borrowed amount is deducted from the entity's next allocation (``run_calculate``), whether
    or not the issuance has been approved yet: the two are independent records of one decision.
    An account that may not receive units (fully frozen, closed) refuses the approval: nothing changes.
    The borrowed quantity is added to the next vintage's plan total first (``vintage_totals``), so the
    registry's cap admits this issuance and nothing beyond the determined total.
    """
    from registry import services as registry

    if not (actor.role == User.Role.PROVINCIAL_REGULATOR and actor.province_id == application.entity.province_id):
        raise Forbidden(_("Only the entity's provincial regulator decides borrowing applications."))
    status = BorrowingApplication.Status.APPROVED if approve else BorrowingApplication.Status.REJECTED
    updated = BorrowingApplication.objects.filter(pk=application.pk, status="submitted").update(
        status=status, decided_by=actor, decided_at=timezone.now())
    if updated != 1:
        raise Conflict(_("The application was already decided."), "already_decided", "application")
    application.refresh_from_db()
    after = {"status": status}
    if approve:
        vintage = application.year + 1
        reference = f"allowances-borrowing-{application.pk}"
        vintage_total_add(actor=actor, vintage=vintage, source="borrowing", quantity=application.requested_tco2,
                          reference=reference)
        proposal = registry.issuance_propose(
            actor=None, instrument=registry.instrument_get_or_create_cea(vintage=vintage),
            quantity=application.requested_tco2, deliver_to=registry.account_for_entity(entity=application.entity),
            reference=reference,
            reason=_("Borrowing of %(q)s t of vintage %(v)s approved by the province for %(year)s (application "
                     "%(pk)s)") % {"q": application.requested_tco2, "v": vintage, "year": application.year,
                                   "pk": application.pk})
        application.issuance_reference = str(proposal.pk)
        application.save(update_fields=["issuance_reference"])
        after.update(issuance_proposal=proposal.pk, vintage=vintage, quantity_tco2=application.requested_tco2)
    audit_record(actor=actor, action="borrowing.decide", obj=application, before={"status": "submitted"},
                 after=after)
    return application


def _verified_emissions(entity_id: int, year: int) -> int | None:
    from mrv import selectors as mrv_selectors

    return mrv_selectors.verified_emissions_by_entity(year).get(entity_id)


# ---- scenarios -----------------------------------------------------------------------------------------

# Correction coefficients a scenario may change (fractions; cooling factors up to 2).
RULE_OVERRIDES = {"cooling_water_factor": 2, "cooling_air_factor": 2, "cooling_back_pressure_factor": 2,
                  "heat_ratio_coefficient": 1, "gas_heat_ratio_coefficient": 1, "peak_threshold": 1}
OVERRIDE_KEYS = {"electricity", "heat", "entity_relief_floor", "gas_relief", "balance_values", *RULE_OVERRIDES}


def _clean_overrides(overrides: dict) -> dict:
    if not isinstance(overrides, dict):
        raise DomainError(_("Overrides must be an object."), "invalid_overrides", "overrides")
    unknown = set(overrides) - OVERRIDE_KEYS
    if unknown:
        raise DomainError(_("Unknown override %(k)s.") % {"k": ", ".join(sorted(unknown))}, "invalid_overrides",
                          "overrides")
    clean: dict = {}
    for kind in ("electricity", "heat"):
        values = overrides.get(kind) or {}
        if not isinstance(values, dict):
            raise DomainError(_("%(k)s must map categories to values.") % {"k": kind}, "invalid_overrides", kind)
        for category, value in values.items():
            if category not in ("I", "II", "III", "IV"):
                raise DomainError(_("Unknown unit category %(c)s.") % {"c": category}, "unknown_category",
                                  f"{kind}.{category}")
            try:
                number = Decimal(str(value))
            except Exception as exc:
                raise DomainError(_("A benchmark must be a number."), "invalid_benchmark",
                                  f"{kind}.{category}") from exc
            if not number.is_finite() or number < 0:
                raise DomainError(_("A benchmark must be a non-negative number."), "invalid_benchmark",
                                  f"{kind}.{category}")
            clean.setdefault(kind, {})[category] = str(number)
    if "entity_relief_floor" in overrides:
        floor = overrides["entity_relief_floor"]
        if floor is not None:
            try:
                floor = Decimal(str(floor))
            except Exception as exc:
                raise DomainError(_("The relief floor must be a fraction."), "invalid_floor",
                                  "entity_relief_floor") from exc
            if not floor.is_finite() or not 0 <= floor <= 1:
                raise DomainError(_("The relief floor must be a fraction between 0 and 1."), "invalid_floor",
                                  "entity_relief_floor")
            floor = str(floor)
        clean["entity_relief_floor"] = floor
    if "gas_relief" in overrides:
        clean["gas_relief"] = bool(overrides["gas_relief"])
    if "balance_values" in overrides:
        clean["balance_values"] = _clean_balance_values(overrides["balance_values"])
    for name, upper in RULE_OVERRIDES.items():
        if name in overrides:
            try:
                number = Decimal(str(overrides[name]))
            except Exception as exc:
                raise DomainError(_("%(name)s must be a number.") % {"name": name}, "invalid_rule", name) from exc
            if not number.is_finite() or not 0 <= number <= upper:
                raise DomainError(_("%(name)s must be between 0 and %(upper)s.") % {"name": name, "upper": upper},
                                  "invalid_rule", name)
            clean[name] = str(number)
    return clean


def _clean_balance_values(values) -> dict:
    """A scenario's balance values of the intensity sectors: {sector: positive number}."""
    from entities.models import Sector

    if not isinstance(values, dict):
        raise DomainError(_("balance_values must map sectors to values."), "invalid_overrides", "balance_values")
    known = set(Sector.objects.filter(allocation_method=Sector.AllocationMethod.INTENSITY)
                .values_list("code", flat=True))
    clean = {}
    for sector, value in values.items():
        field = f"balance_values.{sector}"
        if sector not in known:
            raise DomainError(_("Unknown intensity sector %(s)s.") % {"s": sector}, "unknown_sector", field)
        try:
            number = Decimal(str(value))
        except Exception as exc:
            raise DomainError(_("A balance value must be a number."), "invalid_balance_value", field) from exc
        if not number.is_finite() or number <= 0:
            raise DomainError(_("A balance value must be a positive number."), "invalid_balance_value", field)
        clean[sector] = str(number)
    return clean


@transaction.atomic
def scenario_create(*, actor, plan: AllocationPlan, name: str, data_year: int, overrides: dict) -> Scenario:
    """Evaluate a plan with edited benchmarks or rules on verified data; nothing touches the registry."""
    from .sandbox import scenario_evaluate

    _require_national(actor, _("run policy scenarios"))
    if plan.method != AllocationPlan.Method.BENCHMARK:
        raise DomainError(_("Choose a power plan: the intensity sectors of its year are evaluated beside it."),
                          "not_power_plan", "plan")
    if not name.strip():
        raise DomainError(_("A scenario needs a name."), "required", "name")
    overrides = _clean_overrides(overrides)
    result = scenario_evaluate(plan=plan, data_year=data_year, overrides=overrides)
    scenario = Scenario.objects.create(name=name.strip(), plan=plan, data_year=data_year, overrides=overrides,
                                       result=result, created_by=actor)
    audit_record(actor=actor, action="scenario.create", obj=scenario,
                 after={"plan": plan.code, "data_year": data_year, "overrides": overrides})
    return scenario


# ---- allocation runs -------------------------------------------------------------------------------------

CHUNK = 500  # entities per database transaction of a run (one commit per chunk, progress after each)
# Entities settled per database transaction after the run's one bulk withdrawal (status and obligations;
# the registry moves the units in its own chunks); a failure rolls the chunk back and a rerun redoes it.
WITHDRAWAL_CHUNK = 500


def _mrv():
    from mrv import selectors as mrv_selectors

    return mrv_selectors


def _unconfirmed_entities(year: int) -> list[int]:
    """Active entities covered in ``year`` (included that year or before) without a confirmed verification.

    An entity included later owes no verification of ``year`` (MRV's own completeness check and the
    compliance obligations use the same coverage); before, it blocked the true-up of earlier years.
    """
    active = set(KeyEntity.objects.filter(status=KeyEntity.Status.ACTIVE, inclusion_year__lte=year)
                 .values_list("pk", flat=True))
    return sorted(active - _mrv().verification_confirmed_entity_ids(year))


@transaction.atomic
def run_start(*, actor, year: int, kind: str, entities: list | None = None, today=None) -> AllocationRun:
    """Start the pre-allocation, the true-up or a re-determination of ``year``: a Job computes the results.

    The true-up is refused until MRV has confirmed the verification of every active entity for the
    year; the pre-allocation needs the previous year's confirmed data. A re-determination (a
    verification result changed after the true-up, 多退少补 within 10 working days) recomputes the
    ``entities`` named on their current verified data against their last final allocation. Nothing moves
    in the registry until a second national regulator approves the run (``run_approve``).
    """
    from cets.common.calendar import add_working_days
    from cets.common.jobs import job_create

    from . import selectors

    _require_national(actor, _("start allocation runs"))
    if kind not in AllocationRun.Kind.values:
        raise DomainError(_("Unknown run kind %(k)s.") % {"k": kind}, "invalid_kind", "kind")
    plan = selectors.plan_for_year(year)
    selectors.plan_rules(plan, year)  # refuses a plan without a complete benchmark table for the year
    redetermination = kind == AllocationRun.Kind.REDETERMINATION
    if redetermination:
        entities = _redetermination_entities(year, entities)
    elif AllocationRun.objects.filter(year=year, kind=kind).exists():
        raise Conflict(_("A %(kind)s run for %(year)s already exists.") % {"kind": kind, "year": year},
                       "run_exists", "year")
    data_year = year if kind != AllocationRun.Kind.PRE_ALLOCATION else year - 1
    if kind == AllocationRun.Kind.TRUE_UP:
        missing = _unconfirmed_entities(year)
        if missing:
            raise DomainError(
                _("True-up refused: verification of %(year)s is not confirmed for %(n)d entities (ids %(ids)s).")
                % {"year": year, "n": len(missing), "ids": ", ".join(map(str, missing[:20]))},
                "verification_not_confirmed", "year")
    if kind == AllocationRun.Kind.TRUE_UP:
        balance_values.require_published(year)
    confirmed = _mrv().verification_confirmed_entity_ids(data_year)
    if not confirmed:
        raise DomainError(_("There is no confirmed verified data for %(year)s.") % {"year": data_year},
                          "no_verified_data", "year")
    run = AllocationRun.objects.create(
        plan=plan, year=year, kind=kind, created_by=actor, entity_ids=entities or [],
        due_date=add_working_days(today or timezone.localdate(), 10) if redetermination else None)
    run.calculate_job = job_create(kind="allowances.calculate", user=actor, params={"run": run.pk},
                                   total=len(confirmed))
    run.save(update_fields=["calculate_job"])
    audit_record(actor=actor, action="allocation_run.start", obj=run,
                 after={"plan": plan.code, "year": year, "kind": kind})
    return run


def _redetermination_entities(year: int, entities) -> list[int]:
    """The entities of a re-determination: trued up in a completed run, verification confirmed again, none
    with a re-determination of the year still open."""
    if not isinstance(entities, list) or not entities or not all(
            isinstance(pk, int) and not isinstance(pk, bool) for pk in entities):
        raise DomainError(_("Name the entities to re-determine (a list of ids)."), "required", "entities")
    wanted = sorted(set(entities))
    trued_up = set(EntityAllocation.objects.filter(
        run__year=year, run__kind=AllocationRun.Kind.TRUE_UP, run__status=AllocationRun.Status.COMPLETED,
        entity_id__in=wanted).values_list("entity_id", flat=True))
    confirmed = _mrv().verification_confirmed_entity_ids(year)
    refused = [pk for pk in wanted if pk not in trued_up or pk not in confirmed]
    if refused:
        raise DomainError(_("Re-determination needs a completed true-up and a confirmed verification of %(year)s "
                            "(not so for ids %(ids)s).") % {"year": year, "ids": ", ".join(map(str, refused))},
                          "not_trued_up", "entities")
    if AllocationRun.objects.filter(year=year, kind=AllocationRun.Kind.REDETERMINATION).exclude(
            status=AllocationRun.Status.COMPLETED).exists():
        raise Conflict(_("A re-determination of %(year)s is still open: approve it first.") % {"year": year},
                       "run_exists", "year")
    return wanted


def _latest_final(year: int, entity_ids) -> dict[int, EntityAllocation]:
    """Each entity's last final allocation of ``year`` (its true-up or a completed re-determination)."""
    rows = EntityAllocation.objects.filter(
        run__year=year, entity_id__in=list(entity_ids), run__status=AllocationRun.Status.COMPLETED,
        run__kind__in=[AllocationRun.Kind.TRUE_UP, AllocationRun.Kind.REDETERMINATION]).order_by("run_id")
    return {ea.entity_id: ea for ea in rows}


def _unit_rows(ea: EntityAllocation, results: list[tuple[dict, int, int, list]]) -> list[UnitAllocation]:
    return [UnitAllocation(entity_allocation=ea, unit_id=row["unit_id"], category=row.get("category") or "",
                           base_tco2=base,
                           relief_tco2=relief, allocation_tco2=base + relief,
                           lines=[line.as_dict() for line in lines])
            for row, base, relief, lines in results]


def run_calculate(*, run: AllocationRun, job=None) -> dict:
    """Compute every entity of a run in chunks; entities a previous attempt committed are skipped."""
    from cets.common.jobs import job_progress

    from . import calculation, deductions, industry, selectors

    plan = run.plan
    rules = selectors.plan_rules(plan, run.year)
    true_up = run.kind != AllocationRun.Kind.PRE_ALLOCATION
    redetermination = run.kind == AllocationRun.Kind.REDETERMINATION
    rows = _mrv().verified_unit_data(run.year if true_up else run.year - 1, plan_year=run.year)
    grouped = calculation.by_entity(rows)
    if redetermination:
        grouped = {pk: grouped[pk] for pk in run.entity_ids if pk in grouped}
    sectors = {"plans": selectors.industry_plans(run.year), "totals": industry.entity_sector_totals(rows)}
    done = set(EntityAllocation.objects.filter(run=run).values_list("entity_id", flat=True))
    todo = [pk for pk in sorted(grouped) if pk not in done]
    if job is not None:
        job_progress(job, done=len(done), total=len(grouped), message=_("calculating"))
    high_risk = set(HighRiskDesignation.objects.filter(year=run.year).values_list("entity_id", flat=True))
    pre_rows = {}
    if redetermination:
        pre_rows = _latest_final(run.year, grouped)
    elif true_up:
        pre_rows = {ea.entity_id: ea for ea in EntityAllocation.objects.filter(
            run__year=run.year, run__kind=AllocationRun.Kind.PRE_ALLOCATION)}
    borrowed: dict[int, list[BorrowingApplication]] = {}
    for application in BorrowingApplication.objects.filter(year=run.year - 1,
                                                           status=BorrowingApplication.Status.APPROVED):
        if not redetermination:  # deducted by the true-up already
            borrowed.setdefault(application.entity_id, []).append(application)
    for i in range(0, len(todo), CHUNK):
        chunk = todo[i:i + CHUNK]
        with transaction.atomic():
            entity_rows, unit_rows, deducted = [], [], []
            pending = deductions.pending_by_entity(chunk)
            for entity_id in chunk:
                ea, units = _entity_result(run, plan, rules, grouped[entity_id], true_up=true_up,
                                           pre=pre_rows.get(entity_id), borrowings=borrowed.get(entity_id, []),
                                           sectors=sectors)
                cut = sum(d.quantity_tco2 for d in pending.get(entity_id, []))
                ea.penalty_deduction_tco2, ea.difference_tco2 = cut, ea.difference_tco2 - cut
                ea.destination = (EntityAllocation.Destination.PROVINCIAL if entity_id in high_risk
                                  else EntityAllocation.Destination.ENTITY)
                entity_rows.append(ea)
                unit_rows.append(units)
            EntityAllocation.objects.bulk_create(entity_rows, batch_size=1000)
            deductions.mark_applied(pending, entity_rows)
            all_units = []
            for ea, units in zip(entity_rows, unit_rows, strict=True):
                deducted.extend(a.pk for a in borrowed.get(ea.entity_id, []) if ea.borrowing_deduction_tco2)
                all_units.extend(_unit_rows(ea, units))
            UnitAllocation.objects.bulk_create(all_units, batch_size=2000)
            if deducted:
                by_entity = {ea.entity_id: ea for ea in entity_rows}
                for application in BorrowingApplication.objects.filter(pk__in=deducted):
                    application.status = BorrowingApplication.Status.DEDUCTED
                    application.deducted_in = by_entity[application.entity_id]
                    application.save(update_fields=["status", "deducted_in"])
        if job is not None:
            job_progress(job, advance=len(chunk))
    with transaction.atomic():
        total = sum(EntityAllocation.objects.filter(run=run).values_list("allocation_tco2", flat=True))
        AllocationRun.objects.filter(pk=run.pk, status=AllocationRun.Status.CALCULATING).update(
            status=AllocationRun.Status.CALCULATED, total_tco2=total)
        run.refresh_from_db()
        audit_record(actor=None, action="allocation_run.calculated", obj=run,
                     after={"entities": len(grouped), "total_tco2": total})
    return {"entities": len(grouped), "total_tco2": total}


def _entity_result(run, plan, rules, rows, *, true_up: bool, pre, borrowings, sectors) -> tuple[EntityAllocation, list]:
    """One entity's EntityAllocation (unsaved) and its unit results (row, base, relief, lines).

    Each facility follows its own sector: power units the power plan (with its relief), other facilities
    their sector's plan for the year (``allowances.industry``); an entity with both (a steel works with a
    captive plant) gets one result summing the two.
    """
    from . import calculation, industry

    entity_id = rows[0]["entity_id"]
    borrowed = sum(a.requested_tco2 for a in borrowings)
    power_rows = [r for r in rows if not industry.is_industrial(r)]
    other_rows = [r for r in rows if industry.is_industrial(r)]
    if true_up:
        result, covered, excluded = calculation.true_up(rules, power_rows, basis=plan.activity_basis)
        units = [(row, r.base_tco2, r.gas_relief_tco2, r.lines) for row, r in zip(covered, result.units, strict=True)]
        facilities, other_excluded, other_verified = industry.true_up(sectors["plans"], other_rows,
                                                                      sectors["totals"])
        units += [(row, amount, 0, lines) for row, amount, lines in facilities]
        other = sum(amount for _row, amount, _lines in facilities)
        allocation = result.total_tco2 + other
        if run.kind == AllocationRun.Kind.REDETERMINATION:  # only the change: deductions were settled
            previous, deduction = pre.allocation_tco2, 0
        else:
            previous = (pre.allocation_tco2 - pre.borrowing_deduction_tco2) if pre else 0
            deduction = pre.borrowing_deduction_tco2 if pre else borrowed
        difference = allocation - deduction - previous
        verified = result.verified_emissions_tco2
        if facilities:
            verified = (verified or 0) + other_verified
        ea = EntityAllocation(
            run=run, entity_id=entity_id, base_tco2=result.base_tco2 + other, relief_tco2=result.relief_tco2,
            allocation_tco2=allocation, verified_emissions_tco2=verified,
            previously_issued_tco2=previous, borrowing_deduction_tco2=deduction, difference_tco2=difference,
            lines=[line.as_dict() for line in [*excluded, *other_excluded, *result.lines]])
        return ea, units
    results, excluded = calculation.pre_allocation(rules, power_rows, basis=plan.activity_basis,
                                                   pre_basis=plan.pre_allocation_basis,
                                                   share=plan.pre_allocation_share)
    other_results, other_excluded = industry.pre_allocation(sectors["plans"], other_rows)
    results += other_results
    units = [(row, amount, 0, lines) for row, amount, lines in results]
    allocation = sum(amount for _row, amount, _lines in results)
    ea = EntityAllocation(run=run, entity_id=entity_id, base_tco2=allocation, allocation_tco2=allocation,
                          borrowing_deduction_tco2=borrowed, difference_tco2=allocation - borrowed,
                          lines=[line.as_dict() for line in [*excluded, *other_excluded]])
    return ea, units


@transaction.atomic
def run_approve(*, actor, run: AllocationRun) -> AllocationRun:
    """Second pair of eyes: another national regulator approves; a Job moves the units in the registry.

    What the run will issue (its entities' positive differences) is added to the vintage's plan total
    (``vintage_totals``) in this transaction, which raises the registry's issuance cap of the vintage:
    the run's issuance fits exactly, and nothing beyond it can be issued by any other door.
    """
    from cets.common.jobs import job_create

    _require_national(actor, _("approve allocation runs"))
    (run,) = lock_rows(AllocationRun.objects.filter(pk=run.pk))
    if run.status != AllocationRun.Status.CALCULATED:
        raise Conflict(_("Only a calculated run can be approved (this one is %(s)s).")
                       % {"s": run.get_status_display()}, "run_not_calculated", "run")
    if run.created_by_id == actor.pk:
        raise Forbidden(_("Four-eyes: the regulator who started the run may not approve it."), "four_eyes")
    run.status = AllocationRun.Status.ISSUING
    run.approved_by = actor
    run.issue_job = job_create(kind="allowances.issue", user=actor, params={"run": run.pk},
                               total=run.entities.count())
    run.save(update_fields=["status", "approved_by", "issue_job"])
    to_issue = run.entities.filter(difference_tco2__gt=0).aggregate(n=Sum("difference_tco2"))["n"] or 0
    if to_issue:  # what run_issue proposes: the vintage's plan total grows by it before anything is issued
        vintage_total_add(actor=actor, vintage=run.year, source=run.kind, quantity=to_issue,
                          reference=f"allowances-run-{run.pk}")
    audit_record(actor=actor, action="allocation_run.approve", obj=run, before={"status": "calculated"},
                 after={"status": run.status})
    return run


def run_issue(*, run: AllocationRun, job=None) -> dict:
    """Move each entity's difference through the registry; resumable, never doubling.

    1. The positive differences are issued as new CEAs of the run's vintage into the national
       allocation account: proposed by the regulator who started the run, approved by the one who
       approved it (the registry's four-eyes), once (the transaction id is kept on the run).
    2. ``registry.allocation_execute`` hands them to the entity accounts (or the provincial account
       of high-risk entities and of entities whose account is fully frozen) in chunks, with the
       run's reference, so a rerun resumes.
    3. Negative differences are withdrawn by ONE registry bulk withdrawal per run (four-eyes once,
       same two regulators; ``registry.withdrawal_bulk_propose`` / ``withdrawal_bulk_approve``),
       each entity giving at most what it holds available in that vintage; what it cannot cover is
       recorded as an Obligation: a balance never goes negative. Then one database transaction per
       WITHDRAWAL_CHUNK entities marks each row settled, so a rerun skips what was committed.
    """
    from cets.common.jobs import job_progress
    from registry import selectors as registry_selectors
    from registry import services as registry

    run = AllocationRun.objects.select_related("created_by", "approved_by").get(pk=run.pk)
    proposer, approver = run.created_by, run.approved_by
    instrument = registry.instrument_get_or_create_cea(vintage=run.year)
    reference = f"allowances-run-{run.pk}"
    pending = EntityAllocation.objects.filter(run=run, status=EntityAllocation.Status.CALCULATED).select_related(
        "entity")
    positives = [ea for ea in pending if ea.difference_tco2 > 0]
    if positives and not run.issuance_reference:
        with transaction.atomic():
            # the run's row lock makes a concurrent rerun wait, then see the reference and skip
            (locked,) = lock_rows(AllocationRun.objects.filter(pk=run.pk))
            if not locked.issuance_reference:
                proposal = registry.issuance_propose(actor=proposer, instrument=instrument,
                                                     quantity=sum(ea.difference_tco2 for ea in positives))
                registry.transaction_approve(actor=approver, transaction=proposal)
                locked.issuance_reference = str(proposal.pk)
                locked.save(update_fields=["issuance_reference"])
            run.issuance_reference = locked.issuance_reference
    holder_accounts = {a.entity_id: a for a in registry_selectors.accounts_visible_to(approver).filter(
        kind="entity_holding", entity_id__in=[ea.entity_id for ea in pending]).exclude(status="closed")}

    def account_of(ea):
        return holder_accounts.get(ea.entity_id) or registry.account_for_entity(entity=ea.entity)

    if positives:
        accounts = {}
        for ea in positives:
            account = account_of(ea)
            if ea.destination == EntityAllocation.Destination.PROVINCIAL or account.status == "fully_frozen":
                ea.destination = EntityAllocation.Destination.PROVINCIAL
                account = registry.provincial_account(province=ea.entity.province)
            accounts[ea.pk] = account.pk
        allocations: dict[int, int] = {}
        for ea in positives:
            allocations[accounts[ea.pk]] = allocations.get(accounts[ea.pk], 0) + ea.difference_tco2
        tx = registry.allocation_execute(actor=approver, instrument=instrument, allocations=allocations,
                                         reference=reference, job=job)
        for ea in positives:
            ea.status = EntityAllocation.Status.ISSUED
            ea.registry_reference = str(tx.pk)
        with transaction.atomic():
            update_rows(positives, ["status", "registry_reference", "destination"])
    rest = [ea for ea in pending if ea.difference_tco2 <= 0]
    negatives = [ea for ea in rest if ea.difference_tco2 < 0]
    lines = {}
    if negatives:
        lines = _withdraw_over_allocations(run, negatives, account_of=account_of, proposer=proposer,
                                           approver=approver, instrument=instrument)
    for i in range(0, len(rest), WITHDRAWAL_CHUNK):
        chunk = rest[i:i + WITHDRAWAL_CHUNK]
        with transaction.atomic():
            settled = _settle_negatives(chunk, run=run, lines=lines)
            if settled:  # one entry per chunk naming every entity settled in it
                audit_record(actor=approver, action="allocation.withdraw", obj=run, after={"entities": settled})
        if job is not None:
            job_progress(job, advance=len(chunk))
    with transaction.atomic():
        AllocationRun.objects.filter(pk=run.pk).update(status=AllocationRun.Status.COMPLETED)
        run.refresh_from_db()
        obligations = Obligation.objects.filter(entity_allocation__run=run).count()
        audit_record(actor=approver, action="allocation_run.completed", obj=run,
                     after={"issued": sum(ea.difference_tco2 for ea in positives), "obligations": obligations})
    return {"issued_tco2": sum(ea.difference_tco2 for ea in positives), "obligations": obligations}


def _withdraw_over_allocations(run, negatives, *, account_of, proposer, approver, instrument) -> dict:
    """Withdraw every over-allocation of a run through ONE registry bulk withdrawal (four-eyes once).

    Proposed by the regulator who started the run, approved by the one who approved it; the
    registry takes from each entity at most what it holds available in the run's vintage and
    reports the rest, which ``_settle_negatives`` records as an Obligation. The proposal carries the
    run's reference, so a rerun finds it (under the run's row lock) and resumes it instead of
    proposing again. Returns the registry's lines by account id.
    """
    from registry import selectors as registry_selectors
    from registry import services as registry

    reference = f"allowances-run-{run.pk}-withdrawal"
    accounts = {ea.pk: account_of(ea).pk for ea in negatives}
    with transaction.atomic():
        lock_rows(AllocationRun.objects.filter(pk=run.pk))
        proposal = registry_selectors.bulk_withdrawal_by_reference(reference)
        if proposal is None:
            proposal = registry.withdrawal_bulk_propose(
                actor=proposer, instrument=instrument, kind="withdrawal", reference=reference,
                withdrawals={accounts[ea.pk]: -ea.difference_tco2 for ea in negatives},
                reason=_("Allocation %(kind)s %(year)s: over-allocation withdrawn") % {"kind": run.kind,
                                                                                       "year": run.year})
    registry.withdrawal_bulk_approve(actor=approver, transaction=proposal)
    lines = registry_selectors.bulk_withdrawal_lines(proposal)
    return {ea_pk: (lines[account_pk], proposal) for ea_pk, account_pk in accounts.items()}


def _settle_negatives(chunk, *, run, lines: dict) -> list[dict]:
    """Mark what the bulk withdrawal did for each entity; an uncovered rest becomes an Obligation.

    Returns one entry per entity settled now (for the chunk's audit entry); rows an earlier run
    settled are skipped (their row is no longer CALCULATED).
    """
    locked = lock_rows(EntityAllocation.objects.filter(pk__in=[ea.pk for ea in chunk],
                                                       status=EntityAllocation.Status.CALCULATED))
    settled, obligations = [], []
    for ea in locked:
        need = -ea.difference_tco2
        if need == 0:
            ea.status = EntityAllocation.Status.NOTHING
            settled.append({"entity": ea.entity_id, "status": ea.status})
            continue
        line, proposal = lines[ea.pk]
        withdrawn = line.withdrawn
        if withdrawn:
            ea.registry_reference = str(proposal.pk)
        ea.status = EntityAllocation.Status.WITHDRAWN
        if withdrawn < need:
            ea.status = EntityAllocation.Status.OBLIGATION
            obligations.append(Obligation(entity_allocation=ea, entity_id=ea.entity_id, year=run.year,
                                          quantity_tco2=need - withdrawn))
        settled.append({"entity": ea.entity_id, "status": ea.status, "withdrawn_tco2": withdrawn,
                        "obligation_tco2": need - withdrawn})
    update_rows(locked, ["status", "registry_reference"])
    Obligation.objects.bulk_create(obligations, batch_size=1000)
    return settled
