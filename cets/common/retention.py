"""Records kept for their legal period: nothing is deleted before it ends, through any door (admin, API,
services, a queryset's ``delete()``), because a ``pre_delete`` receiver refuses it.

Periods (DOMAIN.md sections 5 and 7): MRV records 5 years (Measures for key emitting entities' data, the
accounting guidelines), CCER records 10 years (CCER administrative measures). Choice: the period runs from the
day the record was recorded (submitted, uploaded, issued), which is never shorter than counting from the end
of its data year; a record never submitted (a draft) has no period yet and may be discarded.
"""

import datetime as dt
from functools import partial

from django.db.models.signals import pre_delete
from django.utils import timezone
from django.utils.translation import gettext as _

from .errors import Conflict


def _kept_from(instance, path: str):
    value = instance
    for name in path.split("."):
        value = getattr(value, name, None)
        if value is None:
            return None
    return value.date() if isinstance(value, dt.datetime) else value


def kept_until(instance, years: int, path: str) -> dt.date | None:
    """The last day ``instance`` must be kept, or None for a record with no period (a draft)."""
    start = _kept_from(instance, path)
    if start is None:
        return None
    try:
        return start.replace(year=start.year + years)
    except ValueError:  # 29 February
        return start.replace(year=start.year + years, day=28)


def _refuse(sender, instance, *, years: int, path: str, **kwargs):
    until = kept_until(instance, years, path)
    if until is not None and timezone.localdate() <= until:
        raise Conflict(_("%(what)s must be kept for %(n)d years, until %(until)s; it cannot be deleted.")
                       % {"what": sender._meta.verbose_name, "n": years, "until": until.isoformat()},
                       "retention_period", "id")


def retain(model, years: int, kept_from: str) -> None:
    """Refuse deleting ``model`` rows within ``years`` of the date at attribute path ``kept_from``."""
    pre_delete.connect(partial(_refuse, years=years, path=kept_from), sender=model, weak=False,
                       dispatch_uid=f"retention:{model._meta.label}")
