"""Writes to the entity register: each validated in full, audited, and refused when not allowed."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.forms.models import model_to_dict
from django.utils.translation import gettext as _

from cets.common.audit import audit_record
from cets.common.errors import Conflict, DomainError, Forbidden

from .models import AgencyAssignment, ConsultingEngagement, KeyEntity, Organisation, Unit, User
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


@transaction.atomic
def agency_assign(*, actor: User, entity: KeyEntity, agency: Organisation, year: int) -> AgencyAssignment:
    """The province assigns a verification agency to an entity for a reporting year."""
    if not (actor.role == User.Role.PROVINCIAL_REGULATOR and actor.province_id == entity.province_id):
        raise Forbidden(_("Only the entity's provincial regulator assigns its verification agency."))
    if agency.kind != Organisation.Kind.VERIFICATION_AGENCY:
        raise DomainError(_("The organisation is not a verification agency."), "not_an_agency", "agency")
    if not agency.is_active:
        raise DomainError(_("The agency is not active."), "agency_inactive", "agency")
    if AgencyAssignment.objects.filter(entity=entity, year=year).exists():
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
