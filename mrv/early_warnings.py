"""Early warnings and their closed loop: rules run in batches, stored findings, transitions, escalation.

Warnings are computed by ``mrv.rules`` (pandas) over frames loaded in a few queries; one Celery job per
batch of submissions (on submission) or per year (nightly), never one task per row.
"""

import datetime as dt
from decimal import Decimal

import pandas as pd
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from cets.common.audit import audit_record
from cets.common.calendar import add_working_days
from cets.common.errors import Conflict, DomainError
from cets.common.jobs import job_create
from cets.common.locks import lock_rows
from entities.models import KeyEntity, Unit, User

from . import accounting, notify, rules
from .models import (
    AnnualReport,
    EarlyWarning,
    FuelRecord,
    MonthlySubmission,
    PlausibilityRange,
    Reminder,
    Severity,
    Tier,
    WarningEvent,
    WarningRule,
)
from .selectors import month_deadline
from .tiers import TIER_ORDER, local_today, require_tier, route_tiers


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


def warnings_run(*, submission_ids: list[int] | None = None, year: int | None = None,
                 today: dt.date | None = None) -> dict:
    """Run the enabled rules; store new findings as warnings (open duplicates are skipped).

    With ``submission_ids`` the frames cover the months of those submissions (peers and the previous
    month are needed for z-scores and jumps) and only findings on those submissions are kept. With
    ``year`` every current submission of the year is checked, plus missing months and annual totals.
    Returns ``{rule_code: new warnings}``.
    """
    today = today or local_today()
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
    tiers = route_tiers(entities)
    fingerprints = {}
    for code, (sub_id, unit_id, entity_id, year, month, message, details) in findings:
        fp = f"{code}:{entity_id}:{unit_id or '-'}:{year}:{month or '-'}"
        fingerprints.setdefault(fp, (code, sub_id, unit_id, entity_id, year, month, message, details))
    existing = set(EarlyWarning.objects.filter(fingerprint__in=list(fingerprints), status__in=EarlyWarning.OPEN)
                   .values_list("fingerprint", flat=True))
    due = {code: add_working_days(today, rule.rectify_working_days) for code, rule in enabled.items()}
    new = [EarlyWarning(rule=enabled[code], entity_id=entity_id, unit_id=unit_id, submission_id=sub_id, year=year,
                        month=month, fingerprint=fp, message=message[:500], details=details, tier=tiers[entity_id],
                        due_date=due[code], severity=enabled[code].severity)
           for fp, (code, sub_id, unit_id, entity_id, year, month, message, details) in fingerprints.items()
           if fp not in existing]
    with transaction.atomic():
        EarlyWarning.objects.bulk_create(new, batch_size=2000, ignore_conflicts=True)
        Reminder.objects.bulk_create([
            Reminder(kind=Reminder.Kind.WARNING, key=f"high:{w.fingerprint}:{today.isoformat()}", days_before=0,
                     entity_id=w.entity_id, due_date=w.due_date, recipient_tier=Tier.PROVINCIAL,
                     message=f"High severity: {w.message[:250]}")
            for w in new if w.severity == Severity.HIGH], batch_size=2000, ignore_conflicts=True)
    counts: dict[str, int] = {}
    for w in new:
        counts[w.rule.code] = counts.get(w.rule.code, 0) + 1
    return counts


TRANSITIONS = {
    EarlyWarning.Status.TRANSFERRED: {EarlyWarning.Status.DETECTED},
    EarlyWarning.Status.RECTIFICATION_REQUESTED: {EarlyWarning.Status.DETECTED, EarlyWarning.Status.TRANSFERRED,
                                                  EarlyWarning.Status.OVERDUE},
    EarlyWarning.Status.CHECKED: {EarlyWarning.Status.RECTIFIED},
    EarlyWarning.Status.CLOSED: {EarlyWarning.Status.CHECKED},
    EarlyWarning.Status.DISMISSED: set(EarlyWarning.OPEN),
}


