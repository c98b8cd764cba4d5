"""Verification of the annual report: the agency's report and findings, the province's confirmation, the review."""

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cets.common.audit import audit_record
from cets.common.calendar import add_working_days
from cets.common.errors import Conflict, DomainError, Forbidden, NotFound
from cets.common.locks import lock_rows
from entities.models import AgencyAssignment, KeyEntity, User
from entities.services import agency_check_active

from . import notify, sector_verification
from .models import AnnualReport, Verification, VerificationFinding
from .tiers import local_today, require_province

VERIFIED_FIELDS = ["electricity_generated_mwh", "electricity_supplied_mwh", "heat_supplied_gj", "load_factor",
                   "heat_supply_ratio", "emissions_tco2"]


def unit_values_clean(entity: KeyEntity, unit_values: list[dict], year: int) -> list[dict]:
    """Verified figures per facility: power's for a generating unit, its sector's for another facility."""
    units = {u.code: u for u in entity.units.all()}
    clean = []
    for index, item in enumerate(unit_values):
        unit = units.get(str(item.get("unit") or ""))
        if unit is None:
            raise DomainError(_("No such unit of this entity."), "unknown_unit", f"unit_values[{index}].unit")
        if not unit.is_generating_unit:
            clean.append(sector_verification.facility_row(unit, item, f"unit_values[{index}]", year))
            continue
        sector_verification.refuse_foreign(unit, item, f"unit_values[{index}]")
        row = {"unit": unit}
        for name in VERIFIED_FIELDS:
            try:
                value = Decimal(str(item.get(name)))
            except Exception:
                raise DomainError(_("Must be a number."), "invalid_number", f"unit_values[{index}].{name}")
            if not value.is_finite() or value < 0:
                raise DomainError(_("May not be negative."), "negative", f"unit_values[{index}].{name}")
            if name in ("load_factor", "heat_supply_ratio") and value > 1:
                raise DomainError(_("A fraction between 0 and 1."), "out_of_range", f"unit_values[{index}].{name}")
            row[name] = value
        clean.append(row)
    if not clean:
        raise DomainError(_("Give the verified values of each unit."), "required", "unit_values")
    return clean


def _assignment_locked(actor: User, entity: KeyEntity, year: int) -> AgencyAssignment:
    """The actor's agency's active assignment, locked (the province's cancel or replace waits for it); an agency
    that is no longer active, or is banned, may not act on it."""
    if actor.role != User.Role.VERIFIER or not actor.organisation_id:
        raise NotFound(_("No such assignment for your agency."), field="entity")
    assignment = lock_rows(AgencyAssignment.objects.filter(entity=entity, year=year, agency_id=actor.organisation_id,
                                                           status=AgencyAssignment.Status.ACTIVE))
    if not assignment:
        raise NotFound(_("No such assignment for your agency."), field="entity")
    try:
        agency_check_active(actor.organisation, local_today())
    except DomainError as exc:
        raise Forbidden(exc.message, field="agency") from exc
    return assignment[0]


def _conclusion_clean(conclusion: str, reasons: str) -> str:
    if conclusion not in Verification.Conclusion.values:
        raise DomainError(_("Choose a conclusion from the list."), "invalid_choice", "conclusion")
    reasons = (reasons or "").strip()
    if conclusion != Verification.Conclusion.UNQUALIFIED and not reasons:
        raise DomainError(_("A qualified, adverse or disclaimed conclusion states its reasons."), "required",
                          "conclusion_reasons")
    if len(reasons) > 2000:
        raise DomainError(_("At most 2000 characters."), "too_long", "conclusion_reasons")
    return reasons


