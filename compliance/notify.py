"""Who compliance tells: an entity short of units as a warning horizon before the deadline is crossed."""

from django.urls import reverse
from django.utils.translation import gettext_noop

from cets.common.notifications import Kind, Note, notify
from entities.selectors import notification_recipients

from .models import RiskWarning


def risk_warnings_notify(warnings: list[RiskWarning]) -> int:
    """One deadline notification per new risk warning to the entity's users (recipients in one query)."""
    if not warnings:
        return 0
    users = notification_recipients({w.entity_id for w in warnings})
    return notify([Note(users.get(w.entity_id, []), Kind.DEADLINE,
                        gettext_noop("%(days)s-day warning for %(cycle)s: short by %(gap)s t before %(deadline)s."),
                        {"days": w.horizon_days, "cycle": w.cycle.code, "gap": w.gap_tco2,
                         "deadline": w.cycle.deadline.isoformat()}, reverse("compliance:obligations"))
                   for w in warnings])
