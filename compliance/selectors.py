"""Reads of the compliance app.

For the national replay and the doors:

- ``compliance_rates(cycle) -> {year: Decimal percent}``: tonnes covered by the final deadline over
  tonnes owed, per year (the report's "compliance rate"), 2 decimals.
- ``status_counts(cycle) -> {year: {status: n}}``.
- ``cycle_report(cycle, province=None) -> dict``: the figures of the progress report's chapter IV,
  per year, nationally and by province (see ``cycle_report``'s docstring for the keys).
- Scoped reads: ``obligations_visible_to(user)``, ``obligation_get(user=, pk=)``,
  ``risk_list(user, cycle)``, ``warnings_visible_to(user)``, ``certificate_verify(code)``.
"""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Max, Q, QuerySet, Sum

from cets.common.errors import NotFound
from entities.selectors import scope_by_entity
from registry import selectors as registry_selectors

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
from .standing import FAILED, with_standing

PCT = Decimal("0.01")
S = Obligation.Status


def percent(part, whole) -> Decimal:
    if not whole:
        return Decimal("0.00")
    return (Decimal(part) * 100 / Decimal(whole)).quantize(PCT, rounding=ROUND_HALF_UP)


# ---- coverage: read from the registry ledger -------------------------------------------------------------

@dataclass(frozen=True)
class Coverage:
    """What an obligation has covered according to the ledger.

    ``cea_tco2`` / ``ccer_tco2``: the registry's completed surrenders and offset cancellations of the
    entity for the year, minus their completed reversals. ``on_time_tco2``: the part made by steps
    dated by the deadline whose registry transaction still counts; ``last_step_on``: the date of the
    latest such step (the obligation's completion date once nothing remains owed: a step never
    surrenders more than remains, so the last counting step is the one that completed it).
    """

    cea_tco2: int = 0
    ccer_tco2: int = 0
    on_time_tco2: int = 0
    last_step_on: dt.date | None = None

    @property
    def covered_tco2(self) -> int:
        return self.cea_tco2 + self.ccer_tco2


def obligation_coverage(obligations) -> dict[int, Coverage]:
    """Coverage of many obligations in two grouped queries (registry ledger, live surrender steps): by pk."""
    obligations = [o for o in obligations if o.pk is not None]
    if not obligations:
        return {}
    ledger = registry_selectors.compliance_coverage(entity_ids={o.entity_id for o in obligations},
                                                    years={o.year for o in obligations})
    steps = {row["obligation_id"]: row for row in SurrenderStep.objects.order_by().filter(
        obligation_id__in=[o.pk for o in obligations],
        registry_transaction_id__in=registry_selectors.live_compliance_transaction_ids())
        .values("obligation_id").annotate(on_time=Sum("quantity", filter=Q(late=False)), last=Max("on_date"))}
    result = {}
    for o in obligations:
        totals = ledger.get((o.entity_id, o.year), {"cea": 0, "ccer": 0})
        step = steps.get(o.pk, {})
        result[o.pk] = Coverage(cea_tco2=totals["cea"], ccer_tco2=totals["ccer"],
                                on_time_tco2=step.get("on_time") or 0, last_step_on=step.get("last"))
    return result


def attach_coverage(obligations) -> None:
    """Read and attach the coverage of these Obligation instances (``Obligation.coverage``)."""
    obligations = list(obligations)
    coverage = obligation_coverage(obligations)
    for o in obligations:
        o._coverage = coverage.get(o.pk, Coverage())


def cycles() -> QuerySet[ComplianceCycle]:
    return ComplianceCycle.objects.all()


def cycles_overview() -> list[ComplianceCycle]:
    """Every cycle with its sectors, milestones and, per year, the CEA codes that settle it (``eligible``:
    [(year, ["CEA25", ...])]), read in four queries for the public page."""
    from registry.models import SurrenderVintage
    from registry.vintages import cea_code

    by_year = defaultdict(list)
    for year, vintage in SurrenderVintage.objects.order_by("year", "vintage").values_list("year", "vintage"):
        by_year[year].append(cea_code(vintage))
    rows = list(cycles().prefetch_related("sectors__sector", "milestones__sector"))
    for cycle in rows:
        cycle.eligible = [(year, by_year.get(year, [])) for year in cycle.years]
    return rows


def cycle_get(code_or_pk) -> ComplianceCycle:
    qs = ComplianceCycle.objects.all()
    cycle = qs.filter(code=str(code_or_pk)).first()
    if cycle is None and str(code_or_pk).isdigit():
        cycle = qs.filter(pk=int(code_or_pk)).first()
    if cycle is None:
        raise NotFound("No such compliance cycle.", field="cycle")
    return cycle


def obligations_visible_to(user) -> QuerySet[Obligation]:
    return scope_by_entity(Obligation.objects.select_related("cycle", "entity", "entity__province"), user)


