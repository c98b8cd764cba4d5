"""Writes of the compliance app: obligations, surrender steps, individual relief, risk scans, cycle
closing, penalties and certificates.

Public for other callers (the national replay, the doors):

- ``obligations_calculate(actor, cycle, year, entity_ids=None) -> dict``: one obligation per entity with
  a confirmed verification of ``year`` (mrv), with its allocation, plan relief and borrowing (allowances).
- ``surrender(actor, obligation, items, on_date=None) -> list[SurrenderStep]``: items are
  ``{"kind": "cea", "vintage": 2021, "quantity": n}`` or ``{"kind": "ccer", "instrument": code, "quantity": n}``.
- ``relief_propose`` / ``relief_decide`` (four-eyes), ``risk_scan(cycle, on_date=None)``.
- ``cycle_close(actor, cycle) -> Job`` (a second concurrent close is refused, a rerun resumes),
  ``penalty_propose`` / ``penalty_decide`` / ``penalty_deduction_propose``, ``certificate_issue``.

Every service is atomic and keyword-only, checks who may act, audits as its last step and returns
what it changed. Reads (rates, the report) are in ``compliance.selectors``.
"""

import datetime as dt
import hashlib
import hmac
import json
from decimal import ROUND_FLOOR, Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from allowances import selectors as allowances_selectors
from cets.common.audit import audit_record
from cets.common.errors import Conflict, DomainError, Forbidden, NotFound
from cets.common.jobs import job_create, job_progress, job_requeue
from cets.common.locks import lock_rows
from cets.common.models import Job
from cets.common.money import whole_tonnes, yuan
from entities.models import KeyEntity, User
from mrv import selectors as mrv_selectors
from registry import selectors as registry_selectors
from registry import services as registry
from registry import vintages as registry_vintages

from . import notify
from .models import (
    Certificate,
    ComplianceCycle,
    FlexibleMechanism,
    Obligation,
    Penalty,
    ReliefDecision,
    RiskSnapshot,
    RiskWarning,
    SurrenderStep,
)
from .penalties import (
    NON_SURRENDER,
    check_cut_allowed,
    market_average_price,
    penalty_amount,
    penalty_multiplier,
    price_month,
)

CLOSE_JOB = "compliance.cycle_close"
CLOSE_CHUNK = 1000
NATIONAL = User.Role.NATIONAL_REGULATOR
REGULATOR_ROLES = (User.Role.NATIONAL_REGULATOR, User.Role.PROVINCIAL_REGULATOR)


def _today() -> dt.date:
    return timezone.localdate()


def _require_regulator(actor, entity: KeyEntity | None = None, *, national_only: bool = False) -> None:
    """National regulators everywhere; a provincial regulator for its province's entities (None: the system)."""
    if actor is None:
        return
    role = getattr(actor, "role", None)
    if role == NATIONAL:
        return
    if national_only or role != User.Role.PROVINCIAL_REGULATOR:
        raise Forbidden(_("Only the national regulator may do this.") if national_only
                        else _("Only a regulator of the entity's province may do this."))
    if entity is not None and entity.province_id != actor.province_id:
        raise NotFound(_("No such obligation."), field="obligation")


# ---- cycles ----------------------------------------------------------------------------------------

CYCLE_EDITABLE = ("name", "offset_cap_pct", "milestone_pct", "milestone_date", "deadline", "warning_horizons",
                  "penalty_multiplier_min", "penalty_multiplier_max", "confidence", "source")


@transaction.atomic
def cycle_update(*, actor, cycle: ComplianceCycle, **fields) -> ComplianceCycle:
    """The national regulator corrects a cycle's published figures (a deadline moved by notice, the cap).

    Only while the cycle is open; the years it covers never change (obligations hang on them).
    """
    _require_regulator(actor, national_only=True)
    unknown = set(fields) - set(CYCLE_EDITABLE)
    if unknown:
        raise DomainError(_("%(f)s cannot be changed.") % {"f": sorted(unknown)[0]}, "not_editable", sorted(unknown)[0])
    (locked,) = lock_rows(ComplianceCycle.objects.filter(pk=cycle.pk))
    if locked.status != ComplianceCycle.Status.OPEN:
        raise Conflict(_("Cycle %(cycle)s is closed.") % {"cycle": locked.code}, "cycle_closed", "cycle")
    horizons = fields.get("warning_horizons", locked.warning_horizons)
    if not isinstance(horizons, list) or not all(isinstance(h, int) and 0 < h <= 366 for h in horizons):
        raise DomainError(_("Warning horizons are a list of days between 1 and 366."), "invalid_horizons",
                          "warning_horizons")
    before = {k: str(getattr(locked, k)) for k in fields}
    for key, value in fields.items():
        setattr(locked, key, value)
    try:
        locked.full_clean(exclude=["closing_job"])
    except ValidationError as exc:
        field, errors = next(iter(exc.message_dict.items()))
        raise DomainError(errors[0], "invalid", None if field == "__all__" else field)
    locked.save(update_fields=list(fields))
    audit_record(actor=actor, action="compliance.cycle_update", obj=locked, before=before,
                 after={k: str(getattr(locked, k)) for k in fields})
    return locked


# ---- obligations ---------------------------------------------------------------------------------

def _obligation_figures(alloc: dict, verified: int) -> dict:
    return {"allocation_tco2": int(alloc["allocation_tco2"] or 0), "plan_relief_tco2": int(alloc["relief_tco2"] or 0),
            "borrowed_tco2": int(alloc["borrowed_tco2"] or 0), "verified_emissions_tco2": verified}


