"""Reads of the public information portal at /: today's market, the disclosures and the search.

Each block is one or two aggregate queries over the apps' public figures: a constant number of queries
whatever the size of the market, and the whole context cached a minute. Everything here is already public
elsewhere (the market page, the registry totals, the CCER registers, the cycle reports); the portal gathers
it. Money stays Decimal; the chart payload carries prices as strings so no float rounding reaches the page.
"""

from collections import defaultdict
from decimal import Decimal

from django.core.cache import cache
from django.db.models import Count, F, IntegerField, OuterRef, Q, Subquery, Sum, Value
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from allowances.models import AllocationRun, EntityAllocation
from cets.common.names import localized, reading_english
from entities.models import KeyEntity, SectorListing
from registry.selectors import vintage_totals
from trading.models import DailyBar, Product
from trading.selectors import bars
from voluntary.models import CreditUse, Issuance, Project
from voluntary.selectors import project_search, projects_public

from .models import ComplianceCycle, Obligation, Penalty
from .policies import policies

HUNDRED = Decimal(100)


def _band(close: Decimal, pct: Decimal) -> tuple[Decimal, Decimal]:
    """The listed price band around a closing price, to the fen (the exchange's ±10% rule, DOMAIN.md §7)."""
    step = close * pct / HUNDRED
    return (close - step).quantize(Decimal("0.01")), (close + step).quantize(Decimal("0.01"))


def market_today() -> dict:
    """Every active product's latest trading day, and the headline product (latest day, then largest volume).

    One query for the latest bars (a correlated subquery, portable to SQLite), one for the chart's history.
    A product without any trading day yet shows its previous close and no change.
    """
    latest = DailyBar.objects.filter(product=OuterRef("product")).order_by("-date").values("date")[:1]
    by_product = {bar.product_id: bar for bar in DailyBar.objects.filter(
        product__is_active=True, date=Subquery(latest)).select_related("product")}
    rows = []
    for product in Product.objects.filter(is_active=True).order_by("code"):
        bar = by_product.get(product.pk)
        close = bar.close if bar else product.previous_close
        change = close - bar.previous_close if bar else Decimal("0.00")
        rows.append({"product": product, "bar": bar, "close": close, "change": change,
                     "change_pct": (change * HUNDRED / bar.previous_close).quantize(Decimal("0.01"))
                     if bar and bar.previous_close else Decimal("0.00"),
                     "band": _band(close, product.listed_band_pct)})
    traded = [r for r in rows if r["bar"]]
    headline = max(traded, key=lambda r: (r["bar"].date, r["bar"].volume)) if traded else None
    return {"rows": rows, "headline": headline,
            "chart": price_volume_chart(headline["product"]) if headline else None}


def price_volume_chart(product: Product, limit: int = 250) -> dict:
    """The ECharts payload of a product's closes with their price band and the volume by trading method.

    The band of a day is the listed band around that day's previous close (the limits its orders met).
    """
    history = bars(product, limit=limit)
    pct = product.listed_band_pct
    bands = [_band(bar.previous_close, pct) for bar in history]
    return {
        "product": product.code,
        "dates": [bar.date.isoformat() for bar in history],
        "close": [str(bar.close) for bar in history],
        "band_low": [str(low) for low, _high in bands],
        "band_high": [str(high) for _low, high in bands],
        "volume_listed": [bar.listed_volume for bar in history],
        "volume_bulk": [bar.bulk_volume for bar in history],
        "volume_auction": [bar.auction_volume for bar in history],
        "labels": {"close": _("Closing price (yuan/t)"), "band_low": _("Band floor"), "band_high": _("Band ceiling"),
                   "volume_listed": _("Listed agreement (t)"), "volume_bulk": _("Bulk agreement (t)"),
                   "volume_auction": _("Auction (t)"), "price_axis": _("yuan/t"), "volume_axis": _("t")},
    }


SECTOR_FIELDS = ("sector__code", "sector__name", "sector__name_en", "sector__sort_order")


def _listing_counts() -> tuple[list[dict], bool]:
    """Entities per (data year, sector, province) from the published lists; with no list yet, the register of
    active entities by sector and province (year None: "current register"). True when it is the register."""
    rows = list(SectorListing.objects.exclude(status=SectorListing.Status.REMOVED)
                .values("year", *SECTOR_FIELDS, province_name=F("entity__province__name"),
                        province_en=F("entity__province__name_en"))
                .annotate(n=Count("entity", distinct=True)))
    if rows:
        return rows, False
    return list(KeyEntity.objects.filter(status=KeyEntity.Status.ACTIVE)
                .values(*SECTOR_FIELDS, province_name=F("province__name"), province_en=F("province__name_en"))
                .annotate(n=Count("id"), year=Value(None, output_field=IntegerField()))), True


