"""Who sees what: every read of entity-owned data is scoped through these functions.

National regulators see everything; provincial regulators their province; municipal regulators
their city; entity users (and integrators holding an entity's token) their own entity;
verification agency users the entities assigned to their agency. Anyone else sees nothing.
"""

from django.db.models import Q, QuerySet

from cets.common.errors import NotFound
from cets.common.models import AuditEntry

from .facilities import attributes_text
from .models import AgencyAssignment, KeyEntity, SectorListing, Unit, User


def _entity_filter(user, path: str) -> Q | None:
    """A Q object restricting ``path`` (a lookup to a KeyEntity) to what ``user`` may see.

    Returns None for "everything" and ``Q(pk__in=[])`` for "nothing".
    """
    prefix = f"{path}__" if path else ""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Q(pk__in=[])
    role = user.role
    if role == User.Role.NATIONAL_REGULATOR:
        return None
    if role == User.Role.PROVINCIAL_REGULATOR:
        return Q(**{f"{prefix}province_id": user.province_id})
    if role == User.Role.MUNICIPAL_REGULATOR:
        return Q(**{f"{prefix}city_id": user.city_id})
    if user.acting_entity_id:
        return Q(**{f"{prefix}pk" if prefix else "pk": user.acting_entity_id})
    if role == User.Role.VERIFIER and user.organisation_id:
        return Q(**{f"{prefix}agency_assignments__agency_id": user.organisation_id,
                    f"{prefix}agency_assignments__status": "active"})
    return Q(pk__in=[])


def scope_by_entity(queryset: QuerySet, user, path: str = "entity") -> QuerySet:
    """Restrict any queryset whose rows belong to an entity (reached by ``path``) to ``user``."""
    condition = _entity_filter(user, path)
    if condition is None:
        return queryset
    if condition == Q(pk__in=[]):
        return queryset.none()
    scoped = queryset.filter(condition)
    return scoped.distinct() if user.role == User.Role.VERIFIER else scoped


def entities_visible_to(user) -> QuerySet[KeyEntity]:
    return scope_by_entity(KeyEntity.objects.select_related("province", "city", "sector"), user, path="")


def units_visible_to(user) -> QuerySet[Unit]:
    return scope_by_entity(Unit.objects.select_related("entity"), user, path="entity")


def unit_get(*, user, pk) -> Unit:
    """The facility if ``user`` may see it; otherwise NotFound."""
    unit = units_visible_to(user).filter(pk=pk).first()
    if unit is None:
        raise NotFound("No such unit.", field="unit")
    return unit


def sector_listings_visible_to(user) -> QuerySet[SectorListing]:
    """Rows of the sector lists of the entities ``user`` sees (a province its own, an entity itself)."""
    return scope_by_entity(SectorListing.objects.select_related("entity", "sector"), user).order_by(
        "year", "sector__sort_order", "entity__credit_code")


def assignments_visible_to(user) -> QuerySet[AgencyAssignment]:
    return scope_by_entity(AgencyAssignment.objects.select_related("entity", "agency"), user, path="entity")


def entity_get(*, user, pk) -> KeyEntity:
    """The entity if ``user`` may see it; otherwise NotFound (never reveal that it exists)."""
    entity = entities_visible_to(user).filter(pk=pk).first()
    if entity is None:
        raise NotFound("No such entity.", field="entity")
    return entity


def can_manage_entity(user, entity: KeyEntity) -> bool:
    """Registering and changing entities and units: the national or the entity's provincial regulator."""
    if user.role == User.Role.NATIONAL_REGULATOR:
        return True
    return user.role == User.Role.PROVINCIAL_REGULATOR and user.province_id == entity.province_id


def entity_summary(entity: KeyEntity, plan_year: int | None = None) -> list[dict]:
    """An entity's units with their ETS category and the rule that decided it."""
    rows = []
    for unit in entity.units.select_related("sector").order_by("sector__sort_order", "code"):
        result = unit.category_for(plan_year)
        rows.append({"unit": unit, "category": result.category, "reason": result.reason, "exemption": result.exemption,
                     "attributes": attributes_text(unit.attributes)})
    return rows


def entity_audit_trail(*, user, entity: KeyEntity, limit: int = 50) -> list[AuditEntry]:
    """The latest audited writes to an entity, its units and its agency assignments (regulators only).

    Entity users see their data, not who at the regulator changed what; an empty list for them.
    """
    if not user.is_regulator:
        return []
    units = [str(pk) for pk in entity.units.values_list("pk", flat=True)]
    assignments = [str(pk) for pk in entity.agency_assignments.values_list("pk", flat=True)]
    condition = Q(object_type="entities.keyentity", object_id=str(entity.pk))
    if units:
        condition |= Q(object_type="entities.unit", object_id__in=units)
    if assignments:
        condition |= Q(object_type="entities.agencyassignment", object_id__in=assignments)
    return list(AuditEntry.objects.filter(condition).order_by("-id")[:limit])


# ---- who is told: recipients of notifications -----------------------------------------------------------

def regulators_for(*, province_id=None, city_id=None) -> QuerySet[User]:
    """Active regulators whose jurisdiction includes a place: the nation's, its province's, its city's."""
    condition = Q(role=User.Role.NATIONAL_REGULATOR)
    if province_id:
        condition |= Q(role=User.Role.PROVINCIAL_REGULATOR, province_id=province_id)
    if city_id:
        condition |= Q(role=User.Role.MUNICIPAL_REGULATOR, city_id=city_id)
    return User.objects.filter(condition, is_active=True)


TIER_ROLE = {"municipal": (User.Role.MUNICIPAL_REGULATOR, "city_id"),
             "provincial": (User.Role.PROVINCIAL_REGULATOR, "province_id"),
             "national": (User.Role.NATIONAL_REGULATOR, None)}


def notification_recipients(entity_ids, tier: str = "") -> dict[int, list[User]]:
    """Who is told about each entity's matters: its own users (``tier`` blank), or the active regulators of
    ``tier`` (municipal, provincial, national) whose jurisdiction includes it. Two queries for any number."""
    places = {pk: (province_id, city_id) for pk, province_id, city_id in
              KeyEntity.objects.filter(pk__in=set(entity_ids)).values_list("pk", "province_id", "city_id")}
    users = User.objects.filter(is_active=True).only("pk", "email", "preferred_language", "entity_id",
                                                      "province_id", "city_id")
    if not tier:
        found = {}
        for user in users.filter(role=User.Role.ENTITY, entity_id__in=places):
            found.setdefault(user.entity_id, []).append(user)
        return found
    role, place = TIER_ROLE[tier]
    if place is None:
        everyone = list(users.filter(role=role))
        return {pk: everyone for pk in places}
    index = 0 if place == "province_id" else 1
    by_place = {}
    for user in users.filter(role=role, **{f"{place}__in": {p[index] for p in places.values()}}):
        by_place.setdefault(getattr(user, place), []).append(user)
    return {pk: by_place.get(p[index], []) for pk, p in places.items()}