def _sync_mechanisms(obligation: Obligation) -> None:
    """Record plan relief and borrowing as flexible mechanisms (individual relief is recorded on approval)."""
    for kind, qty in ((FlexibleMechanism.Kind.PLAN_RELIEF, obligation.plan_relief_tco2),
                      (FlexibleMechanism.Kind.BORROWING, obligation.borrowed_tco2)):
        if qty > 0:
            FlexibleMechanism.objects.update_or_create(obligation=obligation, kind=kind,
                                                       defaults={"quantity_tco2": qty})
        else:
            FlexibleMechanism.objects.filter(obligation=obligation, kind=kind).delete()


@transaction.atomic
def obligations_calculate(*, actor, cycle: ComplianceCycle, year: int, entity_ids=None) -> dict:
    """Create or refresh each entity's obligation of ``year`` from the confirmed verified emissions of
    its covered units (``allowances.selectors.covered_emissions_by_entity``).

    A refresh (a verification corrected after a review) changes only open obligations and never below
    what was already surrendered; closed ones are history. Returns ``{"created", "updated", "unchanged"}``.
    """
    _require_regulator(actor, national_only=True)
    if year not in cycle.years:
        raise DomainError(_("%(year)s is not a year of cycle %(cycle)s.") % {"year": year, "cycle": cycle.code},
                          "year_not_in_cycle", "year")
    if cycle.status != ComplianceCycle.Status.OPEN:
        raise Conflict(_("Cycle %(cycle)s is closed.") % {"cycle": cycle.code}, "cycle_closed", "cycle")
    # Only the units the plan covers (the true-up's coverage): an uncovered unit creates no obligation.
    verified = allowances_selectors.covered_emissions_by_entity(year, entity_ids)
    existing = {o.entity_id: o for o in Obligation.objects.filter(year=year, entity_id__in=list(verified))}
    allocations = allowances_selectors.allocations_for(sorted(verified), year)
    created = updated = unchanged = 0
    new = []
    for entity_id, tonnes in sorted(verified.items()):
        figures = _obligation_figures(allocations[entity_id], tonnes)
        obligation = existing.get(entity_id)
        if obligation is None:
            new.append(Obligation(cycle=cycle, entity_id=entity_id, year=year, quantity_tco2=tonnes, **figures))
            created += 1
            continue
        elif obligation.cycle_id != cycle.pk or obligation.closed_at is not None:
            unchanged += 1
            continue
        elif any(getattr(obligation, k) != v for k, v in figures.items()):
            relief = min(obligation.relief_tco2, tonnes)
            if tonnes - relief < obligation.covered_tco2:
                raise Conflict(_("Entity %(id)s has already surrendered more than its corrected emissions.")
                               % {"id": entity_id}, "obligation_below_surrendered", "year")
            Obligation.objects.filter(pk=obligation.pk).update(quantity_tco2=tonnes - relief, relief_tco2=relief,
                                                               **figures)
            obligation.refresh_from_db()
            updated += 1
        else:
            unchanged += 1
            continue
        _sync_mechanisms(obligation)
    Obligation.objects.bulk_create(new, batch_size=2000)
    FlexibleMechanism.objects.bulk_create([  # a new obligation has no mechanism yet: its own, in one INSERT
        FlexibleMechanism(obligation=o, kind=kind, quantity_tco2=qty) for o in new
        for kind, qty in ((FlexibleMechanism.Kind.PLAN_RELIEF, o.plan_relief_tco2),
                          (FlexibleMechanism.Kind.BORROWING, o.borrowed_tco2)) if qty > 0], batch_size=2000)
    result = {"year": year, "created": created, "updated": updated, "unchanged": unchanged}
    audit_record(actor=actor, action="compliance.obligations_calculate", obj=cycle, after=result)
    return result


# ---- surrender -------------------------------------------------------------------------------------

def eligible_vintages(obligation: Obligation) -> list[int]:
    """The CEA vintages that settle the obligation's year, whatever its sector (``registry.vintages``)."""
    return registry_vintages.eligible_vintages(obligation.year)


def offset_cap_tco2(obligation: Obligation) -> int:
    """CCERs may cover at most the cycle's cap (5%) of the obligation, whole tonnes rounded down."""
    cap = Decimal(obligation.quantity_tco2) * obligation.cycle.offset_cap_pct / 100
    return int(cap.to_integral_value(rounding=ROUND_FLOOR))


def _check_item(obligation: Obligation, item: dict, index: int) -> dict:
    prefix = f"items[{index}]."
    if not isinstance(item, dict):
        raise DomainError(_("Each item is an object with kind and quantity."), "invalid", f"items[{index}]")
    kind = item.get("kind")
    quantity = whole_tonnes(item.get("quantity"), field=prefix + "quantity")
    if kind == SurrenderStep.Kind.CEA:
        try:
            vintage = int(item.get("vintage"))
        except (TypeError, ValueError):
            raise DomainError(_("Name the CEA vintage (a year)."), "invalid_vintage", prefix + "vintage")
        registry_vintages.check_settles(vintage=vintage, year=obligation.year, field=prefix + "vintage")
        return {"kind": kind, "vintage": vintage, "quantity": quantity}
    if kind == SurrenderStep.Kind.CCER:
        code = str(item.get("instrument") or "").strip()
        if not code:
            raise DomainError(_("Name the CCER instrument to cancel."), "required", prefix + "instrument")
        return {"kind": kind, "instrument": code, "quantity": quantity}
    raise DomainError(_("Kind must be cea or ccer."), "invalid_kind", prefix + "kind")