def key_entities_listed() -> dict:
    """The lists of key emitting entities: counts by data year and sector, and by province for the latest year."""
    rows, register = _listing_counts()
    english = reading_english()
    by_year_sector, sectors, provinces = defaultdict(int), {}, defaultdict(int)
    latest = max((r["year"] for r in rows if r["year"] is not None), default=None)
    for r in rows:
        sectors[r["sector__code"]] = (r["sector__sort_order"],
                                      (english and r["sector__name_en"]) or r["sector__name"])
        by_year_sector[(r["year"], r["sector__code"])] += r["n"]
        if r["year"] == latest:
            provinces[(english and r["province_en"]) or r["province_name"]] += r["n"]
    order = sorted(sectors, key=lambda code: sectors[code])
    years = sorted({year for year, _code in by_year_sector}, key=lambda y: y or 0, reverse=True)
    return {"sectors": [sectors[code][1] for code in order], "latest": latest, "register": register,
            "years": [{"year": y, "counts": [by_year_sector.get((y, c), 0) for c in order],
                       "total": sum(by_year_sector.get((y, c), 0) for c in order)} for y in years],
            "provinces": sorted(provinces.items(), key=lambda item: (-item[1], item[0]))}


def allocation_results() -> list[dict]:
    """Allowances allocated by year and kind of run (pre-allocation, true-up), completed runs only."""
    return list(EntityAllocation.objects.filter(run__status=AllocationRun.Status.COMPLETED)
                .values("run__year", "run__kind")
                .annotate(entities=Count("entity", distinct=True), allocated=Sum("allocation_tco2"))
                .order_by("-run__year", "run__kind"))


def compliance_results() -> dict:
    """Closed obligations by year and outcome, and the decided fines; the cycles for their reports."""
    outcome = Obligation.objects.exclude(status=Obligation.Status.OPEN).values("year").annotate(
        entities=Count("id"), obligation=Sum("quantity_tco2"),
        compliant=Count("id", filter=Q(status=Obligation.Status.COMPLIANT)),
        late=Count("id", filter=Q(status=Obligation.Status.COMPLIANT_LATE)),
        failed=Count("id", filter=Q(status__in=[Obligation.Status.PARTIAL, Obligation.Status.NON_COMPLIANT])),
    ).order_by("-year")
    fines = Penalty.objects.filter(status=Penalty.Status.DECIDED).aggregate(count=Count("id"), total=Sum("amount"))
    return {"years": list(outcome), "fines": fines, "cycles": list(ComplianceCycle.objects.order_by("-first_year"))}


def ccer_figures() -> dict:
    """The CCER registers in three numbers each: projects, issuances, cancellations by kind."""
    projects = Project.objects.aggregate(
        registered=Count("id", filter=Q(state=Project.State.REGISTERED)),
        in_disclosure=Count("id", filter=Q(state=Project.State.DISCLOSURE)))
    issued = Issuance.objects.aggregate(count=Count("id"), total=Sum("quantity"))
    used = CreditUse.objects.aggregate(
        offset=Sum("quantity", filter=Q(kind=CreditUse.Kind.OFFSET)),
        retirement=Sum("quantity", filter=Q(kind=CreditUse.Kind.RETIREMENT)), count=Count("id"))
    return {"projects": projects, "issued": issued, "used": used}


def registry_figures() -> dict:
    """The registry's per-instrument totals and their sums (issued, allocated, surrendered, cancelled)."""
    rows = vintage_totals()
    keys = ("issued", "allocated", "surrendered", "cancelled", "retired")
    return {"rows": rows, "sums": {k: sum(r[k] for r in rows) for k in keys}}


PORTAL_CACHE_SECONDS = 60


def portal_context() -> dict:
    """Everything the front page shows, cached a minute per language: the figures move at a session's close or a
    regulator's decision, and a public page a minute behind is what exchanges' information pages publish
    (delayed quotes), while the front page stays well under 100 ms under load."""
    return cache.get_or_set(f"portal:home:{get_language()}", _portal_context, PORTAL_CACHE_SECONDS)


def _portal_context() -> dict:
    return {"market": market_today(), "listed": key_entities_listed(), "allocations": allocation_results(),
            "compliance": compliance_results(), "ccer": ccer_figures(), "registry": registry_figures(),
            "policies": policies(get_language() or "")}


def search(q: str, limit: int = 20) -> dict:
    """The portal's search: policies by title, public CCER projects, listed entities and products by code."""
    q = q.strip()[:100]
    if not q:
        return {"q": q, "policies": [], "projects": [], "entities": [], "products": []}
    entities = (KeyEntity.objects.filter(Q(name__icontains=q) | Q(name_en__icontains=q) | Q(credit_code=q),
                                         listings__isnull=False)
                .select_related("province", "sector").distinct().order_by("name")[:limit])
    return {"q": q, "policies": policies(get_language() or "", q=q),
            "projects": list(project_search(projects_public(), q=q).order_by("-id")[:limit]),
            "entities": [{"entity": e, "name": localized(e), "province": localized(e.province),
                          "sector": localized(e.sector)} for e in entities],
            "products": list(Product.objects.filter(Q(code__icontains=q) | Q(name__icontains=q))[:limit])}
