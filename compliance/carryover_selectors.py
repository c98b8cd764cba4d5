"""Reads of the carry-over (结转): every holder's quota, notices and applications scoped to the user, public totals.

Which holders: key emitting entities' compliance (entity holding) accounts, the scheme being for key
emitting entities; institutions and individuals trading on the exchange get no quota.
"""

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet, Sum

from cets.common.errors import NotFound
from entities.selectors import scope_by_entity
from registry import selectors as registry_selectors
from trading import selectors as trading_selectors

from .carryover import quota
from .models import CarryOverApplication, CarryOverBatch, CarryOverNotice, CarryOverScheme

A = CarryOverApplication.Status


@dataclass(frozen=True)
class Quota:
    entity_id: int
    account_id: int
    net_sales_tco2: int
    holdings_tco2: int
    quota_tco2: int


def schemes() -> QuerySet[CarryOverScheme]:
    return CarryOverScheme.objects.order_by("-target_vintage")


def scheme_get(code: str) -> CarryOverScheme:
    scheme = CarryOverScheme.objects.filter(code=code).first()
    if scheme is None:
        raise NotFound("No such carry-over scheme.", field="scheme")
    return scheme


def quotas(scheme: CarryOverScheme) -> list[Quota]:
    """Every key entity holding account's quota, from two grouped queries (holdings at the cut-off, exchange
    net sales in the window); ``bench/bench_carryover.py`` times it for the 3,378 holders of 2025."""
    vintages = {"first_vintage": scheme.first_vintage, "last_vintage": scheme.last_vintage}
    holdings = registry_selectors.holdings_at(at=scheme.cutoff, **vintages)
    sales = trading_selectors.net_sales_by_registry_account(start=scheme.sales_from, end=scheme.sales_to, **vintages)
    return [Quota(entity_id=entity_id, account_id=account_id, net_sales_tco2=sales.get(account_id, 0),
                  holdings_tco2=held, quota_tco2=quota(net_sales=sales.get(account_id, 0), holdings=held,
                                                       base=scheme.base_tco2, multiplier=scheme.multiplier))
            for account_id, (entity_id, held) in sorted(holdings.items())]


def notices_visible_to(user) -> QuerySet[CarryOverNotice]:
    return scope_by_entity(CarryOverNotice.objects.select_related("scheme", "entity"), user)


def applications_visible_to(user) -> QuerySet[CarryOverApplication]:
    return scope_by_entity(CarryOverApplication.objects.select_related("scheme", "batch", "entity"), user)


def application_get(*, user, pk) -> CarryOverApplication:
    application = applications_visible_to(user).filter(pk=pk).first()
    if application is None:
        raise NotFound("No such carry-over application.", field="application")
    return application


def applied_tco2(scheme: CarryOverScheme, entity_id: int) -> int:
    """Tonnes of the entity's live applications (submitted, proposed or approved): what counts against the quota."""
    live = CarryOverApplication.LIVE
    return (CarryOverApplication.objects.filter(scheme=scheme, entity_id=entity_id, status__in=live)
            .aggregate(n=Sum("quantity_tco2"))["n"] or 0)


def unreserved_tco2(scheme: CarryOverScheme, entity_id: int) -> int:
    """Tonnes applied for whose units the registry has not reserved yet (applications still only submitted)."""
    return (CarryOverApplication.objects.filter(scheme=scheme, entity_id=entity_id, status=A.SUBMITTED)
            .aggregate(n=Sum("quantity_tco2"))["n"] or 0)


def batch_totals(scheme: CarryOverScheme) -> list[dict]:
    """Public totals per batch: applications received, approved (count and tonnes) and rejected."""
    rows = (CarryOverBatch.objects.filter(scheme=scheme).order_by("number")
            .annotate(received=Count("applications"),
                      approved=Count("applications", filter=Q(applications__status=A.APPROVED)),
                      approved_tco2=Sum("applications__quantity_tco2", filter=Q(applications__status=A.APPROVED)),
                      rejected=Count("applications", filter=Q(applications__status=A.REJECTED))))
    return [{"number": b.number, "receive_until": b.receive_until, "decide_by": b.decide_by,
             "received": b.received, "approved": b.approved, "approved_tco2": b.approved_tco2 or 0,
             "rejected": b.rejected} for b in rows]