@transaction.atomic
def verification_submit(*, actor: User, entity: KeyEntity, year: int, unit_values: list[dict], conclusion: str,
                        conclusion_reasons: str = "", findings: list | None = None,
                        report_file=None) -> Verification:
    """The assigned agency uploads its report: conclusion (with reasons unless unqualified), report file and
    verified values per unit (resubmittable until confirmed; a resubmission may keep the file already sent)."""
    _assignment_locked(actor, entity, year)
    reasons = _conclusion_clean(conclusion, conclusion_reasons)
    values = unit_values_clean(entity, unit_values, year)
    verification, _created = Verification.objects.get_or_create(entity=entity, year=year,
                                                                defaults={"agency_id": actor.organisation_id})
    [verification] = lock_rows(Verification.objects.filter(pk=verification.pk))
    if verification.status in (Verification.Status.CONFIRMED, Verification.Status.REVIEW_REQUESTED):
        raise Conflict(_("The province has already confirmed this verification."), "already_confirmed", "status")
    if verification.status in (Verification.Status.DETERMINATION_OPEN, Verification.Status.DETERMINATION_PENDING):
        raise Conflict(_("The province is determining this year's emissions conservatively."),
                       "determination_in_progress", "status")
    if report_file is None and not verification.report_file:
        raise DomainError(_("Attach the signed verification report."), "required", "report_file")
    texts = [str(t).strip() for t in findings or [] if str(t).strip()]
    for index, text in enumerate(texts):
        if len(text) > 1000:
            raise DomainError(_("A finding may be at most 1000 characters."), "too_long", f"findings[{index}]")
    sector_verification.store(verification, values)
    _replace_findings(verification, texts)
    verification.agency_id = actor.organisation_id
    verification.status = Verification.Status.SUBMITTED
    verification.conclusion, verification.conclusion_reasons = conclusion, reasons
    verification.submitted_by, verification.submitted_at = actor, timezone.now()
    verification.started_at = verification.started_at or verification.submitted_at
    if report_file is not None:
        verification.report_file = report_file
    verification.save()
    audit_record(actor=actor, action="mrv.verification.submit", obj=verification,
                 after={"emissions_tco2": str(verification.verified_emissions_tco2), "units": len(values),
                        "conclusion": conclusion, "conclusion_reasons": reasons})
    return verification


def _submitted_report_locked(entity: KeyEntity, year: int) -> AnnualReport:
    reports = lock_rows(AnnualReport.objects.filter(entity=entity, year=year, status=AnnualReport.Status.SUBMITTED))
    if not reports:
        raise Conflict(_("The entity has no submitted annual report for that year."), "no_report", "year")
    return reports[0]


@transaction.atomic
def verification_start(*, actor: User, entity: KeyEntity, year: int) -> Verification:
    """The assigned agency starts verifying the submitted annual report; from then on the entity can no longer
    recall it (it asks the agency to return it instead). Starting twice changes nothing."""
    _assignment_locked(actor, entity, year)
    _submitted_report_locked(entity, year)
    verification, _created = Verification.objects.get_or_create(entity=entity, year=year,
                                                                defaults={"agency_id": actor.organisation_id})
    [verification] = lock_rows(Verification.objects.filter(pk=verification.pk))
    if verification.status != Verification.Status.IN_PROGRESS:
        raise Conflict(_("This year is not awaiting the agency's verification."), "not_in_progress", "status")
    if verification.started_at is None:
        verification.agency_id, verification.started_at = actor.organisation_id, timezone.now()
        verification.save(update_fields=["agency", "started_at"])
        audit_record(actor=actor, action="mrv.verification.start", obj=verification,
                     after={"agency": actor.organisation_id})
    return verification


@transaction.atomic
def annual_report_return(*, actor: User, report: AnnualReport, reason: str) -> AnnualReport:
    """The assigned agency returns the entity's submitted annual report for correction (saying what to correct)
    while its own report is not submitted; the entity compiles and submits a corrected version."""
    if not reason.strip():
        raise DomainError(_("Say what the entity must correct."), "required", "reason")
    _assignment_locked(actor, report.entity, report.year)
    [report] = lock_rows(AnnualReport.objects.filter(pk=report.pk))
    if report.status != AnnualReport.Status.SUBMITTED:
        raise Conflict(_("Only the submitted report can be returned."), "not_submitted", "status")
    if Verification.objects.filter(entity_id=report.entity_id, year=report.year).exclude(
            status=Verification.Status.IN_PROGRESS).exists():
        raise Conflict(_("The verification report is already submitted or the province decides the year."),
                       "verification_not_in_progress", "status")
    report.status, report.return_reason, report.returned_by = AnnualReport.Status.RETURNED, reason.strip(), actor
    report.save(update_fields=["status", "return_reason", "returned_by"])
    audit_record(actor=actor, action="mrv.annual_report.return", obj=report,
                 before={"status": AnnualReport.Status.SUBMITTED}, after={"status": report.status, "reason": reason})
    return report