def obligation_get(*, user, pk) -> Obligation:
    obligation = obligations_visible_to(user).filter(pk=pk).first()
    if obligation is None:
        raise NotFound("No such obligation.", field="obligation")
    return obligation


def steps_of(obligation: Obligation) -> QuerySet[SurrenderStep]:
    return obligation.steps.order_by("id")


def surrender_options(obligation: Obligation) -> list[dict]:
    """The entity's holdings it could surrender for this obligation: each instrument with what is
    available, whether it counts for the obligation's year and, if not, the rule that says so (the
    year's CEA vintages, ``registry.vintages``; CCERs of an eligible project, from 2025 registered
    after the market's launch; the cap applies on surrender)."""
    from cets.common.errors import DomainError
    from registry import selectors as registry_selectors
    from registry import services as registry
    from registry.vintages import check_settles
    from voluntary.selectors import ccer_counts_for

    account = registry.account_for_entity(entity=obligation.entity, create=False)
    if account is None:
        return []
    options = []
    for row in registry_selectors.holdings_by_vintage(account):
        instrument, holding = row["instrument"], row["holding"]
        cea = instrument.kind == instrument.Kind.CEA
        if cea:
            try:
                check_settles(vintage=instrument.vintage, year=obligation.year, field="vintage")
                reason = ""
            except DomainError as exc:
                reason = str(exc.message)
        else:
            counts = ccer_counts_for(instrument.code, obligation.year)
            reason = "" if counts.eligible else counts.reason
        options.append({"instrument": instrument.code, "kind": "cea" if cea else "ccer", "vintage": instrument.vintage,
                        "available": holding.available, "eligible": not reason, "reason": reason})
    return options


def reliefs_visible_to(user) -> QuerySet[ReliefDecision]:
    return scope_by_entity(ReliefDecision.objects.select_related("obligation", "obligation__entity"), user,
                           "obligation__entity")


def penalties_visible_to(user) -> QuerySet[Penalty]:
    return scope_by_entity(Penalty.objects.select_related("obligation", "obligation__entity",
                                                          "obligation__cycle"), user, "obligation__entity")


def warnings_visible_to(user) -> QuerySet[RiskWarning]:
    return scope_by_entity(RiskWarning.objects.select_related("entity", "cycle"), user)


def certificates_visible_to(user) -> QuerySet[Certificate]:
    return scope_by_entity(Certificate.objects.select_related("obligation", "obligation__entity"), user,
                           "obligation__entity")


def _latest_risk(user, cycle: ComplianceCycle, province: str | None = None):
    latest = RiskSnapshot.objects.filter(cycle=cycle).order_by("-on_date").values_list("on_date", flat=True).first()
    if latest is None:
        return RiskSnapshot.objects.none()
    qs = (RiskSnapshot.objects.filter(cycle=cycle, on_date=latest).exclude(level=RiskSnapshot.Level.OK)
          .select_related("entity", "entity__province"))
    if province:
        qs = qs.filter(entity__province_id=province)
    return scope_by_entity(qs, user)


def risk_list(user, cycle: ComplianceCycle, province: str | None = None) -> list[RiskSnapshot]:
    """The latest scan's entities at risk that ``user`` may see, by province then largest gap first."""
    return list(_latest_risk(user, cycle, province).order_by("entity__province_id", "-gap_tco2"))


def risk_top(user, cycle: ComplianceCycle, limit: int) -> tuple[int, list[RiskSnapshot]]:
    """How many entities ``user`` may see are at risk in the latest scan, and the ``limit`` largest gaps."""
    qs = _latest_risk(user, cycle)
    return qs.count(), list(qs.order_by("-gap_tco2", "entity_id")[:limit])


def compliance_rates(cycle: ComplianceCycle) -> dict[int, Decimal]:
    """Per year: tonnes covered by the deadline (capped at what was owed) over tonnes owed, in percent."""
    covered = _covered_by(Obligation.objects.filter(cycle=cycle), lambda o: o.year)
    owed = dict(Obligation.objects.filter(cycle=cycle).order_by().values("year").annotate(n=Sum("quantity_tco2"))
                .values_list("year", "n"))
    return {year: percent(covered[year]["on_time"], owed[year]) if owed.get(year) else Decimal("100.00")
            for year in cycle.years}


def _covered_by(base: QuerySet[Obligation], key) -> dict:
    """CEAs, CCERs and tonnes covered on time (capped at what was owed) summed per ``key(obligation)``,
    from the ledger: one pass over the obligations with their coverage read in two grouped queries."""
    sums: dict = defaultdict(lambda: {"cea": 0, "ccer": 0, "on_time": 0})
    rows = base.select_related("entity").only("pk", "entity_id", "year", "quantity_tco2", "entity__province_id")
    for o in rows:
        row = sums[key(o)]
        row["cea"] += o.surrendered_tco2
        row["ccer"] += o.offsets_tco2
        row["on_time"] += min(o.quantity_tco2, o.on_time_tco2)
    return sums


