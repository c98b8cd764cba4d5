"""Three-tier review of monthly data: decisions, escalation, requests for information and deadline extensions."""

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cets.common.audit import audit_record
from cets.common.calendar import add_working_days, working_days_between
from cets.common.errors import Conflict, DomainError, Forbidden, NotFound
from cets.common.locks import lock_rows
from entities.models import KeyEntity, User

from . import notify
from .models import (
    DeadlineExtension,
    InformationRequest,
    MonthlySubmission,
    Reminder,
    SubmissionReview,
    Tier,
    Verification,
)
from .tiers import local_today, require_province, require_tier, route_tiers

REVIEW_WORKING_DAYS = 10  # each tier's time to review a monthly submission (a setting of this platform)


REVIEW_STATUS = {MonthlySubmission.Status.MUNICIPAL_REVIEW: Tier.MUNICIPAL,
                 MonthlySubmission.Status.PROVINCIAL_REVIEW: Tier.PROVINCIAL,
                 MonthlySubmission.Status.NATIONAL_REVIEW: Tier.NATIONAL}
NEXT_STATUS = {Tier.MUNICIPAL: MonthlySubmission.Status.PROVINCIAL_REVIEW,
               Tier.PROVINCIAL: MonthlySubmission.Status.NATIONAL_REVIEW,
               Tier.NATIONAL: MonthlySubmission.Status.ACCEPTED}


def review_start_status(entities: dict[int, KeyEntity]) -> dict[int, str]:
    """Where a new submission enters review: the lowest tier that has a regulator for the entity (a city
    without a municipal department passes straight to its province, a province without one to the nation)."""
    tier_status = {Tier.MUNICIPAL: MonthlySubmission.Status.MUNICIPAL_REVIEW,
                   Tier.PROVINCIAL: MonthlySubmission.Status.PROVINCIAL_REVIEW,
                   Tier.NATIONAL: MonthlySubmission.Status.NATIONAL_REVIEW}
    return {pk: tier_status[tier] for pk, tier in route_tiers(entities).items()}


@transaction.atomic
def submission_review(*, actor: User, submission: MonthlySubmission, accept: bool,
                      comment: str = "") -> MonthlySubmission:
    """The tier whose turn it is accepts (passing it up) or returns the submission with comments."""
    [submission] = lock_rows(MonthlySubmission.objects.filter(pk=submission.pk))
    tier = REVIEW_STATUS.get(submission.status)
    if tier is None:
        raise Conflict(_("This submission is not awaiting review."), "not_in_review", "status")
    require_tier(actor, submission.entity, tier)
    if not accept and not comment.strip():
        raise DomainError(_("Say what must be corrected."), "required", "comment")
    before = submission.status
    SubmissionReview.objects.create(submission=submission, tier=tier, reviewer=actor, comment=comment,
                                    decision=SubmissionReview.Decision.ACCEPTED if accept
                                    else SubmissionReview.Decision.RETURNED)
    submission.status = NEXT_STATUS[tier] if accept else MonthlySubmission.Status.RETURNED
    submission.review_due = (add_working_days(local_today(), REVIEW_WORKING_DAYS)
                             if submission.status in REVIEW_STATUS else None)
    submission.save(update_fields=["status", "review_due"])
    audit_record(actor=actor, action="mrv.submission.review", obj=submission, before={"status": before},
                 after={"status": submission.status, "tier": tier, "comment": comment})
    notify.submission_reviewed(submission, accept, tier)
    return submission


@transaction.atomic
def reviews_escalate(*, today: dt.date | None = None) -> int:
    """A tier that let its review deadline pass (no request for information open) hands the submission to
    the tier above, which gets a fresh deadline and a reminder saying why (periodic task)."""
    today = today or local_today()
    overdue = lock_rows(MonthlySubmission.objects.filter(
        status__in=[MonthlySubmission.Status.MUNICIPAL_REVIEW, MonthlySubmission.Status.PROVINCIAL_REVIEW],
        review_due__lt=today).exclude(information_requests__status=InformationRequest.Status.OPEN))
    due = add_working_days(today, REVIEW_WORKING_DAYS)
    reminders = []
    for sub in overdue:
        tier = REVIEW_STATUS[sub.status]
        sub.status = NEXT_STATUS[tier]
        sub.review_due = due
        reminders.append(Reminder(kind=Reminder.Kind.REVIEW, key=f"escalated:{sub.pk}:{tier}", days_before=0,
                                  entity_id=sub.entity_id, due_date=due, recipient_tier=REVIEW_STATUS[sub.status],
                                  message=f"Escalated: {tier} review of submission {sub.pk} "
                                          f"({sub.year}-{sub.month:02d}) was overdue; due {due}"))
    if overdue:
        MonthlySubmission.objects.bulk_update(overdue, ["status", "review_due"])
        Reminder.objects.bulk_create(reminders, ignore_conflicts=True)
        notify.reminders_notify(reminders)
        audit_record(actor=None, action="mrv.submission.review_escalate", object_type="mrv.monthlysubmission",
                     object_id=",".join(str(s.pk) for s in overdue[:50]), after={"count": len(overdue)})
    return len(overdue)


