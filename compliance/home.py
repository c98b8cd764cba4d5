"""Each role's home page as a work queue: what the signed-in person has to do, by when, and where they stand.

Compliance sits at the bottom of the import tree, so it alone may read every app for these pages; every
read goes through the owning app's selectors and is scoped to the user (an entity sees its own data, a
regulator its jurisdiction, an agency its assignments). Each home costs a fixed number of queries.
"""

import datetime as dt
from collections import defaultdict

from django.db.models import Count, Min

from mrv import selectors as mrv_selectors
from mrv.models import EarlyWarning, InformationRequest, MonthlySubmission, Tier, Verification
from mrv.tiers import ROLE_TIER
from registry import selectors as registry_selectors
from registry import services as registry
from registry import vintages

from . import selectors
from .models import ComplianceCycle, Obligation, ReliefDecision
from .services import expected_obligation, risk_level

ROWS = 8  # rows shown per queue; the count says how many there are and the link opens the whole list
TIER_REVIEW_STATUS = {Tier.MUNICIPAL: MonthlySubmission.Status.MUNICIPAL_REVIEW,
                      Tier.PROVINCIAL: MonthlySubmission.Status.PROVINCIAL_REVIEW,
                      Tier.NATIONAL: MonthlySubmission.Status.NATIONAL_REVIEW}
VERIFICATIONS_TO_DECIDE = [Verification.Status.SUBMITTED, Verification.Status.REVIEW_REQUESTED,
                           Verification.Status.DETERMINATION_OPEN]


def _open_cycles() -> list[ComplianceCycle]:
    return list(ComplianceCycle.objects.filter(status=ComplianceCycle.Status.OPEN).order_by("deadline"))


def _queue(qs, due_field: str | None, order: list[str]) -> dict:
    """A queue's count, its earliest due date and its first rows (two queries)."""
    figures = qs.order_by().aggregate(count=Count("pk"), **({"next_due": Min(due_field)} if due_field else {}))
    return {"count": figures["count"], "next_due": figures.get("next_due"), "rows": list(qs.order_by(*order)[:ROWS])}


# ---- key emitting entity ------------------------------------------------------------------------------

def compliance_position(entity, today: dt.date) -> list[dict]:
    """For each year of each open cycle: the obligation (or, until it is set, the one expected from the
    monthly data), what is surrendered, the CEAs held that count for that year (the registry's vintage
    rules) and the gap, with the days left to the cycle's deadline. A year whose deadline has passed is
    listed only while something is still owed."""
    cycles = _open_cycles()
    years = [year for cycle in cycles for year in cycle.years]
    if not years:
        return []
    obligations = {o.year: o for o in Obligation.objects.filter(entity=entity, year__in=years)}
    selectors.attach_coverage(obligations.values())
    account = registry.account_for_entity(entity=entity, create=False)
    held = (registry_selectors.available_cea(account, first_vintage=2019, last_vintage=max(years))
            if account else {})
    eligible = vintages.eligible_by_year(years)
    rows = []
    for cycle in cycles:
        for year in cycle.years:
            obligation = obligations.get(year)
            if obligation is not None:
                expected, basis, covered = obligation.quantity_tco2, "obligation", obligation.covered_tco2
            else:
                (expected, basis), covered = expected_obligation(entity.pk, year, today), 0
            counting = {v: n for v, n in held.items() if n > 0 and vintages.vintage_eligible(eligible[year], v)}
            holdings = sum(counting.values())
            remaining = max(expected - covered, 0)
            gap = remaining - holdings
            if cycle.deadline < today and not remaining:
                continue  # a year whose deadline passed with nothing owed is no longer work
            rows.append({"cycle": cycle, "year": year, "obligation": obligation, "expected": expected,
                         "basis": basis, "covered": covered, "remaining": remaining, "holdings": holdings,
                         "vintages": [vintages.cea_code(v) for v in sorted(counting)], "gap": gap,
                         "level": risk_level(gap, expected), "deadline": cycle.deadline,
                         "days_left": (cycle.deadline - today).days,
                         "covered_pct": selectors.percent(min(covered, expected), expected)})
    return rows