def status_counts(cycle: ComplianceCycle, on_date=None) -> dict[str, dict[str, int]]:
    """Per year: obligations by their status today (``standing.with_standing``)."""
    counts: dict[str, dict[str, int]] = {str(y): {} for y in cycle.years}
    qs = with_standing(Obligation.objects.filter(cycle=cycle), cycle, on_date)
    for row in qs.values("year", "standing").annotate(n=Count("id")):
        counts[str(row["year"])][row["standing"]] = row["n"]
    return counts


def non_compliant(cycle: ComplianceCycle, user=None, on_date=None) -> QuerySet[Obligation]:
    """Obligations not met in full by the deadline (compliant late, partial, none) as they stand today,
    each annotated with ``standing`` and ``shortfall_now``; empty before the deadline."""
    qs = (with_standing(Obligation.objects.filter(cycle=cycle), cycle, on_date).filter(standing__in=FAILED)
          .select_related("entity", "entity__province"))
    if user is not None:
        qs = scope_by_entity(qs, user)
    return qs.order_by("entity__province_id", "entity__name", "year")


def _year_figures(qs: QuerySet[Obligation], covered: dict) -> dict:
    """One year's figures of ``qs`` (annotated by ``with_standing``; ``covered`` read from the ledger by
    ``_covered_by``): tonnes, and rates in tonnes and entities."""
    agg = qs.aggregate(allocated=Sum("allocation_tco2"), verified=Sum("verified_emissions_tco2"),
                       owed=Sum("quantity_tco2"), shortfall=Sum("shortfall_now"),
                       entities=Count("entity", distinct=True),
                       failed=Count("entity", distinct=True, filter=Q(standing__in=FAILED)),
                       complied=Count("entity", distinct=True, filter=Q(standing=S.COMPLIANT)))
    allocated = agg["allocated"] or 0
    verified = agg["verified"] or 0
    owed = agg["owed"] or 0
    agg["cea"], agg["ccer"], on_time = covered["cea"], covered["ccer"], covered["on_time"]
    return {"allocated_tco2": allocated, "verified_tco2": verified, "surplus_tco2": allocated - verified,
            "surplus_share_pct": percent(allocated - verified, allocated), "obligation_tco2": owed,
            "cea_surrendered_tco2": agg["cea"] or 0, "ccer_used_tco2": agg["ccer"] or 0,
            "shortfall_tco2": agg["shortfall"] or 0, "entities": agg["entities"],
            "entities_failed": agg["failed"], "entities_compliant": agg["complied"],
            "entity_rate_pct": percent(agg["complied"], agg["entities"]) if agg["entities"] else Decimal("100.00"),
            "compliance_rate_pct": percent(on_time, owed) if owed else Decimal("100.00")}


def cycle_report(cycle: ComplianceCycle, province: str | None = None, on_date=None) -> dict:
    """The cycle's figures as in the progress report's chapter IV, computed from the obligations.

    ``{"cycle", "status", "years": {year: {allocated_tco2, verified_tco2, surplus_tco2,
    surplus_share_pct, obligation_tco2, cea_surrendered_tco2, ccer_used_tco2, shortfall_tco2,
    entities, entities_failed, entities_compliant, entity_rate_pct, compliance_rate_pct}},
    "ccer_used_tco2", "entities_helped",
    "mechanisms": {kind: entities}, "entities_failed", "penalties_yuan", "penalties",
    "provinces": [{"code", "name", "years": {...}, "entities_failed", "entities_helped"}]}``
    (nationally, or for one ``province`` code). Surplus = allocated - verified emissions. Statuses and
    shortfalls are as they stand on ``on_date`` (today): after the deadline an entity short of its
    obligation counts as failed with its real shortfall, closed or not. The entity rate is the share
    of entities compliant in full by the deadline; the compliance rate the share of tonnes.
    """
    base = with_standing(Obligation.objects.filter(cycle=cycle), cycle, on_date)
    if province:
        base = base.filter(entity__province_id=province)
    mechanisms = FlexibleMechanism.objects.filter(obligation__in=base)
    penalties = Penalty.objects.filter(obligation__in=base, status=Penalty.Status.DECIDED)
    covered = _covered_by(base, lambda o: o.year)
    report = {
        "cycle": cycle.code, "status": cycle.status, "deadline": cycle.deadline,
        "years": {year: _year_figures(base.filter(year=year), covered[year]) for year in cycle.years},
        "ccer_used_tco2": sum(row["ccer"] for row in covered.values()),
        "entities_helped": mechanisms.values("obligation__entity").distinct().count(),
        "mechanisms": {kind: mechanisms.filter(kind=kind).values("obligation__entity").distinct().count()
                       for kind in FlexibleMechanism.Kind.values},
        "entities_failed": base.filter(standing__in=FAILED).values("entity").distinct().count(),
        "penalties": penalties.count(),
        "penalties_yuan": penalties.aggregate(s=Sum("amount"))["s"] or Decimal("0.00"),
        "provinces": [],
    }
    if province is None:
        report["provinces"] = _by_province(cycle, base, _covered_by(base, lambda o: (o.entity.province_id, o.year)))
    return report