@transaction.atomic
def information_request(*, actor: User, submission: MonthlySubmission, question: str,
                        today: dt.date | None = None) -> InformationRequest:
    """The reviewing tier asks the entity for information; its own review deadline pauses until answered."""
    [submission] = lock_rows(MonthlySubmission.objects.filter(pk=submission.pk))
    tier = REVIEW_STATUS.get(submission.status)
    if tier is None:
        raise Conflict(_("This submission is not awaiting review."), "not_in_review", "status")
    require_tier(actor, submission.entity, tier)
    if not question.strip():
        raise DomainError(_("Say what information is needed."), "required", "question")
    if submission.information_requests.filter(status=InformationRequest.Status.OPEN).exists():
        raise Conflict(_("A request for information is already waiting for the entity."), "already_open",
                       "question")
    rfi = InformationRequest.objects.create(submission=submission, tier=tier, question=question, asked_by=actor,
                                            asked_on=today or local_today())
    audit_record(actor=actor, action="mrv.information_request.ask", obj=rfi, after={"question": question})
    notify.information_requested(rfi)
    return rfi


@transaction.atomic
def information_answer(*, actor: User, request: InformationRequest, answer: str,
                       today: dt.date | None = None) -> InformationRequest:
    """The entity answers; the reviewer's deadline moves by the working days the request was open."""
    if actor.acting_entity_id != request.submission.entity_id:
        raise NotFound(_("No such request."), field="request")
    if not answer.strip():
        raise DomainError(_("Give an answer."), "required", "answer")
    [request] = lock_rows(InformationRequest.objects.filter(pk=request.pk))
    if request.status != InformationRequest.Status.OPEN:
        raise Conflict(_("This request was already answered."), "already_answered", "answer")
    today = today or local_today()
    request.status, request.answer, request.answered_by, request.answered_on = (
        InformationRequest.Status.ANSWERED, answer, actor, today)
    request.save()
    submission = request.submission
    paused = working_days_between(request.asked_on, today)
    if submission.review_due and paused:
        submission.review_due = add_working_days(submission.review_due, paused)
        submission.save(update_fields=["review_due"])
    audit_record(actor=actor, action="mrv.information_request.answer", obj=request,
                 after={"paused_working_days": paused, "review_due": str(submission.review_due)})
    return request


@transaction.atomic
def extension_request(*, actor: User, working_days: int, reason: str, submission: MonthlySubmission | None = None,
                      verification: Verification | None = None) -> DeadlineExtension:
    """The regulator who owns a decision asks the tier above for more working days, with a reason."""
    if not reason.strip():
        raise DomainError(_("Give the reason for the extension."), "required", "reason")
    if not isinstance(working_days, int) or not 1 <= working_days <= 30:
        raise DomainError(_("Between 1 and 30 working days."), "out_of_range", "working_days")
    if submission is not None:
        tier = REVIEW_STATUS.get(submission.status)
        if tier is None:
            raise Conflict(_("This submission is not awaiting review."), "not_in_review", "status")
        require_tier(actor, submission.entity, tier)
        pending = submission.extensions.filter(status=DeadlineExtension.Status.PENDING)
    elif verification is not None:
        require_province(actor, verification.entity)
        if verification.status != Verification.Status.REVIEW_REQUESTED:
            raise Conflict(_("No review decision is pending."), "no_review", "status")
        pending = verification.extensions.filter(status=DeadlineExtension.Status.PENDING)
    else:
        raise DomainError(_("Name the submission or verification."), "required", "submission")
    if pending.exists():
        raise Conflict(_("An extension is already awaiting a decision."), "already_pending", "working_days")
    extension = DeadlineExtension.objects.create(submission=submission, verification=verification,
                                                 working_days=working_days, reason=reason, requested_by=actor)
    audit_record(actor=actor, action="mrv.extension.request", obj=extension,
                 after={"working_days": working_days, "reason": reason})
    return extension


def _decider_ok(actor: User, extension: DeadlineExtension) -> bool:
    """The tier above the requester: the province (or nation) for a city, the nation for a province."""
    requester = extension.requested_by
    entity = (extension.submission or extension.verification).entity
    if actor.pk == requester.pk:
        return False
    if requester.role == User.Role.MUNICIPAL_REGULATOR:
        return actor.role == User.Role.NATIONAL_REGULATOR or (
            actor.role == User.Role.PROVINCIAL_REGULATOR and actor.province_id == entity.province_id)
    return actor.role == User.Role.NATIONAL_REGULATOR


@transaction.atomic
def extension_decide(*, actor: User, extension: DeadlineExtension, grant: bool) -> DeadlineExtension:
    """Grant (the deadline moves by the working days asked) or refuse an extension."""
    if not _decider_ok(actor, extension):
        raise Forbidden(_("The tier above the requesting regulator decides extensions."))
    [extension] = lock_rows(DeadlineExtension.objects.filter(pk=extension.pk))
    if extension.status != DeadlineExtension.Status.PENDING:
        raise Conflict(_("This extension was already decided."), "already_decided", "status")
    extension.status = DeadlineExtension.Status.GRANTED if grant else DeadlineExtension.Status.REFUSED
    extension.decided_by, extension.decided_at = actor, timezone.now()
    extension.save()
    if grant and extension.submission_id:
        sub = extension.submission
        sub.review_due = add_working_days(sub.review_due or local_today(), extension.working_days)
        sub.save(update_fields=["review_due"])
    elif grant:
        verification = extension.verification
        verification.review_decision_due = add_working_days(verification.review_decision_due or local_today(),
                                                            extension.working_days)
        verification.save(update_fields=["review_decision_due"])
    audit_record(actor=actor, action="mrv.extension.decide", obj=extension, after={"status": extension.status})
    return extension