@transaction.atomic
def verification_return(*, actor: User, verification: Verification, reason: str) -> Verification:
    """The province returns a submitted verification report to the agency for re-verification, with its reasons;
    the agency resubmits (its findings and their answers stay)."""
    require_province(actor, verification.entity)
    if not reason.strip():
        raise DomainError(_("Say what must be verified again."), "required", "reason")
    [verification] = lock_rows(Verification.objects.filter(pk=verification.pk))
    if verification.status != Verification.Status.SUBMITTED:
        raise Conflict(_("Only a submitted verification report can be returned."), "not_submitted", "status")
    verification.status = Verification.Status.IN_PROGRESS
    verification.reverification_reason, verification.reverifications = reason.strip(), verification.reverifications + 1
    verification.save(update_fields=["status", "reverification_reason", "reverifications"])
    audit_record(actor=actor, action="mrv.verification.return", obj=verification,
                 before={"status": Verification.Status.SUBMITTED},
                 after={"status": verification.status, "reason": reason, "times": verification.reverifications})
    return verification


def _replace_findings(verification: Verification, texts: list[str]) -> None:
    """A resubmitted report keeps the findings it repeats (with their answers), drops the others, adds new ones."""
    kept = set()
    for finding in verification.findings.all():
        if finding.text in texts and finding.text not in kept:
            kept.add(finding.text)
        else:
            finding.delete()
    number = max(verification.findings.values_list("number", flat=True), default=0)
    new = []
    for text in texts:
        if text not in kept:
            kept.add(text)
            number += 1
            new.append(VerificationFinding(verification=verification, number=number, text=text))
    VerificationFinding.objects.bulk_create(new)


def _finding_locked(finding: VerificationFinding) -> tuple[VerificationFinding, Verification]:
    [verification] = lock_rows(Verification.objects.filter(pk=finding.verification_id))
    [finding] = lock_rows(VerificationFinding.objects.filter(pk=finding.pk))
    if verification.status != Verification.Status.SUBMITTED:
        raise Conflict(_("Findings are answered and closed while the report awaits the province's confirmation."),
                       "not_submitted", "status")
    return finding, verification


@transaction.atomic
def finding_answer(*, actor: User, finding: VerificationFinding, answer: str) -> VerificationFinding:
    """The entity answers a non-conformity (what it corrected, or why the finding does not hold)."""
    if actor.acting_entity_id != finding.verification.entity_id:
        raise NotFound(_("No such finding."), field="finding")
    if not answer.strip():
        raise DomainError(_("Answer the finding: what was corrected, or why it does not hold."), "required", "answer")
    if len(answer) > 2000:
        raise DomainError(_("An answer may be at most 2000 characters."), "too_long", "answer")
    finding, _verification = _finding_locked(finding)
    if finding.status != VerificationFinding.Status.OPEN:
        raise Conflict(_("This finding is not waiting for an answer."), "not_open", "status")
    finding.status, finding.answer = VerificationFinding.Status.ANSWERED, answer.strip()
    finding.answered_by, finding.answered_at = actor, timezone.now()
    finding.save()
    audit_record(actor=actor, action="mrv.finding.answer", obj=finding, after={"answer": finding.answer})
    return finding


@transaction.atomic
def finding_close(*, actor: User, finding: VerificationFinding, accept: bool, comment: str = "") -> VerificationFinding:
    """The assigned agency closes an answered finding, or reopens it (with a comment) for a better answer."""
    verification = finding.verification
    if actor.role != User.Role.VERIFIER or not actor.organisation_id or verification.agency_id != actor.organisation_id:
        raise NotFound(_("No such finding."), field="finding")
    if not accept and not comment.strip():
        raise DomainError(_("Say why the answer does not close the finding."), "required", "comment")
    finding, _verification = _finding_locked(finding)
    if finding.status != VerificationFinding.Status.ANSWERED:
        raise Conflict(_("Only an answered finding can be closed or reopened."), "not_answered", "status")
    before = finding.status
    finding.agency_comment = comment.strip()
    if accept:
        finding.status, finding.closed_by, finding.closed_at = VerificationFinding.Status.CLOSED, actor, timezone.now()
    else:
        finding.status = VerificationFinding.Status.OPEN
    finding.save()
    audit_record(actor=actor, action="mrv.finding.close" if accept else "mrv.finding.reopen", obj=finding,
                 before={"status": before}, after={"status": finding.status, "comment": finding.agency_comment})
    return finding