@transaction.atomic
def surrender(*, actor, obligation: Obligation, items: list, on_date: dt.date | None = None) -> list[SurrenderStep]:
    """Surrender CEAs and/or cancel CCERs against one obligation, each item a registry transaction.

    The single place of the obligation's rules, whichever door the request came in by (the portal,
    /api/v1/compliance/obligations/{id}/surrender/, and the registry's surrender and the voluntary
    market's offset paths, which ``surrender_for_year`` routes here). All items succeed or none (one
    database transaction). Rules: only the entity itself; the obligation exists and its cycle is open;
    never more than what remains; CEAs of a vintage eligible for the year (never later); CCERs of an
    offset-eligible project (never an ETS unit's, checked by voluntary), together at most the cap
    (5%). What remains and the CCERs used are read from the ledger after the obligation's row is
    locked, so two surrenders of one obligation serialise and a reversal can only lower them. A step
    after the final deadline is accepted until the cycle closes and counts as late.
    """
    check_surrender_request(actor=actor, obligation=obligation, items=items)
    (obligation,) = lock_rows(Obligation.objects.filter(pk=obligation.pk))
    return surrender_locked(actor=actor, obligation=obligation, items=items, on_date=on_date)


def check_surrender_request(*, actor, obligation: Obligation, items) -> None:
    """What ``surrender`` refuses before locking anything: another entity's obligation, no or too many items."""
    if getattr(actor, "acting_entity_id", None) != obligation.entity_id:
        raise NotFound(_("No such obligation among those of the entity you act for."), field="obligation")
    if not isinstance(items, list) or not items:
        raise DomainError(_("Give at least one item to surrender."), "required", "items")
    if len(items) > 20:
        raise DomainError(_("At most 20 items per surrender."), "too_many_items", "items")


def surrender_locked(*, actor, obligation: Obligation, items: list, on_date: dt.date | None = None,
                     cycle: ComplianceCycle | None = None, account=None, reference: str = "") -> list[SurrenderStep]:
    """``surrender``'s rules and movements on an obligation its caller has locked (after
    ``check_surrender_request``): ``surrender`` for one obligation, ``compliance.surrender_bulk`` for many,
    which passes the cycle and the entity's holding account it has read (and locked) for the whole batch
    and the reference that makes its requests idempotent."""
    cycle = cycle or ComplianceCycle.objects.get(pk=obligation.cycle_id)
    obligation.cycle = cycle
    if cycle.status != ComplianceCycle.Status.OPEN or obligation.closed_at is not None:
        raise Conflict(_("Cycle %(cycle)s is closed: no more surrender.") % {"cycle": cycle.code},
                       "cycle_closed", "obligation")
    checked = [_check_item(obligation, item, i) for i, item in enumerate(items)]
    remaining = obligation.remaining_tco2
    total = sum(i["quantity"] for i in checked)
    if total > remaining:
        raise DomainError(_("%(q)s t is more than the %(r)s t still owed for %(y)s.")
                          % {"q": f"{total:,}", "r": f"{remaining:,}", "y": obligation.year}, "more_than_owed", "items")
    ccer = sum(i["quantity"] for i in checked if i["kind"] == SurrenderStep.Kind.CCER)
    cap = offset_cap_tco2(obligation)
    if ccer and obligation.offsets_tco2 + ccer > cap:
        raise DomainError(_("CCERs may cover at most %(pct)s%% of the obligation (%(cap)s t); %(used)s t already "
                            "used.") % {"pct": cycle.offset_cap_pct.normalize(), "cap": f"{cap:,}",
                                        "used": f"{obligation.offsets_tco2:,}"}, "offset_cap_exceeded", "items")
    account = account or registry.account_for_entity(entity=obligation.entity, create=False)
    if account is None:
        raise DomainError(_("The entity has no registry holding account."), "no_account", "obligation")
    on_date = on_date or _today()
    late = on_date > cycle.deadline
    reference = reference or f"compliance:{obligation.pk}"
    steps = []
    for item in checked:
        steps.append(_step(actor, obligation, account, item, on_date, late, reference))
    obligation.refresh_from_db()  # the coverage now read from the ledger includes these steps
    audit_record(actor=actor, action="compliance.surrender", obj=obligation,
                 after={"steps": [{"kind": s.kind, "instrument": s.instrument_code, "quantity": s.quantity,
                                   "registry_transaction": s.registry_transaction_id} for s in steps],
                        "remaining": obligation.remaining_tco2, "late": late})
    return steps


def surrender_for_year(*, actor, entity, compliance_year, instrument_code: str, quantity, kind: str,
                       on_date: dt.date | None = None) -> SurrenderStep:
    """One surrender step named by entity, compliance year and instrument: the registry's surrender path
    (``kind="cea"``) and the voluntary market's offset path (``kind="ccer"``) come in here, so they obey
    ``surrender``'s rules exactly. Refused when the entity has no obligation for that year, or when the
    instrument is not of the kind the path moves (a CCER is never surrendered as an allowance, and a
    CEA is never cancelled as an offset)."""
    try:
        year = int(compliance_year)
    except (TypeError, ValueError):
        raise DomainError(_("Name the compliance year (a year)."), "invalid_year", "compliance_year")
    instrument = registry_selectors.instrument_get(str(instrument_code or ""))
    if instrument.kind != kind:
        if kind == SurrenderStep.Kind.CEA:
            raise DomainError(_("%(code)s is a CCER: a surrender takes CEAs only; CCERs offset an obligation "
                                "by cancellation (at most the cycle's cap).") % {"code": instrument.code},
                              "ccer_not_allowed", "instrument")
        raise DomainError(_("%(code)s is not a CCER: only CCERs are cancelled as offsets.")
                          % {"code": instrument.code}, "not_ccer", "instrument")
    obligation = Obligation.objects.filter(entity=entity, year=year).first()
    if obligation is None:
        raise DomainError(_("%(entity)s has no obligation for %(year)s: nothing can be surrendered or offset "
                            "against it.") % {"entity": entity.name, "year": year}, "no_obligation",
                          "compliance_year")
    item = {"kind": kind, "quantity": quantity}
    item.update({"vintage": instrument.vintage} if kind == SurrenderStep.Kind.CEA else {"instrument": instrument.code})
    try:
        (step,) = surrender(actor=actor, obligation=obligation, items=[item], on_date=on_date)
    except DomainError as exc:  # name the door's own fields, not the items of the compliance request
        if exc.field in ("items[0].vintage", "items[0].instrument"):
            exc.field = "instrument"
        elif exc.field in ("items", "items[0].quantity"):
            exc.field = "quantity"
        raise
    return step


