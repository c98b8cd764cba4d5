"""Oversight writes: early warnings and their closed loop, three-tier review, verification, agency ratings.

Warnings are computed by ``mrv.rules`` (pandas) over frames loaded in a few queries; one Celery job per
batch of submissions (on submission) or per year (nightly), never one task per row.
"""

import datetime as dt
from decimal import Decimal

import pandas as pd
from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from cets.common.audit import audit_record
from cets.common.calendar import add_working_days, is_working_day, working_days_between
from cets.common.errors import Conflict, DomainError, Forbidden, NotFound
from cets.common.jobs import job_create
from cets.common.locks import lock_rows
from entities.models import AgencyAssignment, KeyEntity, Organisation, Unit, User

from . import accounting, notify, rules, sector_verification
from .models import (
    AgencyRating,
    AnnualReport,
    DeadlineExtension,
    EarlyWarning,
    FuelRecord,
    InformationRequest,
    MonthlySubmission,
    PlausibilityRange,
    Reminder,
    SubmissionReview,
    Tier,
    Verification,
    VerificationFinding,
    WarningEvent,
    WarningRule,
)
from .selectors import month_deadline

REVIEW_WORKING_DAYS = 10  # each tier's time to review a monthly submission (a setting of this platform)
TIER_ORDER = [Tier.MUNICIPAL, Tier.PROVINCIAL, Tier.NATIONAL]
ROLE_TIER = {User.Role.MUNICIPAL_REGULATOR: Tier.MUNICIPAL, User.Role.PROVINCIAL_REGULATOR: Tier.PROVINCIAL,
             User.Role.NATIONAL_REGULATOR: Tier.NATIONAL}


def _today() -> dt.date:
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


def _require_tier(user: User, entity: KeyEntity, tier: str) -> None:
    if ROLE_TIER.get(user.role) != tier or not regulator_covers(user, entity):
        raise Forbidden(_("This step belongs to the %(tier)s regulator of the entity.") % {"tier": tier},
                        field="tier")


# ---- early warnings ---------------------------------------------------------------------------------

def warnings_enqueue_for_submissions(ids: list[int]) -> None:
    """After commit, run the rules on newly stored submissions (one job for the whole batch)."""
    if ids:
        job_create(kind="mrv.warnings", params={"submission_ids": ids}, total=len(ids))