@transaction.atomic
def warning_transition(*, actor: User, warning: EarlyWarning, to: str, comment: str = "",
                       today: dt.date | None = None) -> EarlyWarning:
    """Move a warning one step of the closed loop; the owning tier's regulator acts, closing needs a reason."""
    require_tier(actor, warning.entity, warning.tier)
    if to not in TRANSITIONS:
        raise DomainError(_("Unknown or entity-only step."), "invalid_choice", "to")
    if to in (EarlyWarning.Status.CLOSED, EarlyWarning.Status.DISMISSED) and not comment.strip():
        raise DomainError(_("Give the reason for closing or dismissing this warning."), "required", "comment")
    [warning] = lock_rows(EarlyWarning.objects.filter(pk=warning.pk))
    require_tier(actor, warning.entity, warning.tier)  # again under the lock: a transfer may just have moved it
    if warning.status not in TRANSITIONS[to]:
        raise Conflict(_("A warning that is %(s)s cannot move to %(t)s.") % {"s": warning.status, "t": to},
                       "invalid_transition", "to")
    before, before_tier = warning.status, warning.tier
    warning.status = to
    if to == EarlyWarning.Status.TRANSFERRED:  # the case goes to the tier above, which acts on it from now on
        if warning.tier == Tier.NATIONAL:
            raise Conflict(_("The national tier has no tier above to transfer to."), "no_higher_tier", "to")
        warning.tier = TIER_ORDER[TIER_ORDER.index(warning.tier) + 1]
        warning.due_date = add_working_days(today or local_today(), warning.rule.rectify_working_days)
    if to == EarlyWarning.Status.RECTIFICATION_REQUESTED:
        warning.due_date = add_working_days(today or local_today(), warning.rule.rectify_working_days)
    if to in (EarlyWarning.Status.CLOSED, EarlyWarning.Status.DISMISSED):
        warning.reason, warning.closed_at = comment, timezone.now()
    warning.save()
    WarningEvent.objects.create(warning=warning, from_status=before, to_status=to, actor=actor,
                                comment=comment if warning.tier == before_tier
                                else f"{comment} (to {warning.tier})".strip())
    if to == EarlyWarning.Status.RECTIFICATION_REQUESTED:
        notify.warning_rectification_requested(warning)
    audit_record(actor=actor, action="mrv.warning.transition", obj=warning,
                 before={"status": before, "tier": before_tier},
                 after={"status": to, "tier": warning.tier, "comment": comment})
    return warning


def warnings_mark_rectified(submissions: list[MonthlySubmission]) -> int:
    """A new version of a unit-month rectifies the warnings on it that asked for rectification."""
    count = 0
    for sub in submissions:
        open_ = EarlyWarning.objects.filter(unit_id=sub.unit_id, year=sub.year, month=sub.month,
                                            status__in=EarlyWarning.AWAITING_ENTITY)
        for warning in open_:
            WarningEvent.objects.create(warning=warning, from_status=warning.status,
                                        to_status=EarlyWarning.Status.RECTIFIED, actor=sub.submitted_by,
                                        comment=f"version {sub.version}")
        count += open_.update(status=EarlyWarning.Status.RECTIFIED, rectified_by=sub)
    return count


@transaction.atomic
def warnings_escalate(*, today: dt.date | None = None) -> int:
    """Overdue open warnings move one tier up with a fresh due date (periodic task); a rectification the entity
    left unanswered past its due date becomes ``OVERDUE`` first (at every tier, the nation's included)."""
    today = today or local_today()
    late = lock_rows(EarlyWarning.objects.filter(status=EarlyWarning.Status.RECTIFICATION_REQUESTED,
                                                 due_date__lt=today))
    WarningEvent.objects.bulk_create([
        WarningEvent(warning=w, from_status=w.status, to_status=EarlyWarning.Status.OVERDUE,
                     comment=f"unanswered after {w.due_date}") for w in late])
    EarlyWarning.objects.filter(pk__in=[w.pk for w in late]).update(status=EarlyWarning.Status.OVERDUE)
    if late:
        audit_record(actor=None, action="mrv.warning.overdue", object_type="mrv.earlywarning",
                     object_id=",".join(str(w.pk) for w in late[:50]), after={"count": len(late)})
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