def _step(actor, obligation: Obligation, account, item: dict, on_date: dt.date, late: bool,
          reference: str) -> SurrenderStep:
    if item["kind"] == SurrenderStep.Kind.CEA:
        instrument = registry.instrument_get_or_create_cea(vintage=item["vintage"])
        tx = registry.surrender_execute(actor=actor, account=account, instrument=instrument,
                                        quantity=item["quantity"], compliance_year=obligation.year,
                                        reference=reference)
        return SurrenderStep.objects.create(obligation=obligation, kind=item["kind"], instrument_code=instrument.code,
                                            quantity=item["quantity"], registry_transaction_id=tx.pk,
                                            on_date=on_date, late=late, created_by=actor)
    from voluntary import services as voluntary

    use = voluntary.offset_cancel(actor=actor, entity=obligation.entity, instrument_code=item["instrument"],
                                  quantity=item["quantity"], compliance_year=obligation.year)
    tx_id = _registry_tx_id(use.registry_ref)
    return SurrenderStep.objects.create(obligation=obligation, kind=item["kind"], instrument_code=item["instrument"],
                                        quantity=item["quantity"], registry_transaction_id=tx_id,
                                        credit_use_code=use.code, on_date=on_date, late=late, created_by=actor)


def _registry_tx_id(reference) -> int:
    """The registry transaction id behind a voluntary cancellation (its ``registry_ref``, e.g. "TX123")."""
    text = str(reference or "").strip().removeprefix("TX")
    if not text.isdigit():
        raise DomainError(_("The CCER cancellation has no registry transaction."), "no_registry_transaction",
                          "instrument")
    return int(text)


# ---- flexible mechanisms: individual relief (four-eyes) -------------------------------------------------

@transaction.atomic
def relief_propose(*, actor, obligation: Obligation, quantity, reason: str) -> ReliefDecision:
    """A regulator proposes individual relief for a public-welfare task (e.g. winter heat supply) [C]."""
    if actor is None:
        raise Forbidden(_("A relief proposal needs a person."))
    _require_regulator(actor, obligation.entity)
    quantity = whole_tonnes(quantity)
    if not (reason or "").strip():
        raise DomainError(_("State the public-welfare task that justifies the relief."), "required", "reason")
    (obligation,) = lock_rows(Obligation.objects.filter(pk=obligation.pk))
    if obligation.closed_at is not None:
        raise Conflict(_("The obligation is closed."), "cycle_closed", "obligation")
    if quantity > obligation.remaining_tco2:
        raise DomainError(_("Relief of %(q)s t exceeds the %(r)s t still owed.") % {
            "q": f"{quantity:,}", "r": f"{obligation.remaining_tco2:,}"}, "relief_too_large", "quantity")
    if ReliefDecision.objects.filter(obligation=obligation).exclude(status=ReliefDecision.Status.REJECTED).exists():
        raise Conflict(_("This obligation already has a relief decision."), "relief_exists", "obligation")
    decision = ReliefDecision.objects.create(obligation=obligation, quantity_tco2=quantity,
                                             reason=reason.strip()[:500], proposed_by=actor)
    audit_record(actor=actor, action="compliance.relief_propose", obj=decision,
                 after={"obligation": obligation.pk, "quantity": quantity, "reason": decision.reason})
    return decision


@transaction.atomic
def relief_decide(*, actor, decision: ReliefDecision, approve: bool) -> ReliefDecision:
    """A second regulator approves (the obligation falls by the relief) or rejects the proposal."""
    if actor is None or actor.pk == decision.proposed_by_id:
        raise Forbidden(_("Another regulator than the proposer must decide (four-eyes)."), "own_proposal")
    _require_regulator(actor, decision.obligation.entity)
    (decision,) = lock_rows(ReliefDecision.objects.filter(pk=decision.pk))
    if decision.status != ReliefDecision.Status.PROPOSED:
        raise Conflict(_("This relief was already decided."), "already_decided", "decision")
    (obligation,) = lock_rows(Obligation.objects.filter(pk=decision.obligation_id))
    decision.decided_by, decision.decided_at = actor, timezone.now()
    if approve:
        if obligation.closed_at is not None or decision.quantity_tco2 > obligation.remaining_tco2:
            raise Conflict(_("The obligation changed since the proposal: relief no longer fits."), "relief_too_large",
                           "quantity")
        obligation.relief_tco2 += decision.quantity_tco2
        obligation.quantity_tco2 -= decision.quantity_tco2
        Obligation.objects.filter(pk=obligation.pk).update(relief_tco2=obligation.relief_tco2,
                                                           quantity_tco2=obligation.quantity_tco2)
        FlexibleMechanism.objects.update_or_create(obligation=obligation, kind=FlexibleMechanism.Kind.INDIVIDUAL_RELIEF,
                                                   defaults={"quantity_tco2": obligation.relief_tco2,
                                                             "reference": f"relief:{decision.pk}"})
        decision.status = ReliefDecision.Status.APPROVED
    else:
        decision.status = ReliefDecision.Status.REJECTED
    decision.save(update_fields=["status", "decided_by", "decided_at"])
    audit_record(actor=actor, action="compliance.relief_decide", obj=decision,
                 before={"status": ReliefDecision.Status.PROPOSED},
                 after={"status": decision.status, "obligation": obligation.quantity_tco2})
    return decision


