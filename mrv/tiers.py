"""The regulator tiers: who covers an entity, which tier owns it, and the checks every oversight step makes."""

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext as _

from cets.common.errors import Forbidden
from entities.models import KeyEntity, User

from .models import Tier

TIER_ORDER = [Tier.MUNICIPAL, Tier.PROVINCIAL, Tier.NATIONAL]
ROLE_TIER = {User.Role.MUNICIPAL_REGULATOR: Tier.MUNICIPAL, User.Role.PROVINCIAL_REGULATOR: Tier.PROVINCIAL,
             User.Role.NATIONAL_REGULATOR: Tier.NATIONAL}


def local_today() -> dt.date:
    """Today in Asia/Shanghai (one name, so tests of periodic tasks can pin the date)."""
    return timezone.localdate()


def regulator_covers(user: User, entity: KeyEntity) -> bool:
    """Whether a regulator's jurisdiction includes the entity (nation, its province, or its city)."""
    if user.role == User.Role.NATIONAL_REGULATOR:
        return True
    if user.role == User.Role.PROVINCIAL_REGULATOR:
        return user.province_id == entity.province_id
    if user.role == User.Role.MUNICIPAL_REGULATOR:
        return user.city_id == entity.city_id
    return False


def require_tier(user: User, entity: KeyEntity, tier: str) -> None:
    """Refuse unless the user is a regulator of ``tier`` whose jurisdiction covers the entity."""
    if ROLE_TIER.get(user.role) != tier or not regulator_covers(user, entity):
        raise Forbidden(_("This step belongs to the %(tier)s regulator of the entity.") % {"tier": tier},
                        field="tier")


def route_tiers(entities: dict[int, KeyEntity]) -> dict[int, str]:
    """The tier that owns each entity: its city if it has a municipal regulator, else province, else nation."""
    active = User.objects.filter(is_active=True)
    cities = set(active.filter(role=User.Role.MUNICIPAL_REGULATOR).values_list("city_id", flat=True))
    provinces = set(active.filter(role=User.Role.PROVINCIAL_REGULATOR).values_list("province_id", flat=True))
    return {pk: Tier.MUNICIPAL if e.city_id in cities else Tier.PROVINCIAL if e.province_id in provinces
            else Tier.NATIONAL for pk, e in entities.items()}


def require_province(actor: User, entity: KeyEntity) -> None:
    """Refuse unless the actor is a regulator of the entity's province."""
    if actor.role != User.Role.PROVINCIAL_REGULATOR or actor.province_id != entity.province_id:
        raise Forbidden(_("Only the entity's provincial regulator may do this."))
