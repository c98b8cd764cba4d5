"""Writes to the entity register: each validated in full, audited, and refused when not allowed."""

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.forms.models import model_to_dict
from django.utils import timezone
from django.utils.translation import gettext as _

from cets.common.audit import audit_record
from cets.common.errors import Conflict, DomainError, Forbidden
from cets.common.locks import lock_rows

from .models import (
    Accreditation,
    AgencyAssignment,
    ConsultingEngagement,
    KeyEntity,
    Organisation,
    Sector,
    SectorListing,
    Unit,
    User,
)
from .selectors import can_manage_entity


def _validated(obj, exclude=None):
    """Run model validation and turn the first problem into a DomainError naming the field."""
    try:
        obj.full_clean(exclude=exclude)
    except ValidationError as exc:
        field, errors = next(iter(exc.message_dict.items()))
        raise DomainError(errors[0], "invalid", None if field == "__all__" else field) from exc
    return obj


def _snapshot(obj) -> dict:
    return {k: v for k, v in model_to_dict(obj).items() if not hasattr(v, "read")}


@transaction.atomic
def entity_create(*, actor: User, **fields) -> KeyEntity:
    entity = _validated(KeyEntity(**fields))
    if not can_manage_entity(actor, entity):
        raise Forbidden(_("Only the national regulator or this province's regulator may register entities."))
    entity.save()
    audit_record(actor=actor, action="entity.create", obj=entity, after=_snapshot(entity))
    return entity


@transaction.atomic
def entity_update(*, actor: User, entity: KeyEntity, **fields) -> KeyEntity:
    if not can_manage_entity(actor, entity):
        raise Forbidden(_("Only the national regulator or this province's regulator may change this entity."))
    before = _snapshot(entity)
    for name, value in fields.items():
        setattr(entity, name, value)
    _validated(entity)
    if not can_manage_entity(actor, entity):  # moving it to another province is the nation's call
        raise Forbidden(_("Only the national regulator may move an entity to another province."), field="province")
    entity.save()
    audit_record(actor=actor, action="entity.update", obj=entity, before=before, after=_snapshot(entity))
    return entity


@transaction.atomic
def unit_create(*, actor: User, entity: KeyEntity, **fields) -> Unit:
    if not can_manage_entity(actor, entity):
        raise Forbidden(_("Only the national regulator or this province's regulator may register units."))
    if fields.get("code") and Unit.objects.filter(code=fields["code"]).exists():
        raise Conflict(_("A unit with this code is already registered."), "duplicate_unit_code", "code")
    unit = _validated(Unit(entity=entity, **fields))
    unit.save()
    audit_record(actor=actor, action="unit.create", obj=unit, after=_snapshot(unit))
    return unit


@transaction.atomic
def unit_update(*, actor: User, unit: Unit, **fields) -> Unit:
    if not can_manage_entity(actor, unit.entity):
        raise Forbidden(_("Only the national regulator or this province's regulator may change units."))
    if "code" in fields and Unit.objects.filter(code=fields["code"]).exclude(pk=unit.pk).exists():
        raise Conflict(_("A unit with this code is already registered."), "duplicate_unit_code", "code")
    before = _snapshot(unit)
    for name, value in fields.items():
        setattr(unit, name, value)
    _validated(unit)
    unit.save()
    audit_record(actor=actor, action="unit.update", obj=unit, before=before, after=_snapshot(unit))
    return unit


def agency_check_active(agency: Organisation, today: dt.date) -> None:
    """Refuse an organisation that is not an active verification agency, or is banned (Decree 775 art. 23)."""
    if agency.kind != Organisation.Kind.VERIFICATION_AGENCY:
        raise DomainError(_("The organisation is not a verification agency."), "not_an_agency", "agency")
    if not agency.is_active:
        raise DomainError(_("The agency is not active."), "agency_inactive", "agency")
    if agency.banned_until and agency.banned_until >= today:
        raise DomainError(_("The agency is banned until %(d)s.") % {"d": agency.banned_until}, "agency_banned",
                          "agency")


def agency_check_qualified(*, agency: Organisation, entity: KeyEntity, today: dt.date) -> None:
    """Refuse an agency that is inactive or banned, or whose accreditations valid today do not cover every
    sector of the entity (its main sector and its facilities') in the entity's province."""
    agency_check_active(agency, today)
    sectors = {entity.sector_id, *entity.units.values_list("sector_id", flat=True)}
    covered = set(Accreditation.objects.filter(
        Q(province_id=entity.province_id) | Q(province__isnull=True), organisation=agency, sector_id__in=sectors,
        valid_from__lte=today, valid_to__gte=today).values_list("sector_id", flat=True))
    if sectors - covered:
        raise DomainError(_("The agency holds no valid accreditation for %(sectors)s in the entity's province.")
                          % {"sectors": ", ".join(sorted(sectors - covered))}, "not_accredited", "agency")