# ---- risk monitoring ---------------------------------------------------------------------------------

def risk_level(gap: int, expected: int) -> str:
    """Grade a gap by its share of the expected obligation: >0 watch, 5% warning, 20% severe, 50% critical."""
    L = RiskSnapshot.Level
    if gap <= 0:
        return L.OK
    share = Decimal(gap) / Decimal(max(expected, 1))
    if share >= Decimal("0.5"):
        return L.CRITICAL
    if share >= Decimal("0.2"):
        return L.SEVERE
    if share >= Decimal("0.05"):
        return L.WARNING
    return L.WATCH


def expected_obligation(entity_id: int, year: int, on_date: dt.date) -> tuple[int, str]:
    """Verified emissions when confirmed, else monthly MRV data to date extrapolated to the year."""
    verified = mrv_selectors.verified_emissions(entity_id, year)
    if verified is not None:
        return mrv_selectors.whole_tonnes_half_up(Decimal(verified)), "verified"
    monthly = Decimal(mrv_selectors.monthly_emissions_to_date(entity_id, year))
    if on_date.year == year:
        months = max(on_date.month - 1, 1)
        monthly = monthly * 12 / months
    return mrv_selectors.whole_tonnes_half_up(monthly), "monthly"


def _eligible_holdings(account, instruments: list) -> int:
    if account is None:
        return 0
    return sum(registry_selectors.balance(account, instrument).available for instrument in instruments)


def risk_scan(*, cycle: ComplianceCycle, on_date: dt.date | None = None, entity_ids=None) -> dict:
    """Estimate each entity's gap for the cycle and send graded warnings at the configured horizons.

    gap = expected obligation (all cycle years) - already covered - holdings that count (CEAs of the
    vintages the cycle's years list, ``registry.vintages``: for 2025 CEA25 only, never 2019-2024 units
    unless carried over) - allocation still to come (a true-up not yet issued). One snapshot per entity
    and day (a rerun the same day replaces it); a warning per horizon crossed, once. Runs in chunks of
    one transaction each.
    """
    on_date = on_date or _today()
    if cycle.status != ComplianceCycle.Status.OPEN:
        return {"scanned": 0, "at_risk": 0, "warnings": 0}
    days_left = (cycle.deadline - on_date).days
    horizons = sorted(int(h) for h in cycle.warning_horizons or [])
    horizon = next((h for h in horizons if days_left <= h), None)
    entities = KeyEntity.objects.filter(status=KeyEntity.Status.ACTIVE, inclusion_year__lte=cycle.last_year)
    if entity_ids is not None:
        entities = entities.filter(pk__in=list(entity_ids))
    ids = list(entities.order_by("pk").values_list("pk", flat=True))
    instruments = list({i.code: i for i in (registry.instrument_get_or_create_cea(vintage=v) for v in
                                            set(cycle.vintages.values_list("vintage", flat=True)))}.values())
    previous = dict(RiskSnapshot.objects.filter(cycle=cycle, on_date__lt=on_date, entity_id__in=ids)
                    .order_by("entity_id", "on_date").values_list("entity_id", "gap_tco2"))
    at_risk = warnings = 0
    for start in range(0, len(ids), 500):
        with transaction.atomic():
            new = []
            for entity_id in ids[start:start + 500]:
                snap = _risk_snapshot(cycle, entity_id, on_date, days_left, instruments, previous.get(entity_id))
                if snap.level == RiskSnapshot.Level.OK:
                    continue
                at_risk += 1
                if horizon is not None:
                    message = _("%(days)s days to the %(cycle)s deadline: short by %(gap)s t (%(level)s).") % {
                        "days": days_left, "cycle": cycle.code, "gap": snap.gap_tco2,
                        "level": snap.get_level_display()}
                    _warning, created = RiskWarning.objects.get_or_create(
                        cycle=cycle, entity_id=entity_id, horizon_days=horizon,
                        defaults={"level": snap.level, "gap_tco2": snap.gap_tco2, "message": message})
                    new += [_warning] if created else []
            warnings += len(new)
            notify.risk_warnings_notify(new)
            audit_record(actor=None, action="compliance.risk_scan_chunk", obj=cycle,
                         after={"on_date": on_date.isoformat(), "entities": len(ids[start:start + 500])})
    return {"scanned": len(ids), "at_risk": at_risk, "warnings": warnings, "days_left": days_left,
            "horizon": horizon}


def _risk_snapshot(cycle, entity_id, on_date, days_left, instruments, previous_gap) -> RiskSnapshot:
    expected = covered = pending = 0
    basis = "verified"
    obligations = {o.year: o for o in Obligation.objects.filter(cycle=cycle, entity_id=entity_id)}
    for year in cycle.years:
        obligation = obligations.get(year)
        if obligation is not None:
            expected += obligation.quantity_tco2
            covered += obligation.covered_tco2
        else:
            tonnes, kind = expected_obligation(entity_id, year, on_date)
            expected += tonnes
            basis = kind if kind == "monthly" else basis
        alloc = allowances_selectors.allocation_for(entity_id, year)
        if alloc["true_up_tco2"] is not None and not alloc["final"]:
            pending += max(int(alloc["true_up_tco2"]) - int(alloc["pre_allocated_tco2"]), 0)
    account = registry.account_for_entity(entity=KeyEntity(pk=entity_id), create=False)
    holdings = _eligible_holdings(account, instruments)
    gap, level = _gap_and_level(expected, covered, holdings, pending, days_left, max(cycle.warning_horizons or [0]))
    snap, _created = RiskSnapshot.objects.update_or_create(
        cycle=cycle, entity_id=entity_id, on_date=on_date,
        defaults={"expected_tco2": expected, "basis": basis, "holdings_tco2": holdings,
                  "pending_allocation_tco2": pending, "covered_tco2": covered, "gap_tco2": gap,
                  "gap_change_tco2": None if previous_gap is None else gap - previous_gap,
                  "days_left": days_left, "level": level})
    return snap


