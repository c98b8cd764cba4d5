"""Where an obligation stands today: its status and shortfall follow the calendar, not the closing job.

Before the cycle's final deadline an obligation is open (or compliant once covered in full); from the
day after the deadline, one short of its quantity is non-compliant (nothing covered) or partially
compliant, and one completed afterwards is compliant late. Closing only freezes this standing in the
row (``status``, ``shortfall_tco2``); reads never wait for it. The cycle's milestone (a share of a
province's entities complete by an earlier date) is a target for provinces, not a per-entity
deadline, so it grades no obligation (``selectors.milestone_progress`` reports it).

What an obligation has covered is read only through :func:`coverage_expressions` (querysets) and
``Obligation.covered_tco2`` / ``on_time_tco2`` (rows), so one place decides how coverage is derived.
"""

import datetime as dt

from django.db.models import (
    BigIntegerField,
    Case,
    CharField,
    F,
    IntegerField,
    OuterRef,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest, Least
from django.utils import timezone

from registry import selectors as registry_selectors

from .models import Obligation, SurrenderStep

S = Obligation.Status
FAILED = [S.COMPLIANT_LATE, S.PARTIAL, S.NON_COMPLIANT]


def today() -> dt.date:
    return timezone.localdate()


def deadline_passed(cycle, on_date: dt.date | None = None) -> bool:
    """Whether ``on_date`` (today) is after the cycle's final deadline (the deadline day itself counts as on time)."""
    return (on_date or today()) > cycle.deadline


def _summed(qs: QuerySet, field: str):
    """A correlated ``SUM(field)`` of ``qs`` as an expression (0 when nothing matches)."""
    total = qs.order_by().annotate(one=Value(1)).values("one").annotate(n=Sum(field)).values("n")[:1]
    return Coalesce(Subquery(total, output_field=BigIntegerField()), Value(0))


def coverage_expressions() -> dict:
    """Database expressions of the tonnes an obligation has covered in all, and by the deadline.

    The same figures as ``Obligation.coverage`` (``selectors.obligation_coverage``), read from the
    registry in the query itself: the entity's surrenders and offset cancellations for the year that
    still count (not reversed), and of their surrender steps those made by the deadline.
    """
    live = registry_selectors.live_compliance_transaction_ids()
    covered = _summed(registry_selectors.compliance_transactions().filter(
        pk__in=live, from_account__entity_id=OuterRef("entity_id"), compliance_year=OuterRef("year")), "quantity")
    on_time = _summed(SurrenderStep.objects.filter(
        obligation_id=OuterRef("pk"), late=False,
        registry_transaction_id__in=live), "quantity")
    return {"covered": covered, "on_time": Least(on_time, covered)}


def standing_of(obligation: Obligation, on_date: dt.date | None = None) -> str:
    """One obligation's status today (a closed obligation keeps the status it was closed with)."""
    if obligation.closed_at is not None:
        return obligation.status
    quantity, covered = obligation.quantity_tco2, obligation.covered_tco2
    if covered >= quantity and obligation.on_time_tco2 >= quantity:
        return S.COMPLIANT
    if not deadline_passed(obligation.cycle, on_date):
        return S.OPEN
    if covered >= quantity:
        return S.COMPLIANT_LATE
    return S.PARTIAL if covered > 0 else S.NON_COMPLIANT


def shortfall_of(obligation: Obligation, on_date: dt.date | None = None) -> int:
    """Tonnes still missing after the deadline (0 before it: what remains is then not yet a shortfall)."""
    if obligation.closed_at is not None:
        return obligation.shortfall_tco2
    if not deadline_passed(obligation.cycle, on_date):
        return 0
    return max(obligation.remaining_tco2, 0)


def with_standing(qs: QuerySet[Obligation], cycle, on_date: dt.date | None = None) -> QuerySet[Obligation]:
    """Annotate ``standing`` (a status value) and ``shortfall_now`` (tonnes) on a cycle's obligations."""
    cov = coverage_expressions()
    passed = deadline_passed(cycle, on_date)
    qs = qs.annotate(covered_now=cov["covered"], on_time_now=cov["on_time"])
    after = [When(covered_now__gte=F("quantity_tco2"), then=Value(S.COMPLIANT_LATE)),
             When(covered_now__gt=0, then=Value(S.PARTIAL))] if passed else []
    standing = Case(
        When(closed_at__isnull=False, then=F("status")),
        When(covered_now__gte=F("quantity_tco2"), on_time_now__gte=F("quantity_tco2"), then=Value(S.COMPLIANT)),
        *after,
        default=Value(S.NON_COMPLIANT if passed else S.OPEN), output_field=CharField())
    shortfall = Case(
        When(closed_at__isnull=False, then=F("shortfall_tco2")),
        default=(Greatest(F("quantity_tco2") - F("covered_now"), Value(0)) if passed else Value(0)),
        output_field=IntegerField())
    return qs.annotate(standing=standing, shortfall_now=shortfall)