@transaction.atomic
def agency_assign(*, actor: User, entity: KeyEntity, agency: Organisation, year: int) -> AgencyAssignment:
    """The province assigns a verification agency to an entity for a reporting year."""
    if not (actor.role == User.Role.PROVINCIAL_REGULATOR and actor.province_id == entity.province_id):
        raise Forbidden(_("Only the entity's provincial regulator assigns its verification agency."))
    agency_check_qualified(agency=agency, entity=entity, today=timezone.localdate())
    if AgencyAssignment.objects.filter(entity=entity, year=year, status=AgencyAssignment.Status.ACTIVE).exists():
        raise Conflict(_("This entity already has a verification agency for that year."), "already_assigned", "year")
    consulted = (ConsultingEngagement.objects.filter(organisation=agency, year=year,
                                                     entity__province_id=entity.province_id)
                 .select_related("entity").first())
    if consulted is not None:
        raise DomainError(_("%(agency)s helped %(entity)s prepare its %(year)d report: the same body may not "
                            "verify in the province where it consulted that year.")
                          % {"agency": agency.name, "entity": consulted.entity.name, "year": year},
                          "consulted_in_province", "agency")
    assignment = AgencyAssignment.objects.create(entity=entity, agency=agency, year=year, assigned_by=actor)
    audit_record(actor=actor, action="agency.assign", obj=assignment,
                 after={"entity": entity.pk, "agency": agency.pk, "year": year})
    return assignment


@transaction.atomic
def consulting_register(*, actor: User, entity: KeyEntity, organisation: Organisation,
                        year: int) -> ConsultingEngagement:
    """Record that an organisation helped the entity prepare its report for a year (by the entity itself or
    a regulator who manages it); ``agency_assign`` then refuses that body anywhere in the province that year."""
    if actor.acting_entity_id != entity.pk and not can_manage_entity(actor, entity):
        raise Forbidden(_("Only the entity or its regulator may record who helped prepare its report."))
    if not isinstance(year, int) or not 2013 <= year <= 2100:
        raise DomainError(_("A reporting year from 2013."), "out_of_range", "year")
    if ConsultingEngagement.objects.filter(entity=entity, organisation=organisation, year=year).exists():
        raise Conflict(_("This engagement is already recorded."), "duplicate", "organisation")
    engagement = ConsultingEngagement.objects.create(entity=entity, organisation=organisation, year=year,
                                                     registered_by=actor)
    audit_record(actor=actor, action="entity.consulting_register", obj=engagement,
                 after={"entity": entity.pk, "organisation": organisation.pk, "year": year})
    return engagement


def _require_national(actor, what: str) -> None:
    if getattr(actor, "role", None) != User.Role.NATIONAL_REGULATOR:
        raise Forbidden(_("Only the national regulator may %(what)s.") % {"what": what})


@transaction.atomic
def sector_listing_save(*, actor: User, year: int, sector: Sector, rows: list[dict]) -> list[SectorListing]:
    """Write a sector's list for a data year as built by ``mrv.listing`` (the national regulator publishes lists).

    ``rows``: one {entity_id, status, emissions_tco2, reason} per entity judged. An existing row of the same
    year, sector and entity is replaced (a rebuild after a verification changed); entities not in ``rows``
    keep their row. One audit entry names every change.
    """
    _require_national(actor, _("build sector lists"))
    if isinstance(year, bool) or not isinstance(year, int) or not sector.first_year <= year <= 2100:
        raise DomainError(_("A data year from the sector's first year, %(y)s.") % {"y": sector.first_year},
                          "out_of_range", "year")
    existing = {row.entity_id: row for row in lock_rows(SectorListing.objects.filter(
        year=year, sector=sector, entity_id__in=[r["entity_id"] for r in rows]))}
    changed, created = [], []
    for r in rows:
        if r["status"] not in SectorListing.Status.values:
            raise DomainError(_("Unknown listing status %(s)s.") % {"s": r["status"]}, "invalid_status", "status")
        row = existing.get(r["entity_id"])
        values = {"status": r["status"], "emissions_tco2": r["emissions_tco2"], "reason": r["reason"][:300]}
        if row is None:
            created.append(SectorListing(year=year, sector=sector, entity_id=r["entity_id"], **values))
        elif any(getattr(row, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(row, k, v)
            changed.append(row)
    try:
        with transaction.atomic():
            SectorListing.objects.bulk_create(created)
    except IntegrityError as exc:  # another build of the same list inserted a row meanwhile
        raise Conflict(_("This list is being built by someone else; retry."), "busy", "year") from exc
    SectorListing.objects.bulk_update(changed, ["status", "emissions_tco2", "reason"])
    touched = {x.entity_id for x in (*created, *changed)}
    audit_record(actor=actor, action="sector_listing.build", obj=sector, after={"year": year, "rows": [
        {"entity": r["entity_id"], "status": r["status"], "emissions_tco2": r["emissions_tco2"]}
        for r in rows if r["entity_id"] in touched]})
    return list(SectorListing.objects.filter(year=year, sector=sector).select_related("entity").order_by("entity"))


@transaction.atomic
def sector_listing_update(*, actor: User, listing: SectorListing, status: str, reason: str) -> SectorListing:
    """The national regulator corrects one entity's listing (an appeal, a merger): a reason is required."""
    _require_national(actor, _("edit sector lists"))
    if status not in SectorListing.Status.values:
        raise DomainError(_("Unknown listing status %(s)s.") % {"s": status}, "invalid_status", "status")
    if not (reason or "").strip():
        raise DomainError(_("A change of a list needs a reason."), "required", "reason")
    (listing,) = lock_rows(SectorListing.objects.filter(pk=listing.pk))
    before = {"status": listing.status, "reason": listing.reason}
    listing.status, listing.reason = status, reason.strip()[:300]
    listing.save(update_fields=["status", "reason"])
    audit_record(actor=actor, action="sector_listing.update", obj=listing, before=before,
                 after={"status": listing.status, "reason": listing.reason})
    return listing