def _gap_and_level(expected, covered, holdings, pending, days_left, horizon) -> tuple[int, str]:
    """The gap and its grade. Before the deadline holdings and allocation still to come may close the
    gap; within the widest warning horizon (90 days) an entity that has not yet surrendered all it owes
    is listed at least as "watch" even when it holds enough. After the deadline only surrendered units
    count: any tonne still owed is a breach (critical)."""
    remaining = expected - covered
    if days_left < 0:
        return remaining, (RiskSnapshot.Level.CRITICAL if remaining > 0 else RiskSnapshot.Level.OK)
    gap = remaining - holdings - pending
    level = risk_level(gap, expected)
    if level == RiskSnapshot.Level.OK and remaining > 0 and days_left <= horizon:
        level = RiskSnapshot.Level.WATCH
    return gap, level


# ---- closing ---------------------------------------------------------------------------------------------

def outcome_status(obligation: Obligation) -> str:
    """Status at closing: in full by the deadline, in full only later, partly, or not at all."""
    S = Obligation.Status
    if obligation.covered_tco2 >= obligation.quantity_tco2:
        return S.COMPLIANT if obligation.on_time_tco2 >= obligation.quantity_tco2 else S.COMPLIANT_LATE
    return S.PARTIAL if obligation.covered_tco2 > 0 else S.NON_COMPLIANT


def cycle_close(*, actor, cycle: ComplianceCycle) -> Job:
    """Close a cycle as a Job: outcome, shortfall and certificate per obligation, rates at the end.

    Compare-and-set open -> closing: of two concurrent closes exactly one changes the row, the other
    is refused (409) and changes nothing. Calling it again while the cycle is closing and its job's
    worker stopped responding (or the job failed before failures reopened cycles) re-queues the same
    job, which skips the obligations already closed; a close that failed for good left the cycle open
    (``cycle_close_abandon``), so calling it again starts a new job. A national regulator closes (a
    person answers for it; the job reads the ledger as that regulator sees it).
    """
    if actor is None:
        raise Forbidden(_("A national regulator closes a cycle."))
    _require_regulator(actor, national_only=True)
    with transaction.atomic():
        changed = ComplianceCycle.objects.filter(pk=cycle.pk, status=ComplianceCycle.Status.OPEN).update(
            status=ComplianceCycle.Status.CLOSING)
        if changed:
            total = Obligation.objects.filter(cycle=cycle).count()
            job = job_create(kind=CLOSE_JOB, user=actor,
                             params={"cycle": cycle.pk}, total=total)
            ComplianceCycle.objects.filter(pk=cycle.pk).update(closing_job=job)
            registry.compliance_years_close(actor=actor, years=cycle.years)  # no surrender reversed under us
            audit_record(actor=actor, action="compliance.cycle_close", obj=cycle,
                         before={"status": ComplianceCycle.Status.OPEN},
                         after={"status": ComplianceCycle.Status.CLOSING, "job": job.pk})
            cycle.status, cycle.closing_job = ComplianceCycle.Status.CLOSING, job
            return job
    cycle.refresh_from_db()
    job = cycle.closing_job
    if (cycle.status == ComplianceCycle.Status.CLOSING and job is not None
            and (job.status == Job.Status.FAILED or job.is_stale)):
        with transaction.atomic():
            # One resume at a time (compare-and-set): a second caller finds the job pending and is refused below.
            if job_requeue(job, actor=actor):
                audit_record(actor=actor, action="compliance.cycle_close_resume", obj=cycle, after={"job": job.pk})
                return job
    if cycle.status == ComplianceCycle.Status.CLOSED:
        raise Conflict(_("Cycle %(cycle)s is already closed.") % {"cycle": cycle.code}, "cycle_closed", "cycle")
    raise Conflict(_("Cycle %(cycle)s is being closed by another job.") % {"cycle": cycle.code}, "cycle_closing",
                   "cycle")


def cycle_close_abandon(job: Job, error: str) -> None:
    """A close that failed for good leaves the cycle open again, as if it had not started.

    Runs in the transaction that fails the job. Compare-and-set closing -> open on the cycle this job
    was closing; the obligations its chunks closed return to open and their certificates are withdrawn
    (codes in the audit entry), because until the cycle closes an entity may still surrender and an
    outcome decided by a failed close would be a second truth. The error stays on the job, which the
    cycle keeps as its ``closing_job`` for the admin to show.
    """
    locked = lock_rows(ComplianceCycle.objects.filter(pk=job.params.get("cycle"), status=ComplianceCycle.Status.CLOSING,
                                                      closing_job=job))
    if not locked:
        return
    cycle = locked[0]
    closed = Obligation.objects.filter(cycle=cycle, closed_at__isnull=False)
    certificates = Certificate.objects.filter(obligation__in=closed)
    withdrawn = list(certificates.values_list("code", flat=True))
    certificates.delete()
    reopened = closed.update(status=Obligation.Status.OPEN, shortfall_tco2=0, closed_at=None)
    ComplianceCycle.objects.filter(pk=cycle.pk).update(status=ComplianceCycle.Status.OPEN)
    registry.compliance_years_reopen(actor=None, years=cycle.years)  # entities may surrender for them again
    audit_record(actor=None, action="compliance.cycle_close_failed", obj=cycle,
                 before={"status": ComplianceCycle.Status.CLOSING, "job": job.pk},
                 after={"status": ComplianceCycle.Status.OPEN, "error": error, "obligations_reopened": reopened,
                        "certificates_withdrawn": withdrawn})


