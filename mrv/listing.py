"""Lists of key emitting entities per sector and data year, with the sector's inclusion threshold
(sectors-2025.md section 0: annual DIRECT emissions >= 26,000 tCO2e in the sector; lists yearly per sector).

The list of a sector for data year Y judges every entity with a facility of that sector (and every entity
already on that list) by the verified direct emissions of its facilities OF THAT SECTOR only: a steel works
whose captive generating unit is a facility of sector power is judged on the steel list by its steel
facilities and on the power list by its generating unit, so it may be on both (S3 Annex 1).

Choices where the texts are silent:
- The emissions judged are those of the latest year up to Y with a province-confirmed verification of the
  entity's facilities of the sector (the list for a year is drawn up before that year's data are verified;
  the row says which year decided).
- An entity without any confirmed verified figure of the sector is not listed ("removed", with that reason):
  the threshold cannot be shown to be met. The national regulator may list it by hand (an edit with a reason).
- Report-only entities (``Sector.report_only_rules``, ``entities.listing``) are those at or above the
  threshold whose facilities of the sector all match a rule; below the threshold they are removed as any other.
"""

from decimal import Decimal

from django.db.models import Sum
from django.utils.translation import gettext as _

from entities import services as entity_services
from entities.listing import report_only_reason
from entities.models import Sector, SectorListing, Unit

from .models import Verification, VerifiedUnitValue
from .selectors import whole_tonnes_half_up

S = SectorListing.Status


def _verified_by_entity(sector: Sector, year: int) -> dict[int, tuple[int, Decimal]]:
    """{entity id: (year, verified direct emissions of its facilities of ``sector``)}, the latest year <= ``year``."""
    rows = (VerifiedUnitValue.objects.filter(verification__status=Verification.Status.CONFIRMED,
                                             verification__year__lte=year, unit__sector=sector)
            .values("verification__entity_id", "verification__year").annotate(total=Sum("emissions_tco2"))
            .order_by("verification__entity_id", "verification__year"))
    return {r["verification__entity_id"]: (r["verification__year"], r["total"]) for r in rows}


def sector_list_rows(*, sector: Sector, year: int) -> list[dict]:
    """The judgement of every candidate entity: {entity_id, status, emissions_tco2, reason} (nothing saved)."""
    facilities: dict[int, list[dict]] = {}
    for entity_id, attributes in (Unit.objects.filter(sector=sector).exclude(status=Unit.Status.RETIRED)
                                  .values_list("entity_id", "attributes")):
        facilities.setdefault(entity_id, []).append(attributes or {})
    listed = set(SectorListing.objects.filter(year=year, sector=sector).values_list("entity_id", flat=True))
    verified = _verified_by_entity(sector, year)
    threshold = sector.inclusion_threshold_tco2
    rows = []
    for entity_id in sorted(set(facilities) | listed):
        if entity_id not in facilities:
            rows.append({"entity_id": entity_id, "status": S.REMOVED, "emissions_tco2": None,
                         "reason": _("no operating facility of this sector")})
            continue
        if entity_id not in verified:
            rows.append({"entity_id": entity_id, "status": S.REMOVED, "emissions_tco2": None,
                         "reason": _("no confirmed verified emissions of this sector's facilities up to %(y)s")
                         % {"y": year}})
            continue
        data_year, total = verified[entity_id]
        tonnes = whole_tonnes_half_up(total)
        figures = {"t": f"{tonnes:,}", "threshold": f"{threshold:,}", "y": data_year}
        if tonnes < threshold:
            rows.append({"entity_id": entity_id, "status": S.REMOVED, "emissions_tco2": tonnes,
                         "reason": _("%(t)s t verified in %(y)s is below the threshold of %(threshold)s t") % figures})
            continue
        only = report_only_reason(sector.report_only_rules, facilities[entity_id], year)
        rows.append({"entity_id": entity_id, "status": S.REPORT_ONLY if only else S.LISTED, "emissions_tco2": tonnes,
                     "reason": only or _("%(t)s t verified in %(y)s, at or above %(threshold)s t") % figures})
    return rows


def sector_list_build(*, actor, sector: Sector, year: int) -> list[SectorListing]:
    """Build (or rebuild) ``sector``'s list for data ``year`` and save it through the entities service."""
    return entity_services.sector_listing_save(actor=actor, year=year, sector=sector,
                                               rows=sector_list_rows(sector=sector, year=year))
