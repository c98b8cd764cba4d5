"""Conservative determination: cases opened for missing reports, the province's figures and the second approval."""

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cets.common.audit import audit_record
from cets.common.calendar import add_working_days, is_working_day
from cets.common.errors import Conflict, DomainError, Forbidden
from cets.common.locks import lock_rows
from entities.models import KeyEntity, User

from . import sector_verification
from .models import AnnualReport, Verification
from .tiers import local_today, require_province
from .verifications import unit_values_clean


@transaction.atomic
def verification_determine(*, actor: User, entity: KeyEntity, year: int, unit_values: list[dict],
                           reason: str) -> Verification:
    """Where data are missing or false the province proposes conservative emissions, recorded as such.

    The proposal is a case of its own: it becomes the verified figure only when a second regulator (never
    the one who proposed it) approves it with ``verification_determination_approve``.
    """
    require_province(actor, entity)
    if not reason.strip():
        raise DomainError(_("Say which data were missing or false."), "required", "reason")
    values = unit_values_clean(entity, unit_values, year)
    verification, _created = Verification.objects.get_or_create(entity=entity, year=year)
    [verification] = lock_rows(Verification.objects.filter(pk=verification.pk))
    if verification.status in (Verification.Status.CONFIRMED, Verification.Status.REVIEW_REQUESTED):
        raise Conflict(_("Verified emissions are already confirmed."), "already_confirmed", "status")
    sector_verification.store(verification, values)
    verification.status = Verification.Status.DETERMINATION_PENDING
    verification.is_conservative, verification.conservative_reason = True, reason
    verification.determined_by = actor
    verification.save()
    audit_record(actor=actor, action="mrv.verification.determine", obj=verification,
                 after={"emissions_tco2": str(verification.verified_emissions_tco2), "reason": reason})
    return verification


def annual_report_deadline(year: int) -> dt.date:
    """The last day to submit the annual report of ``year``: Mar 31, moved to the next working day when it is
    a weekend or holiday (chinesecalendar)."""
    due = dt.date(year + 1, 3, 31)
    return due if is_working_day(due) else add_working_days(due, 1)


@transaction.atomic
def conservative_cases_open(*, today: dt.date | None = None) -> list[int]:
    """Periodic task: once last year's annual report deadline has passed, open a conservative-determination case
    for every active entity in the market that year with no submitted report.

    The case is the entity's verification in ``DETERMINATION_OPEN`` (created, or moved there from an agency's
    ``IN_PROGRESS`` with nothing to verify); the province then enters figures with ``verification_determine``
    and a second regulator approves them. Rerunning skips cases already open. Returns the entity ids.
    """
    today = today or local_today()
    year = today.year - 1
    deadline = annual_report_deadline(year)
    if today <= deadline:
        return []
    reported = AnnualReport.objects.filter(year=year, status=AnnualReport.Status.SUBMITTED).values("entity_id")
    missing = set(KeyEntity.objects.filter(status=KeyEntity.Status.ACTIVE, inclusion_year__lte=year)
                  .exclude(pk__in=reported).values_list("pk", flat=True))
    if not missing:
        return []
    reason = f"Annual emission report {year} missing at its deadline {deadline.isoformat()}."
    existing = {v.entity_id: v for v in lock_rows(Verification.objects.filter(year=year, entity_id__in=missing))}
    moved = [v for v in existing.values() if v.status == Verification.Status.IN_PROGRESS]
    Verification.objects.filter(pk__in=[v.pk for v in moved]).update(
        status=Verification.Status.DETERMINATION_OPEN, is_conservative=True, conservative_reason=reason)
    created = sorted(missing - set(existing))
    Verification.objects.bulk_create([
        Verification(entity_id=pk, year=year, status=Verification.Status.DETERMINATION_OPEN, is_conservative=True,
                     conservative_reason=reason) for pk in created], batch_size=2000)
    opened = sorted([v.entity_id for v in moved] + created)
    if opened:
        audit_record(actor=None, action="mrv.verification.case_open", object_type="mrv.verification",
                     object_id=f"{year}:" + ",".join(str(pk) for pk in opened[:50]),
                     after={"year": year, "entities": len(opened), "reason": reason})
    return opened


@transaction.atomic
def verification_determination_approve(*, actor: User, verification: Verification,
                                       today: dt.date | None = None) -> Verification:
    """A second regulator of the province (or the nation) peer-reviews and finalises a determination."""
    if not (actor.role == User.Role.NATIONAL_REGULATOR or (
            actor.role == User.Role.PROVINCIAL_REGULATOR and actor.province_id == verification.entity.province_id)):
        raise Forbidden(_("Only a regulator of the entity's province or the nation may approve this."))
    [verification] = lock_rows(Verification.objects.filter(pk=verification.pk))
    if verification.status != Verification.Status.DETERMINATION_PENDING:
        raise Conflict(_("No determination is awaiting peer review."), "not_pending", "status")
    if verification.determined_by_id == actor.pk:
        raise Forbidden(_("The regulator who proposed a determination cannot approve it."), field="actor")
    verification.status = Verification.Status.CONFIRMED
    verification.confirmed_by, verification.confirmed_at = actor, timezone.now()
    verification.review_deadline = add_working_days(today or local_today(), 7)
    verification.save()
    audit_record(actor=actor, action="mrv.verification.determination_approve", obj=verification,
                 after={"emissions_tco2": str(verification.verified_emissions_tco2)})
    return verification
