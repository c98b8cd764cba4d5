"""Verification agencies as the provinces oversee them: cancelling or replacing an assignment, yearly ratings."""

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cets.common.audit import audit_record
from cets.common.errors import Conflict, DomainError, Forbidden, NotFound
from cets.common.locks import lock_rows
from entities.models import AgencyAssignment, Organisation, User
from entities.services import agency_assign

from .models import AgencyRating, Verification
from .tiers import require_province


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


REPORT_SUBMITTED = (Verification.Status.SUBMITTED, Verification.Status.CONFIRMED, Verification.Status.REVIEW_REQUESTED)


def _assignment_end(actor: User, assignment: AgencyAssignment, reason: str, status: str) -> AgencyAssignment:
    """Lock the active assignment and end it; refused once the agency's report is submitted (the province then
    returns the report for re-verification instead). The year's verification forgets the agency's start."""
    require_province(actor, assignment.entity)
    if not reason.strip():
        raise DomainError(_("Give the reason for ending this assignment."), "required", "reason")
    [assignment] = lock_rows(AgencyAssignment.objects.filter(pk=assignment.pk))
    if assignment.status != AgencyAssignment.Status.ACTIVE:
        raise Conflict(_("This assignment has already ended."), "already_ended", "status")
    verifications = lock_rows(Verification.objects.filter(entity_id=assignment.entity_id, year=assignment.year))
    if verifications and verifications[0].status in REPORT_SUBMITTED:
        raise Conflict(_("The agency has submitted its report: return it for re-verification instead."),
                       "report_submitted", "status")
    Verification.objects.filter(pk__in=[v.pk for v in verifications]).update(agency=None, started_at=None)
    assignment.status, assignment.end_reason = status, reason.strip()
    assignment.ended_by, assignment.ended_at = actor, timezone.now()
    assignment.save(update_fields=["status", "end_reason", "ended_by", "ended_at"])
    return assignment


@transaction.atomic
def assignment_cancel(*, actor: User, assignment: AgencyAssignment, reason: str) -> AgencyAssignment:
    """The entity's province cancels an assignment before the agency submits, with a reason."""
    assignment = _assignment_end(actor, assignment, reason, AgencyAssignment.Status.CANCELLED)
    audit_record(actor=actor, action="agency.assignment_cancel", obj=assignment,
                 before={"status": AgencyAssignment.Status.ACTIVE},
                 after={"status": assignment.status, "reason": assignment.end_reason})
    return assignment


@transaction.atomic
def assignment_replace(*, actor: User, assignment: AgencyAssignment, agency: Organisation,
                       reason: str) -> AgencyAssignment:
    """The entity's province replaces the agency before it submits, with a reason; the new agency must be
    qualified as for any assignment. Returns the new assignment."""
    if agency.pk == assignment.agency_id:
        raise DomainError(_("Choose another agency."), "same_agency", "agency")
    old = _assignment_end(actor, assignment, reason, AgencyAssignment.Status.REPLACED)
    new = agency_assign(actor=actor, entity=old.entity, agency=agency, year=old.year)
    old.replaced_by = new
    old.save(update_fields=["replaced_by"])
    Verification.objects.filter(entity_id=old.entity_id, year=old.year).update(agency=agency)
    audit_record(actor=actor, action="agency.assignment_replace", obj=old,
                 before={"agency": old.agency_id}, after={"agency": agency.pk, "reason": old.end_reason})
    return new