def entity_home(user, today: dt.date) -> dict:
    """The entity's compliance position, its due and late months, open warnings and requests, recent moves."""
    entity = user.entity
    warnings = mrv_selectors.warnings_visible_to(user).filter(status__in=EarlyWarning.OPEN)
    requests = (InformationRequest.objects.filter(submission__in=mrv_selectors.submissions_visible_to(user)
                                                  .values("pk"), status=InformationRequest.Status.OPEN)
                .select_related("submission", "submission__unit"))
    return {
        "position": compliance_position(entity, today),
        "months": mrv_selectors.months_due(entity.pk, today),
        "warnings": _queue(warnings, "due_date", ["due_date", "-created_at"]),
        "requests": _queue(requests, None, ["asked_on", "pk"]),
        "risk_warnings": list(selectors.warnings_visible_to(user).filter(cycle__status=ComplianceCycle.Status.OPEN)
                              .order_by("-created_at")[:3]),
        "transactions": list(registry_selectors.transactions_visible_to(user).order_by("-created_at", "-pk")[:ROWS]),
    }


# ---- regulators -----------------------------------------------------------------------------------------

def data_year(today: dt.date) -> int:
    """The year whose monthly data are being reported: last month's year."""
    return today.year - 1 if today.month == 1 else today.year


def regulator_home(user, today: dt.date) -> dict:
    """The tier's queues (reviews, warnings, verifications to decide, approvals waiting for a second
    regulator) with counts and the next due date, on-time rates and the risk list, all of its jurisdiction."""
    tier = ROLE_TIER[user.role]
    reviews = mrv_selectors.submissions_visible_to(user).filter(is_current=True, status=TIER_REVIEW_STATUS[tier])
    warnings = mrv_selectors.warnings_visible_to(user).filter(status__in=EarlyWarning.OPEN, tier=tier)
    verifications = (mrv_selectors.verifications_visible_to(user).filter(status__in=VERIFICATIONS_TO_DECIDE)
                     if tier == Tier.PROVINCIAL else Verification.objects.none())
    overview = mrv_selectors.regulator_overview(user, data_year(today))
    cycles = _open_cycles()
    return {
        "tier": tier,
        "reviews": _queue(reviews, "review_due", ["review_due", "submitted_at"]),
        "warnings": _queue(warnings, "due_date", ["due_date", "-created_at"]),
        "verifications": _queue(verifications, "review_decision_due", ["year", "entity__name"]),
        "approvals": second_approvals(user),
        "year": data_year(today),
        "on_time_rate": overview["on_time_rate"],
        "provinces": overview["provinces"],
        "risk": [risk for risk in (_risk(user, cycle) for cycle in cycles)
                 if risk["count"] or risk["cycle"].deadline >= today],
    }


def _risk(user, cycle: ComplianceCycle) -> dict:
    count, rows = selectors.risk_top(user, cycle, 10)
    return {"cycle": cycle, "count": count, "rows": rows}


def second_approvals(user) -> dict:
    """Four-eyes proposals another regulator made that ``user`` may decide: registry transactions,
    individual relief, conservative determinations."""
    transactions = registry_selectors.approval_queue(user)
    reliefs = (selectors.reliefs_visible_to(user).filter(status=ReliefDecision.Status.PROPOSED)
               .exclude(proposed_by=user))
    determinations = (mrv_selectors.verifications_visible_to(user)
                      .filter(status=Verification.Status.DETERMINATION_PENDING).exclude(determined_by=user))
    queues = {"transactions": _queue(transactions, None, ["created_at"]),
              "reliefs": _queue(reliefs.select_related("obligation__entity"), None, ["created_at"]),
              "determinations": _queue(determinations, None, ["year", "entity__name"])}
    queues["count"] = sum(q["count"] for q in queues.values())
    return queues


# ---- verification agencies ------------------------------------------------------------------------------

def verifier_home(user) -> dict:
    """The agency's assignments grouped by status (each status's count and its first rows)."""
    qs = mrv_selectors.verifications_visible_to(user)
    counts = dict(qs.order_by().values_list("status").annotate(n=Count("pk", distinct=True)))
    rows = defaultdict(list)
    for verification in qs.order_by("-year", "entity__name")[:200]:
        if len(rows[verification.status]) < ROWS:
            rows[verification.status].append(verification)
    labels = dict(Verification.Status.choices)
    groups = [{"status": status, "label": labels[status], "count": counts[status], "rows": rows[status]}
              for status in labels if counts.get(status)]
    return {"groups": groups, "total": sum(counts.values()),
            "findings_answered": mrv_selectors.findings_visible_to(user).filter(status="answered").count()}


def home_for(user, today: dt.date) -> dict:
    """The home page's figures for the user's role (an empty dict for roles whose home has no queue here)."""
    if user.acting_entity_id:
        return {"entity_home": entity_home(user, today)}
    if user.is_regulator:
        return {"regulator_home": regulator_home(user, today)}
    if user.role == user.Role.VERIFIER:
        return {"verifier_home": verifier_home(user)}
    return {}