@transaction.atomic
def verification_confirm(*, actor: User, verification: Verification, today: dt.date | None = None) -> Verification:
    """The province confirms verified emissions once; the entity may ask for a review within 7 working days."""
    require_province(actor, verification.entity)
    [verification] = lock_rows(Verification.objects.filter(pk=verification.pk))
    if verification.status == Verification.Status.CONFIRMED:
        raise Conflict(_("Verified emissions are already confirmed."), "already_confirmed", "status")
    if verification.status != Verification.Status.SUBMITTED:
        raise Conflict(_("The agency has not submitted its report."), "not_submitted", "status")
    unclosed = verification.findings.exclude(status=VerificationFinding.Status.CLOSED).count()
    if unclosed:
        raise Conflict(_("%(n)d finding(s) are not closed: the entity answers them and the agency closes them "
                         "before the province confirms.") % {"n": unclosed}, "open_findings", "findings")
    today = today or local_today()
    verification.status = Verification.Status.CONFIRMED
    verification.confirmed_by, verification.confirmed_at = actor, timezone.now()
    verification.review_deadline = add_working_days(today, 7)
    verification.save()
    audit_record(actor=actor, action="mrv.verification.confirm", obj=verification,
                 after={"emissions_tco2": str(verification.verified_emissions_tco2)})
    notify.verification_confirmed(verification)
    return verification


@transaction.atomic
def verification_request_review(*, actor: User, verification: Verification, reason: str,
                                today: dt.date | None = None) -> Verification:
    """The entity asks for a review of confirmed figures within 7 working days; decided within 10."""
    if actor.acting_entity_id != verification.entity_id:
        raise NotFound(_("No such verification."), field="verification")
    if not reason.strip():
        raise DomainError(_("Say what should be reviewed and why."), "required", "reason")
    [verification] = lock_rows(Verification.objects.filter(pk=verification.pk))
    today = today or local_today()
    if verification.status != Verification.Status.CONFIRMED:
        raise Conflict(_("Only confirmed figures can be reviewed."), "not_confirmed", "status")
    if verification.review_deadline and today > verification.review_deadline:
        raise DomainError(_("The 7 working days to request a review ended on %(d)s.")
                          % {"d": verification.review_deadline}, "review_window_closed", "reason")
    verification.status = Verification.Status.REVIEW_REQUESTED
    verification.review_reason = reason
    verification.review_decision_due = add_working_days(today, 10)
    verification.save()
    audit_record(actor=actor, action="mrv.verification.request_review", obj=verification, after={"reason": reason})
    return verification


@transaction.atomic
def verification_decide_review(*, actor: User, verification: Verification, unit_values: list[dict] | None = None,
                               comment: str = "") -> Verification:
    """The province decides a review: keeps the figures, or replaces them, and confirms again."""
    require_province(actor, verification.entity)
    [verification] = lock_rows(Verification.objects.filter(pk=verification.pk))
    if verification.status != Verification.Status.REVIEW_REQUESTED:
        raise Conflict(_("No review is pending."), "no_review", "status")
    before = str(verification.verified_emissions_tco2)
    if unit_values:
        sector_verification.store(verification, unit_values_clean(verification.entity, unit_values, verification.year))
    verification.status = Verification.Status.CONFIRMED
    verification.review_deadline = None
    verification.save()
    audit_record(actor=actor, action="mrv.verification.decide_review", obj=verification,
                 before={"emissions_tco2": before},
                 after={"emissions_tco2": str(verification.verified_emissions_tco2), "comment": comment})
    return verification