def _require_closing(cycle: ComplianceCycle, *, or_closed: bool = False) -> None:
    """Lock the cycle row and refuse to go on unless it is being closed (or, at the end, closed)."""
    allowed = [ComplianceCycle.Status.CLOSING] + ([ComplianceCycle.Status.CLOSED] if or_closed else [])
    if not lock_rows(ComplianceCycle.objects.filter(pk=cycle.pk, status__in=allowed)):
        raise Conflict(_("Cycle %(cycle)s is no longer being closed; this closing run stops.") % {"cycle": cycle.code},
                       "cycle_not_closing", "cycle")


def close_chunk(cycle: ComplianceCycle, ids: list[int], actor) -> int:
    """Close one chunk of obligations in one transaction; those already closed are skipped (idempotent).

    Correct in chunks because each obligation is decided from its own row and the ledger alone, and
    the cycle is CLOSING (no surrender can change a row between chunks); a run that outlived its job
    (the close failed and the cycle reopened) is stopped by the cycle row, locked and checked first.
    The coverage is the ledger's (read with the locked rows), so the outcome cannot disagree with the registry.
    """
    with transaction.atomic():
        _require_closing(cycle)
        rows = [o for o in lock_rows(Obligation.objects.filter(pk__in=ids, closed_at__isnull=True)
                                     .select_related("entity", "cycle"))]
        now = timezone.now()
        certificates = []
        for o in rows:
            o.status = outcome_status(o)
            o.shortfall_tco2 = max(o.quantity_tco2 - o.covered_tco2, 0)
            o.closed_at = now
            if o.status in (Obligation.Status.COMPLIANT, Obligation.Status.COMPLIANT_LATE):
                certificates.append(_certificate(o))
        Obligation.objects.bulk_update(rows, ["status", "shortfall_tco2", "closed_at"])
        Certificate.objects.bulk_create(certificates, ignore_conflicts=True)
        if rows:
            audit_record(actor=actor, action="compliance.close_chunk", obj=cycle,
                         after={"obligations": len(rows), "first": rows[0].pk, "last": rows[-1].pk})
    return len(rows)


def close_run(job: Job) -> dict:
    """The closing job's handler: chunks of obligations, then the cycle marked closed with its rates."""
    from . import selectors

    cycle = ComplianceCycle.objects.get(pk=job.params["cycle"])
    ids = list(Obligation.objects.filter(cycle=cycle).order_by("pk").values_list("pk", flat=True))
    done = Obligation.objects.filter(cycle=cycle, closed_at__isnull=False).count()
    job_progress(job, done=done, total=len(ids), message=_("Closing %(n)s obligations") % {"n": len(ids)})
    for start in range(0, len(ids), CLOSE_CHUNK):
        closed = close_chunk(cycle, ids[start:start + CLOSE_CHUNK], job.created_by)
        if closed:
            job_progress(job, advance=closed)
    with transaction.atomic():
        closed = ComplianceCycle.objects.filter(pk=cycle.pk, status=ComplianceCycle.Status.CLOSING).update(
            status=ComplianceCycle.Status.CLOSED, closed_at=timezone.now())
        if not closed:  # an earlier run of this job closed it just before losing the job: same result
            _require_closing(cycle, or_closed=True)
        rates = {str(y): str(r) for y, r in selectors.compliance_rates(cycle).items()}
        counts = selectors.status_counts(cycle)
        if closed:
            audit_record(actor=None, action="compliance.cycle_closed", obj=cycle,
                         after={"rates": rates, "counts": counts})
    return {"cycle": cycle.code, "obligations": len(ids), "rates": rates, "counts": counts,
            "missing_obligations": _missing_obligations(cycle)}


def _missing_obligations(cycle: ComplianceCycle) -> dict[str, list[int]]:
    """Active entities of the cycle's years with no obligation (verification never confirmed): listed in
    the closing's result so the regulator sees who escaped the closing, instead of a silent gap."""
    active = set(KeyEntity.objects.filter(status=KeyEntity.Status.ACTIVE, inclusion_year__lte=cycle.last_year)
                 .values_list("pk", flat=True))
    missing = {}
    for year in cycle.years:
        have = set(Obligation.objects.filter(cycle=cycle, year=year).values_list("entity_id", flat=True))
        missing[str(year)] = sorted(active - have)[:200]
    return missing


# ---- certificates ----------------------------------------------------------------------------------------

def certificate_content(obligation: Obligation) -> dict:
    e = obligation.entity
    return {"cycle": obligation.cycle.code, "year": obligation.year, "entity": e.name, "credit_code": e.credit_code,
            "obligation_tco2": obligation.quantity_tco2, "cea_tco2": obligation.surrendered_tco2,
            "ccer_tco2": obligation.offsets_tco2, "status": obligation.status,
            "completed_on": obligation.completed_on.isoformat() if obligation.completed_on else None}


def certificate_code(content: dict) -> str:
    """HMAC-SHA256 of the canonical content with the SECRET_KEY: 32 hex characters, upper case."""
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    digest = hmac.new(settings.SECRET_KEY.encode(), canonical.encode(), hashlib.sha256).hexdigest()
    return digest[:32].upper()


def _certificate(obligation: Obligation) -> Certificate:
    content = certificate_content(obligation)
    return Certificate(obligation=obligation, content=content, code=certificate_code(content))


