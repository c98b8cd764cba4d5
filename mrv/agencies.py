"""Verification agencies as the provinces oversee them: yearly ratings."""

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cets.common.audit import audit_record
from cets.common.errors import DomainError, Forbidden, NotFound
from entities.models import Organisation, User

from .models import AgencyRating, Verification


@transaction.atomic
def agency_rate(*, actor: User, agency: Organisation, year: int, timeliness: int, quality: int,
                comment: str = "") -> AgencyRating:
    """A province rates an agency's year; on-time counts are taken from its reports (due Jun 30)."""
    if actor.role != User.Role.PROVINCIAL_REGULATOR:
        raise Forbidden(_("Only a provincial regulator rates agencies."))
    for name, score in (("timeliness", timeliness), ("quality", quality)):
        if not isinstance(score, int) or not 1 <= score <= 5:
            raise DomainError(_("A score from 1 to 5."), "out_of_range", name)
    mine = Verification.objects.filter(agency=agency, year=year, entity__province_id=actor.province_id,
                                       submitted_at__isnull=False)
    if not mine.exists():
        raise NotFound(_("This agency did no verification in your province that year."), field="agency")
    due = dt.date(year + 1, 6, 30)
    on_time = sum(1 for v in mine if timezone.localdate(v.submitted_at) <= due)
    rating, _created = AgencyRating.objects.update_or_create(
        agency=agency, province_id=actor.province_id, year=year,
        defaults={"timeliness": timeliness, "quality": quality, "comment": comment, "rated_by": actor,
                  "on_time_reports": on_time, "late_reports": mine.count() - on_time})
    audit_record(actor=actor, action="mrv.agency.rate", obj=rating,
                 after={"timeliness": timeliness, "quality": quality})
    return rating