def _frames(submission_filter: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    cols = ["id", "unit_id", "entity_id", "year", "month", "on_time", "electricity_generated_mwh",
            "electricity_supplied_mwh", "heat_supplied_gj", "load_factor", "fuel_heat_gj", "emissions_tco2",
            "output_t", "intensity_emissions_tco2", "intensity_output_t", "inputs", "gases"]
    rows = list(MonthlySubmission.objects.filter(is_current=True, **submission_filter).values_list(*cols))
    subs = pd.DataFrame(rows, columns=cols)
    unit_ids = set(subs["unit_id"].tolist()) if not subs.empty else set()
    units = {u.pk: u for u in Unit.objects.filter(pk__in=unit_ids)}
    subs["is_chp"] = subs["unit_id"].map(lambda pk: units[pk].is_chp) if not subs.empty else []
    subs["main_fuel"] = subs["unit_id"].map(lambda pk: units[pk].main_fuel) if not subs.empty else []
    subs["sector"] = subs["unit_id"].map(lambda pk: units[pk].sector_id) if not subs.empty else []
    categories = {pk: u.category_for(None).category for pk, u in units.items()}
    subs["category"] = subs["unit_id"].map(categories) if not subs.empty else []
    for c in ["electricity_generated_mwh", "electricity_supplied_mwh", "heat_supplied_gj", "load_factor",
              "fuel_heat_gj", "emissions_tco2", "output_t", "intensity_emissions_tco2", "intensity_output_t"]:
        subs[c] = pd.to_numeric(subs[c], errors="coerce")
    fcols = ["submission_id", "submission__unit_id", "submission__entity_id", "submission__year",
             "submission__month", "fuel", "ncv", "carbon_content", "oxidation_rate", "test_report_id",
             "test_report__sample_date", "test_report__report_date", "test_report__ncv"]
    frows = list(FuelRecord.objects.filter(**{f"submission__{k}": v for k, v in submission_filter.items()},
                                           submission__is_current=True).values_list(*fcols))
    fuels = pd.DataFrame(frows, columns=["submission_id", "unit_id", "entity_id", "year", "month", "fuel", "ncv",
                                         "carbon_content", "oxidation_rate", "test_report_id", "sample_date",
                                         "report_date", "report_ncv"])
    fuels["fuel_class"] = fuels["fuel"].map(lambda f: accounting.FUELS.get(f, ("other",))[0])
    for c in ["ncv", "carbon_content", "oxidation_rate", "report_ncv"]:
        fuels[c] = pd.to_numeric(fuels[c], errors="coerce")
    # A measured carbon content comes with its sample's NCV in the test report: use it where none was reported.
    fuels["ncv"] = fuels["ncv"].fillna(fuels["report_ncv"])
    return subs, fuels


def _route(entities: dict[int, KeyEntity]) -> dict[int, str]:
    """The tier that owns each entity: its city if it has a municipal regulator, else province, else nation."""
    active = User.objects.filter(is_active=True)
    cities = set(active.filter(role=User.Role.MUNICIPAL_REGULATOR).values_list("city_id", flat=True))
    provinces = set(active.filter(role=User.Role.PROVINCIAL_REGULATOR).values_list("province_id", flat=True))
    return {pk: Tier.MUNICIPAL if e.city_id in cities else Tier.PROVINCIAL if e.province_id in provinces
            else Tier.NATIONAL for pk, e in entities.items()}


def warnings_run(*, submission_ids: list[int] | None = None, year: int | None = None,
                 today: dt.date | None = None) -> dict:
    """Run the enabled rules; store new findings as warnings (open duplicates are skipped).

    With ``submission_ids`` the frames cover the months of those submissions (peers and the previous
    month are needed for z-scores and jumps) and only findings on those submissions are kept. With
    ``year`` every current submission of the year is checked, plus missing months and annual totals.
    Returns ``{rule_code: new warnings}``.
    """
    today = today or _today()
    enabled = {r.code: r for r in WarningRule.objects.filter(enabled=True)}
    if submission_ids:
        periods = set(MonthlySubmission.objects.filter(pk__in=submission_ids).values_list("year", "month"))
        months = {(y, m) for y, m in periods} | {(y - (m == 1), (m - 2) % 12 + 1) for y, m in periods}
        subs_parts, fuel_parts = [], []
        for y, m in sorted(months):
            s, f = _frames({"year": y, "month": m})
            subs_parts.append(s)
            fuel_parts.append(f)
        subs, fuels = pd.concat(subs_parts, ignore_index=True), pd.concat(fuel_parts, ignore_index=True)
        keep = set(submission_ids)
    else:
        subs, fuels = _frames({"year": year})
        keep = None
    findings: list[tuple[str, tuple]] = []
    ranges: dict = {}
    for r in PlausibilityRange.objects.all():
        ranges.setdefault(r.parameter, {})[r.fuel] = (r.low, r.high)
    for code, fn in rules.RULES.items():
        if code in enabled and not subs.empty:
            for finding in fn(subs, fuels, {**(enabled[code].thresholds or {}), "_ranges": ranges}):
                if keep is None or finding[0] in keep:
                    findings.append((code, finding))
    if keep is None and year:
        findings += _missing_months(year, today, enabled)
        findings += _annual_mismatch(year, enabled)
    return _store_findings(findings, enabled, today)


def _missing_months(year: int, today: dt.date, enabled: dict) -> list:
    if "missing_month" not in enabled:
        return []
    due = [m for m in range(1, 13) if month_deadline(year, m) < today]
    if not due:
        return []
    have = set(MonthlySubmission.objects.filter(year=year, is_current=True).values_list("unit_id", "month"))
    units = Unit.objects.filter(entity__status=KeyEntity.Status.ACTIVE, status=Unit.Status.OPERATING).values_list(
        "pk", "entity_id")
    return [("missing_month", (None, uid, eid, year, m, f"No data for {year}-{m:02d} after its deadline "
                               f"{month_deadline(year, m)}.", {"deadline": month_deadline(year, m).isoformat()}))
            for uid, eid in units for m in due if (uid, m) not in have]


def _annual_mismatch(year: int, enabled: dict) -> list:
    if "annual_mismatch" not in enabled:
        return []
    sums = dict(MonthlySubmission.objects.filter(year=year, is_current=True).values("entity_id")
                .annotate(s=Sum("emissions_tco2")).values_list("entity_id", "s"))
    out = []
    for report in AnnualReport.objects.filter(year=year, status=AnnualReport.Status.SUBMITTED):
        months = sums.get(report.entity_id) or Decimal(0)
        if abs(months - report.emissions_tco2) > Decimal("0.001"):
            out.append(("annual_mismatch", (None, None, report.entity_id, year, None,
                                            f"Annual report {report.emissions_tco2} t differs from the months' sum "
                                            f"{months} t.", {"report": str(report.emissions_tco2),
                                                              "months": str(months)})))
    return out


def _store_findings(findings: list, enabled: dict, today: dt.date) -> dict:
    if not findings:
        return {}
    entity_ids = {f[1][2] for f in findings}
    entities = KeyEntity.objects.in_bulk(entity_ids)
    tiers = _route(entities)
    fingerprints = {}
    for code, (sub_id, unit_id, entity_id, year, month, message, details) in findings:
        fp = f"{code}:{entity_id}:{unit_id or '-'}:{year}:{month or '-'}"
        fingerprints.setdefault(fp, (code, sub_id, unit_id, entity_id, year, month, message, details))
    existing = set(EarlyWarning.objects.filter(fingerprint__in=list(fingerprints), status__in=EarlyWarning.OPEN)
                   .values_list("fingerprint", flat=True))
    due = {code: add_working_days(today, rule.rectify_working_days) for code, rule in enabled.items()}
    new = [EarlyWarning(rule=enabled[code], entity_id=entity_id, unit_id=unit_id, submission_id=sub_id, year=year,
                        month=month, fingerprint=fp, message=message[:500], details=details, tier=tiers[entity_id],
                        due_date=due[code])
           for fp, (code, sub_id, unit_id, entity_id, year, month, message, details) in fingerprints.items()
           if fp not in existing]
    with transaction.atomic():
        EarlyWarning.objects.bulk_create(new, batch_size=2000, ignore_conflicts=True)
    counts: dict[str, int] = {}
    for w in new:
        counts[w.rule.code] = counts.get(w.rule.code, 0) + 1
    return counts


TRANSITIONS = {
    EarlyWarning.Status.TRANSFERRED: {EarlyWarning.Status.DETECTED},
    EarlyWarning.Status.RECTIFICATION_REQUESTED: {EarlyWarning.Status.DETECTED, EarlyWarning.Status.TRANSFERRED},
    EarlyWarning.Status.CHECKED: {EarlyWarning.Status.RECTIFIED},
    EarlyWarning.Status.CLOSED: {EarlyWarning.Status.CHECKED},
    EarlyWarning.Status.DISMISSED: set(EarlyWarning.OPEN),
}


@transaction.atomic
def warning_transition(*, actor: User, warning: EarlyWarning, to: str, comment: str = "",
                       today: dt.date | None = None) -> EarlyWarning:
    """Move a warning one step of the closed loop; the owning tier's regulator acts, closing needs a reason."""
    _require_tier(actor, warning.entity, warning.tier)
    if to not in TRANSITIONS:
        raise DomainError(_("Unknown or entity-only step."), "invalid_choice", "to")
    if to in (EarlyWarning.Status.CLOSED, EarlyWarning.Status.DISMISSED) and not comment.strip():
        raise DomainError(_("Give the reason for closing or dismissing this warning."), "required", "comment")
    [warning] = lock_rows(EarlyWarning.objects.filter(pk=warning.pk))
    if warning.status not in TRANSITIONS[to]:
        raise Conflict(_("A warning that is %(s)s cannot move to %(t)s.") % {"s": warning.status, "t": to},
                       "invalid_transition", "to")
    before = warning.status
    warning.status = to
    if to == EarlyWarning.Status.RECTIFICATION_REQUESTED:
        warning.due_date = add_working_days(today or _today(), warning.rule.rectify_working_days)
    if to in (EarlyWarning.Status.CLOSED, EarlyWarning.Status.DISMISSED):
        warning.reason, warning.closed_at = comment, timezone.now()
    warning.save()
    WarningEvent.objects.create(warning=warning, from_status=before, to_status=to, actor=actor, comment=comment)
    if to == EarlyWarning.Status.RECTIFICATION_REQUESTED:
        notify.warning_rectification_requested(warning)
    audit_record(actor=actor, action="mrv.warning.transition", obj=warning, before={"status": before},
                 after={"status": to, "comment": comment})
    return warning


def warnings_mark_rectified(submissions: list[MonthlySubmission]) -> int:
    """A new version of a unit-month rectifies the warnings on it that asked for rectification."""
    count = 0
    for sub in submissions:
        open_ = EarlyWarning.objects.filter(unit_id=sub.unit_id, year=sub.year, month=sub.month,
                                            status=EarlyWarning.Status.RECTIFICATION_REQUESTED)
        for warning in open_:
            WarningEvent.objects.create(warning=warning, from_status=warning.status,
                                        to_status=EarlyWarning.Status.RECTIFIED, actor=sub.submitted_by,
                                        comment=f"version {sub.version}")
        count += open_.update(status=EarlyWarning.Status.RECTIFIED, rectified_by=sub)
    return count


@transaction.atomic
def warnings_escalate(*, today: dt.date | None = None) -> int:
    """Overdue open warnings move one tier up with a fresh due date (periodic task)."""
    today = today or _today()
    overdue = lock_rows(EarlyWarning.objects.filter(status__in=EarlyWarning.OPEN, due_date__lt=today)
                        .exclude(tier=Tier.NATIONAL).select_related("rule"))
    for warning in overdue:
        before = warning.tier
        warning.tier = TIER_ORDER[TIER_ORDER.index(warning.tier) + 1]
        warning.escalations += 1
        warning.due_date = add_working_days(today, warning.rule.rectify_working_days)
        warning.save(update_fields=["tier", "escalations", "due_date"])
        WarningEvent.objects.create(warning=warning, from_status=warning.status, to_status=warning.status,
                                    comment=f"escalated {before} -> {warning.tier} (overdue)")
    if overdue:
        audit_record(actor=None, action="mrv.warning.escalate", object_type="mrv.earlywarning",
                     object_id=",".join(str(w.pk) for w in overdue[:50]), after={"count": len(overdue)})
    return len(overdue)


# ---- three-tier review ------------------------------------------------------------------------------

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
    return {pk: tier_status[tier] for pk, tier in _route(entities).items()}


@transaction.atomic
def submission_review(*, actor: User, submission: MonthlySubmission, accept: bool,
                      comment: str = "") -> MonthlySubmission:
    """The tier whose turn it is accepts (passing it up) or returns the submission with comments."""
    [submission] = lock_rows(MonthlySubmission.objects.filter(pk=submission.pk))
    tier = REVIEW_STATUS.get(submission.status)
    if tier is None:
        raise Conflict(_("This submission is not awaiting review."), "not_in_review", "status")
    _require_tier(actor, submission.entity, tier)
    if not accept and not comment.strip():
        raise DomainError(_("Say what must be corrected."), "required", "comment")
    before = submission.status
    SubmissionReview.objects.create(submission=submission, tier=tier, reviewer=actor, comment=comment,
                                    decision=SubmissionReview.Decision.ACCEPTED if accept
                                    else SubmissionReview.Decision.RETURNED)
    submission.status = NEXT_STATUS[tier] if accept else MonthlySubmission.Status.RETURNED
    submission.review_due = (add_working_days(_today(), REVIEW_WORKING_DAYS)
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
    today = today or _today()
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
    _require_tier(actor, submission.entity, tier)
    if not question.strip():
        raise DomainError(_("Say what information is needed."), "required", "question")
    if submission.information_requests.filter(status=InformationRequest.Status.OPEN).exists():
        raise Conflict(_("A request for information is already waiting for the entity."), "already_open",
                       "question")
    rfi = InformationRequest.objects.create(submission=submission, tier=tier, question=question, asked_by=actor,
                                            asked_on=today or _today())
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
    today = today or _today()
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
        _require_tier(actor, submission.entity, tier)
        pending = submission.extensions.filter(status=DeadlineExtension.Status.PENDING)
    elif verification is not None:
        _province_of(actor, verification.entity)
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
        sub.review_due = add_working_days(sub.review_due or _today(), extension.working_days)
        sub.save(update_fields=["review_due"])
    elif grant:
        verification = extension.verification
        verification.review_decision_due = add_working_days(verification.review_decision_due or _today(),
                                                            extension.working_days)
        verification.save(update_fields=["review_decision_due"])
    audit_record(actor=actor, action="mrv.extension.decide", obj=extension, after={"status": extension.status})
    return extension


# ---- verification -----------------------------------------------------------------------------------

VERIFIED_FIELDS = ["electricity_generated_mwh", "electricity_supplied_mwh", "heat_supplied_gj", "load_factor",
                   "heat_supply_ratio", "emissions_tco2"]


def _unit_values(entity: KeyEntity, unit_values: list[dict], year: int) -> list[dict]:
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


@transaction.atomic
def verification_submit(*, actor: User, entity: KeyEntity, year: int, unit_values: list[dict],
                        findings: list | None = None, report_file=None) -> Verification:
    """The assigned agency uploads its report with verified values per unit (resubmittable until confirmed)."""
    if actor.role != User.Role.VERIFIER or not AgencyAssignment.objects.filter(
            entity=entity, year=year, agency_id=actor.organisation_id).exists():
        raise NotFound(_("No such assignment for your agency."), field="entity")
    values = _unit_values(entity, unit_values, year)
    verification, _created = Verification.objects.get_or_create(entity=entity, year=year,
                                                                defaults={"agency_id": actor.organisation_id})
    [verification] = lock_rows(Verification.objects.filter(pk=verification.pk))
    if verification.status in (Verification.Status.CONFIRMED, Verification.Status.REVIEW_REQUESTED):
        raise Conflict(_("The province has already confirmed this verification."), "already_confirmed", "status")
    if verification.status in (Verification.Status.DETERMINATION_OPEN, Verification.Status.DETERMINATION_PENDING):
        raise Conflict(_("The province is determining this year's emissions conservatively."),
                       "determination_in_progress", "status")
    texts = [str(t).strip() for t in findings or [] if str(t).strip()]
    for index, text in enumerate(texts):
        if len(text) > 1000:
            raise DomainError(_("A finding may be at most 1000 characters."), "too_long", f"findings[{index}]")
    sector_verification.store(verification, values)
    _replace_findings(verification, texts)
    verification.agency_id = actor.organisation_id
    verification.status = Verification.Status.SUBMITTED
    verification.submitted_by, verification.submitted_at = actor, timezone.now()
    if report_file is not None:
        verification.report_file = report_file
    verification.save()
    audit_record(actor=actor, action="mrv.verification.submit", obj=verification,
                 after={"emissions_tco2": str(verification.verified_emissions_tco2), "units": len(values)})
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


def _province_of(actor: User, entity: KeyEntity) -> None:
    if actor.role != User.Role.PROVINCIAL_REGULATOR or actor.province_id != entity.province_id:
        raise Forbidden(_("Only the entity's provincial regulator may do this."))


@transaction.atomic
def verification_confirm(*, actor: User, verification: Verification, today: dt.date | None = None) -> Verification:
    """The province confirms verified emissions once; the entity may ask for a review within 7 working days."""
    _province_of(actor, verification.entity)
    [verification] = lock_rows(Verification.objects.filter(pk=verification.pk))
    if verification.status == Verification.Status.CONFIRMED:
        raise Conflict(_("Verified emissions are already confirmed."), "already_confirmed", "status")
    if verification.status != Verification.Status.SUBMITTED:
        raise Conflict(_("The agency has not submitted its report."), "not_submitted", "status")
    unclosed = verification.findings.exclude(status=VerificationFinding.Status.CLOSED).count()
    if unclosed:
        raise Conflict(_("%(n)d finding(s) are not closed: the entity answers them and the agency closes them "
                         "before the province confirms.") % {"n": unclosed}, "open_findings", "findings")
    today = today or _today()
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
    today = today or _today()
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
    _province_of(actor, verification.entity)
    [verification] = lock_rows(Verification.objects.filter(pk=verification.pk))
    if verification.status != Verification.Status.REVIEW_REQUESTED:
        raise Conflict(_("No review is pending."), "no_review", "status")
    before = str(verification.verified_emissions_tco2)
    if unit_values:
        sector_verification.store(verification, _unit_values(verification.entity, unit_values, verification.year))
    verification.status = Verification.Status.CONFIRMED
    verification.review_deadline = None
    verification.save()
    audit_record(actor=actor, action="mrv.verification.decide_review", obj=verification,
                 before={"emissions_tco2": before},
                 after={"emissions_tco2": str(verification.verified_emissions_tco2), "comment": comment})
    return verification


@transaction.atomic
def verification_determine(*, actor: User, entity: KeyEntity, year: int, unit_values: list[dict],
                           reason: str) -> Verification:
    """Where data are missing or false the province proposes conservative emissions, recorded as such.

    The proposal is a case of its own: it becomes the verified figure only when a second regulator (never
    the one who proposed it) approves it with ``verification_determination_approve``.
    """
    _province_of(actor, entity)
    if not reason.strip():
        raise DomainError(_("Say which data were missing or false."), "required", "reason")
    values = _unit_values(entity, unit_values, year)
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
    today = today or _today()
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
    verification.review_deadline = add_working_days(today or _today(), 7)
    verification.save()
    audit_record(actor=actor, action="mrv.verification.determination_approve", obj=verification,
                 after={"emissions_tco2": str(verification.verified_emissions_tco2)})
    return verification


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


# ---- reminders --------------------------------------------------------------------------------------

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
    today = today or _today()
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
            to_entity = warning.status == EarlyWarning.Status.RECTIFICATION_REQUESTED
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
        if obj.status == EarlyWarning.Status.RECTIFICATION_REQUESTED:
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
