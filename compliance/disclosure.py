"""Public disclosure of a compliance cycle, as Decree 775 (arts. 10, 14 and 26) asks: each key emitting
entity's annual emissions, allocation and compliance outcome, by province and sector, and the penalties
decided against entities.

Choice: an entity's figures are published once its obligation exists, i.e. after its verified emissions
were confirmed by the province (the obligations are calculated from them); a penalty only once decided by
the second regulator (a proposal is internal). Proposed or withdrawn penalties are never shown.
"""

from django.db.models import QuerySet

from .models import ComplianceCycle, FalsificationPenalty, Obligation, Penalty
from .standing import with_standing


def entity_figures(cycle: ComplianceCycle, *, province: str | None = None,
                   sector: str | None = None) -> QuerySet[Obligation]:
    """The cycle's obligations with their entity, province and sector, annotated with today's standing."""
    qs = Obligation.objects.filter(cycle=cycle)
    if province:
        qs = qs.filter(entity__province_id=province)
    if sector:
        qs = qs.filter(entity__sector_id=sector)
    return (with_standing(qs, cycle).select_related("entity", "entity__province", "entity__sector")
            .order_by("entity__province_id", "entity__sector__sort_order", "entity__name", "year"))


def decided_penalties(cycle: ComplianceCycle) -> list[dict]:
    """Decided penalties of the cycle's obligations, newest first: the Art. 24 fines for unsurrendered
    allowances and the Art. 22 penalties for falsified data."""
    fines = Penalty.objects.filter(obligation__cycle=cycle, status=Penalty.Status.DECIDED).select_related(
        "obligation__entity__province")
    falsified = FalsificationPenalty.objects.filter(
        obligation__cycle=cycle, status=FalsificationPenalty.Status.DECIDED).select_related(
        "obligation__entity__province")
    rows = [{"entity": p.obligation.entity, "year": p.obligation.year, "article": "24", "amount": p.amount,
             "detail": p.shortfall_tco2, "decided_at": p.decided_at} for p in fines]
    rows += [{"entity": p.obligation.entity, "year": p.obligation.year, "article": "22", "amount": p.fine,
              "detail": p.cut_pct, "decided_at": p.decided_at} for p in falsified]
    return sorted(rows, key=lambda r: r["decided_at"], reverse=True)
