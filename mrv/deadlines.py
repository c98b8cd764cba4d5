"""Deadlines: reminders before each due date, and who must act next on a case."""

import datetime as dt

from django.db import transaction
from django.db.models import Count

from entities.models import KeyEntity, Unit

from . import notify
from .models import (
    AnnualReport,
    EarlyWarning,
    InformationRequest,
    MonthlySubmission,
    Reminder,
    Tier,
    Verification,
    VerificationFinding,
)
from .reviews import REVIEW_STATUS
from .tiers import local_today

REMIND_DAYS = (7, 1)


@transaction.atomic
def reminders_send(*, today: dt.date | None = None) -> int:
    """Record the reminders due today (7 days and 1 day before each due date); safe to rerun.

    Monthly data (to the entity, for units still missing the month), annual reports (Mar 31), warnings
    (to the entity when rectification is asked of it, else to the owning tier), verification findings
    still unanswered (to the entity, before Jun 30: the province cannot confirm the year while any is
    open) and review decisions of verification (to the province). Returns how many new reminders were
    recorded.
    """
    today = today or local_today()
    rows: list[Reminder] = []
    for days in REMIND_DAYS:
        due = today + dt.timedelta(days=days)
        month_end = due - dt.timedelta(days=40)
        if (month_end + dt.timedelta(days=1)).day == 1:
            year, month = month_end.year, month_end.month
            have = set(MonthlySubmission.objects.filter(year=year, month=month, is_current=True)
                       .values_list("unit_id", flat=True))
            for unit in Unit.objects.filter(status=Unit.Status.OPERATING, entity__status=KeyEntity.Status.ACTIVE):
                if unit.pk not in have:
                    rows.append(Reminder(kind=Reminder.Kind.MONTHLY_DATA, key=f"month:{unit.pk}:{year}-{month:02d}",
                                         days_before=days, entity_id=unit.entity_id, due_date=due,
                                         message=f"{unit.code}: data of {year}-{month:02d} due {due}"))
        if (due.month, due.day) == (3, 31):
            done = set(AnnualReport.objects.filter(year=due.year - 1, status=AnnualReport.Status.SUBMITTED)
                       .values_list("entity_id", flat=True))
            for entity_id in KeyEntity.objects.filter(status=KeyEntity.Status.ACTIVE).values_list("pk", flat=True):
                if entity_id not in done:
                    rows.append(Reminder(kind=Reminder.Kind.ANNUAL_REPORT, key=f"annual:{entity_id}:{due.year - 1}",
                                         days_before=days, entity_id=entity_id, due_date=due,
                                         message=f"Annual emission report {due.year - 1} due {due}"))
        for warning in EarlyWarning.objects.filter(status__in=EarlyWarning.OPEN, due_date=due):
            to_entity = warning.status in EarlyWarning.AWAITING_ENTITY
            rows.append(Reminder(kind=Reminder.Kind.WARNING, key=f"warning:{warning.pk}:{due}", days_before=days,
                                 entity_id=warning.entity_id, due_date=due,
                                 recipient_tier="" if to_entity else warning.tier,
                                 message=f"{warning.message[:200]} - action due {due}"))
        if (due.month, due.day) == (6, 30):
            unanswered = (VerificationFinding.objects.filter(
                verification__year=due.year - 1, verification__status=Verification.Status.SUBMITTED,
                status=VerificationFinding.Status.OPEN).values("verification_id", "verification__entity_id")
                .annotate(n=Count("pk")))
            for row in unanswered:
                rows.append(Reminder(kind=Reminder.Kind.FINDINGS, key=f"findings:{row['verification_id']}",
                                     days_before=days, entity_id=row["verification__entity_id"], due_date=due,
                                     message=f"{row['n']} verification finding(s) of {due.year - 1} to answer; "
                                             f"the province confirms by {due}"))
        waiting = MonthlySubmission.objects.filter(review_due=due, status__in=list(REVIEW_STATUS)).exclude(
            information_requests__status=InformationRequest.Status.OPEN)
        for sub in waiting:
            rows.append(Reminder(kind=Reminder.Kind.REVIEW, key=f"review:{sub.pk}:{sub.status}", days_before=days,
                                 entity_id=sub.entity_id, due_date=due, recipient_tier=REVIEW_STATUS[sub.status],
                                 message=f"Review of {sub.year}-{sub.month:02d} data (submission {sub.pk}) due {due}"))
        for verification in Verification.objects.filter(status=Verification.Status.REVIEW_REQUESTED,
                                                         review_decision_due=due):
            rows.append(Reminder(kind=Reminder.Kind.REVIEW_REQUEST, key=f"verification-review:{verification.pk}",
                                 days_before=days, entity_id=verification.entity_id, due_date=due,
                                 recipient_tier=Tier.PROVINCIAL,
                                 message=f"Review decision on {verification.year} verification due {due}"))
    existing = set(Reminder.objects.filter(key__in=[r.key for r in rows]).values_list("kind", "key", "days_before"))
    new = [r for r in rows if (r.kind, r.key, r.days_before) not in existing]
    Reminder.objects.bulk_create(new, batch_size=2000, ignore_conflicts=True)
    notify.reminders_notify(new)
    return len(new)


def next_step(obj) -> dict | None:
    """Who must act next on a submission, warning or verification, and by when (shown to both sides)."""
    if isinstance(obj, MonthlySubmission):
        tier = REVIEW_STATUS.get(obj.status)
        if tier and obj.information_requests.filter(status=InformationRequest.Status.OPEN).exists():
            return {"who": "entity", "by": None, "why": "request for information"}
        if tier:
            return {"who": f"{tier}_regulator", "by": obj.review_due}
        if obj.status == MonthlySubmission.Status.RETURNED:
            return {"who": "entity", "by": None}
        return None
    if isinstance(obj, EarlyWarning):
        if obj.status in EarlyWarning.AWAITING_ENTITY:
            return {"who": "entity", "by": obj.due_date}
        if obj.status in EarlyWarning.OPEN:
            return {"who": f"{obj.tier}_regulator", "by": obj.due_date}
        return None
    if isinstance(obj, Verification):
        if obj.status == Verification.Status.IN_PROGRESS:
            return {"who": "verification_agency", "by": dt.date(obj.year + 1, 6, 30)}
        if obj.status == Verification.Status.SUBMITTED:
            states = {f.status for f in obj.findings.all()}
            if VerificationFinding.Status.OPEN in states:
                return {"who": "entity", "by": dt.date(obj.year + 1, 6, 30), "why": "findings to answer"}
            if VerificationFinding.Status.ANSWERED in states:
                return {"who": "verification_agency", "by": None, "why": "answered findings to close"}
            return {"who": "provincial_regulator", "by": dt.date(obj.year + 1, 6, 30)}
        if obj.status == Verification.Status.REVIEW_REQUESTED:
            return {"who": "provincial_regulator", "by": obj.review_decision_due}
        if obj.status == Verification.Status.DETERMINATION_OPEN:
            return {"who": "provincial_regulator", "by": dt.date(obj.year + 1, 6, 30)}
        if obj.status == Verification.Status.DETERMINATION_PENDING:
            return {"who": "second_regulator", "by": None}
    return None
