"""Who MRV tells, and what: the notifications of deadlines, requests and decisions (``cets.common.notifications``).

Each function is called by the service that made the event, inside its transaction; the bulk path
(``reminders_notify``, the daily reminders) resolves every recipient in a few grouped queries.
"""

from collections import Counter

from django.urls import reverse
from django.utils.translation import gettext_noop

from cets.common.notifications import Kind, Note, msgid, notify
from entities.selectors import notification_recipients

from .models import EarlyWarning, InformationRequest, MonthlySubmission, Reminder, Tier, Verification

REMINDER_TEXT = {
    Reminder.Kind.MONTHLY_DATA: gettext_noop("Monthly emission data due by %(due)s (%(count)s unit-months missing)."),
    Reminder.Kind.ANNUAL_REPORT: gettext_noop("Annual emission report due by %(due)s."),
    Reminder.Kind.WARNING: gettext_noop("Action on %(count)s early warning(s) due by %(due)s."),
    Reminder.Kind.REVIEW_REQUEST: gettext_noop("Decision on a verification review request due by %(due)s."),
    Reminder.Kind.REVIEW: gettext_noop("Review of %(count)s monthly submission(s) due by %(due)s."),
    Reminder.Kind.FINDINGS: gettext_noop("Verification findings to answer by %(due)s."),
}
REMINDER_URL = {Reminder.Kind.WARNING: "mrv:warnings", Reminder.Kind.REVIEW_REQUEST: "mrv:verifications",
                Reminder.Kind.FINDINGS: "mrv:verifications"}


def reminders_notify(reminders: list[Reminder]) -> int:
    """One notification per recipient, kind and due date for the reminders just recorded (a deadline)."""
    groups = Counter((r.recipient_tier, r.entity_id, r.kind, r.due_date) for r in reminders)
    recipients = {tier: notification_recipients({e for t, e, _k, _d in groups if t == tier}, tier)
                  for tier in {t for t, _e, _k, _d in groups}}
    notes = [Note(recipients[tier].get(entity_id, []), Kind.DEADLINE, REMINDER_TEXT[kind],
                  {"due": due.isoformat(), "count": count}, reverse(REMINDER_URL.get(kind, "mrv:home")))
             for (tier, entity_id, kind, due), count in groups.items()]
    return notify(notes)


def _entity_users(entity_id: int) -> list:
    return notification_recipients([entity_id]).get(entity_id, [])


def _period(submission: MonthlySubmission) -> dict:
    return {"unit": submission.unit.code, "period": f"{submission.year}-{submission.month:02d}"}


def submission_reviewed(submission: MonthlySubmission, accepted: bool, tier: str) -> None:
    """The entity learns each tier's decision on its month."""
    message = (gettext_noop("%(unit)s %(period)s: accepted at the %(tier)s review.") if accepted
               else gettext_noop("%(unit)s %(period)s: returned at the %(tier)s review; correct and resubmit."))
    params = {**_period(submission), "tier": msgid(Tier(tier).label)}
    notify([Note(_entity_users(submission.entity_id), Kind.DECISION, message, params,
                 reverse("mrv:submission", args=[submission.pk]))])


def information_requested(request: InformationRequest) -> None:
    """The entity is asked for information on a month under review."""
    submission = request.submission
    notify([Note(_entity_users(submission.entity_id), Kind.REQUEST,
                 gettext_noop("%(unit)s %(period)s: the reviewer asks for information."), _period(submission),
                 reverse("mrv:submission", args=[submission.pk]))])


def warning_rectification_requested(warning: EarlyWarning) -> None:
    """The entity is asked to rectify what an early warning found, by its due date."""
    notify([Note(_entity_users(warning.entity_id), Kind.REQUEST,
                 gettext_noop("Rectification requested for an early warning of %(year)s, due %(due)s."),
                 {"year": warning.year, "due": warning.due_date.isoformat() if warning.due_date else ""},
                 reverse("mrv:warnings"))])


def verification_confirmed(verification: Verification) -> None:
    """The entity learns that its verified emissions are confirmed (and may ask for a review)."""
    notify([Note(_entity_users(verification.entity_id), Kind.DECISION,
                 gettext_noop("Verified emissions of %(year)s confirmed by the province; a review may be "
                              "requested until %(until)s."),
                 {"year": verification.year, "until": verification.review_deadline.isoformat()},
                 reverse("mrv:verifications"))])