@transaction.atomic
def certificate_issue(*, obligation: Obligation) -> Certificate:
    """The completion certificate of a closed, fulfilled obligation (issued once; later calls return it)."""
    existing = Certificate.objects.filter(obligation=obligation).first()
    if existing:
        return existing
    if obligation.closed_at is None or obligation.status not in (Obligation.Status.COMPLIANT,
                                                                 Obligation.Status.COMPLIANT_LATE):
        raise Conflict(_("A certificate is issued only for a fulfilled obligation of a closed cycle."),
                       "not_fulfilled", "obligation")
    cert = _certificate(obligation)
    cert.save()
    audit_record(actor=None, action="compliance.certificate_issue", obj=cert, after={"code": cert.code})
    return cert


# ---- penalties (Art. 24) ---------------------------------------------------------------------------------

@transaction.atomic
def penalty_propose(*, actor, obligation: Obligation, multiplier, average_price=None) -> Penalty:
    """Propose the Art. 24 fine for a closed obligation's shortfall with the regulator's multiplier.

    The price is the average market price of the month before the deadline (trading data); a
    regulator may give it explicitly only when the market published none that month.
    """
    if actor is None:
        raise Forbidden(_("A penalty proposal needs a person."))
    _require_regulator(actor, obligation.entity)
    cycle = obligation.cycle
    if obligation.closed_at is None or obligation.shortfall_tco2 <= 0:
        raise Conflict(_("Only a closed obligation with a shortfall is penalised."), "no_shortfall", "obligation")
    multiplier = penalty_multiplier(cycle, multiplier)
    month = price_month(cycle.deadline)
    price = market_average_price(month)
    if price is None:
        if average_price is None:
            raise DomainError(_("No CEA traded in %(m)s: give the month's average price by hand.")
                              % {"m": month.strftime("%Y-%m")},
                              "no_market_price", "average_price")
        try:
            price = yuan(average_price)
        except Exception:
            raise DomainError(_("The average price is an amount in yuan."), "invalid_price", "average_price")
        if price <= 0:
            raise DomainError(_("The average price must be positive."), "invalid_price", "average_price")
    if Penalty.objects.filter(obligation=obligation).exists():
        raise Conflict(_("This obligation already has a penalty."), "penalty_exists", "obligation")
    penalty = Penalty.objects.create(
        obligation=obligation, shortfall_tco2=obligation.shortfall_tco2, price_month=month, average_price=price,
        multiplier=multiplier, proposed_by=actor,
        amount=penalty_amount(average_price=price, shortfall=obligation.shortfall_tco2, multiplier=multiplier))
    audit_record(actor=actor, action="compliance.penalty_propose", obj=penalty,
                 after={"shortfall": penalty.shortfall_tco2, "price": penalty.average_price,
                        "multiplier": penalty.multiplier, "amount": penalty.amount})
    return penalty


def decide_proposed_penalty(*, actor, penalty, action: str, record: tuple[str, ...] = ()):
    """Four-eyes decision of a proposed penalty (a fine, a falsification cut): a regulator of the entity other
    than the proposer decides it, once (compare-and-set on the status); ``record`` names fields to audit."""
    if actor is None or actor.pk == penalty.proposed_by_id:
        raise Forbidden(_("Another regulator than the proposer must decide (four-eyes)."), "own_proposal")
    _require_regulator(actor, penalty.obligation.entity)
    model = type(penalty)
    changed = model.objects.filter(pk=penalty.pk, status=model.Status.PROPOSED).update(
        status=model.Status.DECIDED, decided_by=actor, decided_at=timezone.now())
    if not changed:
        raise Conflict(_("This penalty was already decided."), "already_decided", "penalty")
    penalty.refresh_from_db()
    audit_record(actor=actor, action=action, obj=penalty, before={"status": model.Status.PROPOSED},
                 after={"status": penalty.status, **{name: getattr(penalty, name) for name in record}})
    return penalty


@transaction.atomic
def penalty_decide(*, actor, penalty: Penalty) -> Penalty:
    """A second regulator confirms the fine (four-eyes)."""
    return decide_proposed_penalty(actor=actor, penalty=penalty, action="compliance.penalty_decide",
                                   record=("amount",))


@transaction.atomic
def penalty_deduction_propose(*, actor, penalty: Penalty):
    """Deduct the uncorrected shortfall from the entity's next allocation (Art. 24), as decided.

    The next vintage is usually not issued yet when the penalty is decided, so the cut is recorded in
    allowances (``allowances.deductions``) and the next allocation run (pre-allocation or true-up)
    hands the entity that much less, once. The penalty itself was decided four-eyes. From 2026-08-15
    (date of this decision) no new deduction is decided for failure to surrender; the fine stays.
    """
    from allowances import deductions

    if actor is None:
        raise Forbidden(_("A deduction proposal needs a person."))
    _require_regulator(actor, penalty.obligation.entity)
    check_cut_allowed(NON_SURRENDER, _today())
    (penalty,) = lock_rows(Penalty.objects.filter(pk=penalty.pk))
    if penalty.status != Penalty.Status.DECIDED:
        raise Conflict(_("Decide the penalty first."), "not_decided", "penalty")
    obligation = penalty.obligation
    deduction = deductions.deduction_record(
        actor=actor, entity=obligation.entity, quantity=penalty.shortfall_tco2, reference=f"penalty-{penalty.pk}",
        reason=_("Art. 24: %(q)s t not surrendered for %(y)s, deducted from the next allocation")
        % {"q": penalty.shortfall_tco2, "y": obligation.year})
    audit_record(actor=actor, action="compliance.penalty_deduction_propose", obj=penalty,
                 after={"allocation_deduction": deduction.pk, "quantity": penalty.shortfall_tco2})
    return deduction