def _by_province(cycle: ComplianceCycle, base: QuerySet[Obligation], covered: dict) -> list[dict]:
    """Per province and year, in one grouped query (no query per province); ``covered`` by (province, year)."""
    rows: dict[str, dict] = {}
    grouped = base.values("entity__province_id", "entity__province__name", "year").annotate(
        allocated=Sum("allocation_tco2"), verified=Sum("verified_emissions_tco2"), owed=Sum("quantity_tco2"),
        shortfall=Sum("shortfall_now"), entities=Count("entity", distinct=True),
        failed=Count("entity", distinct=True, filter=Q(standing__in=FAILED)),
        complied=Count("entity", distinct=True, filter=Q(standing=S.COMPLIANT)))
    for g in grouped.order_by("entity__province_id", "year"):
        code = g["entity__province_id"]
        cov = covered[(code, g["year"])]
        g["cea"], g["ccer"] = cov["cea"], cov["ccer"]
        row = rows.setdefault(code, {"code": code, "name": g["entity__province__name"], "years": {}})
        allocated, verified, owed = g["allocated"] or 0, g["verified"] or 0, g["owed"] or 0
        row["years"][g["year"]] = {
            "allocated_tco2": allocated, "verified_tco2": verified, "surplus_tco2": allocated - verified,
            "surplus_share_pct": percent(allocated - verified, allocated), "obligation_tco2": owed,
            "cea_surrendered_tco2": g["cea"] or 0, "ccer_used_tco2": g["ccer"] or 0,
            "shortfall_tco2": g["shortfall"] or 0, "entities": g["entities"], "entities_failed": g["failed"],
            "entities_compliant": g["complied"], "entity_rate_pct": percent(g["complied"], g["entities"]),
            "compliance_rate_pct": percent(cov["on_time"], owed) if owed else Decimal("100.00")}
    helped = dict(FlexibleMechanism.objects.filter(obligation__in=base).values("obligation__entity__province_id")
                  .annotate(n=Count("obligation__entity", distinct=True))
                  .values_list("obligation__entity__province_id", "n"))
    failed = dict(base.filter(standing__in=FAILED).values("entity__province_id")
                  .annotate(n=Count("entity", distinct=True)).values_list("entity__province_id", "n"))
    for code, row in rows.items():
        row["entities_helped"] = helped.get(code, 0)
        row["entities_failed"] = failed.get(code, 0)
    return list(rows.values())


def milestone_progress(cycle: ComplianceCycle) -> list[dict]:
    """Per province: share of entities whose every obligation of the cycle was covered by the milestone."""
    if cycle.milestone_date is None:
        return []
    per_entity: dict[int, dict] = {}
    for o in Obligation.objects.filter(cycle=cycle).select_related("entity").only(
            "pk", "entity_id", "year", "quantity_tco2", "entity__province_id"):
        quantity, done_on = o.quantity_tco2, o.completed_on
        row = per_entity.setdefault(o.entity_id, {"province": o.entity.province_id, "met": True})
        if quantity > 0 and (done_on is None or done_on > cycle.milestone_date):
            row["met"] = False
    provinces: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row in per_entity.values():
        provinces[row["province"]][0] += 1
        provinces[row["province"]][1] += int(row["met"])
    return [{"province": p, "entities": n, "met": m, "share_pct": percent(m, n),
             "target_met": percent(m, n) >= cycle.milestone_pct} for p, (n, m) in sorted(provinces.items())]


def certificate_verify(code: str) -> dict:
    """Whether a certificate code is genuine: recomputes the HMAC of the stored content.

    ``{"valid": bool, "certificate": Certificate | None, "content": dict | None, "reason": str}``; a row
    whose content was edited after issue no longer matches its code and is reported as tampered. (The
    facts cannot change under it: a closing makes its years' surrenders final in the registry.)
    """
    from .services import certificate_code

    code = (code or "").strip().upper()
    cert = Certificate.objects.select_related("obligation").filter(code=code).first() if len(code) <= 40 else None
    if cert is None:
        return {"valid": False, "certificate": None, "content": None, "reason": "unknown"}
    if certificate_code(cert.content) != cert.code:
        return {"valid": False, "certificate": cert, "content": None, "reason": "tampered"}
    return {"valid": True, "certificate": cert, "content": cert.content, "reason": "genuine"}
