"""Writes of the mrv app: monthly submissions (one or in bulk), test reports, quality control plans,
annual reports. Every service is atomic, checks who may act, and writes its audit entry last.

Oversight lives in modules named by concern: ``tiers`` (who covers whom), ``early_warnings`` (the closed
loop), ``review`` (three tiers, requests for information, extensions), ``verification``, ``determination``
(conservative), ``agencies`` and ``deadlines`` (reminders, who acts next).
"""

import csv
import datetime as dt
import io
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from cets.common.audit import audit_record
from cets.common.calendar import add_working_days
from cets.common.errors import Conflict, DomainError, Forbidden, NotFound
from cets.common.locks import lock_rows
from entities.models import AgencyAssignment, KeyEntity, Unit, User

from . import sector_data
from .models import (
    AnnualReport,
    FuelRecord,
    Meter,
    MonthlySubmission,
    QualityControlPlan,
    SupportingFile,
    TestReport,
    Verification,
)
from .validation import Problem, prepare_rows

COPY_THRESHOLD = 500
MAX_SUPPORTING_FILE = 20 * 1024 * 1024  # below this, bulk_create is as fast and simpler to reason about


class InvalidRows(DomainError):
    """A batch had problems: ``problems`` lists every one (row index, field, rule); nothing was saved."""

    default_code = "invalid_rows"

    def __init__(self, problems: list[Problem]):
        first = problems[0]
        super().__init__(_("%(n)d problem(s) found; nothing was saved. First: %(m)s")
                         % {"n": len(problems), "m": first.message}, first.code, first.field)
        self.problems = problems


class UploadInvalid(DomainError):
    """An uploaded file had problems: ``errors`` lists each by sheet, row, column and rule; nothing saved."""

    default_code = "invalid_file"

    def __init__(self, errors: list[dict]):
        first = errors[0]
        where = f"{first.get('sheet') or ''} row {first.get('row')} column {first.get('column')}"
        super().__init__(_("%(n)d problem(s) in the file; nothing was saved. First: %(w)s: %(m)s")
                         % {"n": len(errors), "w": where, "m": first["message"]}, "invalid_file", first.get("column"))
        self.errors = errors


def _today() -> dt.date:
    return timezone.localdate()


def _require_entity_actor(actor: User, entity: KeyEntity) -> None:
    if actor.acting_entity_id != entity.pk:
        raise NotFound(_("No such entity among those you act for."), field="entity")


# ---- monthly submissions ----------------------------------------------------------------------------

@transaction.atomic
def submission_submit(*, actor: User, unit: Unit, year: int, month: int, fuels: list[dict] | None = None,
                      files: list | None = None, today: dt.date | None = None, **values) -> MonthlySubmission:
    """Record one unit's month; a resubmission becomes the next version and the old one is kept.

    A generating unit's month is its fuels and figures; another facility's month is its sector's key
    parameters, in ``inputs`` or as keyword values (``mrv.sector_data``)."""
    row = {"unit": unit, "year": year, "month": month, **values}
    if fuels is not None:
        row["fuels"] = fuels
    result = submissions_bulk_load(actor=actor, rows=[row], today=today, audit_each=True)
    submission = MonthlySubmission.objects.get(pk=result["ids"][0])
    for upload in files or []:
        SupportingFile.objects.create(submission=submission, file=upload, description=getattr(upload, "name", ""))
    return submission


def submissions_bulk_load(*, actor: User, rows: list[dict], today: dt.date | None = None,
                          submitted_at: dt.datetime | None = None, audit_each: bool = False,
                          run_rules: bool = True) -> dict:
    """Validate every row, then store all of them in one transaction, or nothing.

    Stored with COPY on PostgreSQL for large batches (see reference/PERFORMANCE.md: ~8x bulk_create),
    bulk_create otherwise. Earlier current versions of the same unit-months are locked, superseded and
    kept; the new rows are version + 1. One audit entry records the batch (``audit_each`` writes one per
    submission, for the single-submission door). ``run_rules=False`` skips the early-warning job for a
    historical load whose caller runs the nightly rules once at the end (demo, replay). Returns
    ``{"created", "superseded", "ids", "emissions_tco2"}``; raises ``InvalidRows`` listing every problem.
    """
    today = today or _today()
    prepared, problems = prepare_rows(actor, rows, today=today)
    if problems:
        raise InvalidRows(problems)
    if not prepared:
        raise DomainError(_("There are no rows to store."), "empty", "rows")
    submitted_at = submitted_at or timezone.now()
    try:
        with transaction.atomic():
            return submissions_store(actor, prepared, submitted_at, audit_each=audit_each, run_rules=run_rules)
    except IntegrityError as exc:
        raise Conflict(_("Another submission for the same unit and month was stored at the same time; "
                         "nothing was saved, please retry."), "concurrent_submission", "month") from exc


def submissions_store(actor, prepared, submitted_at, *, audit_each: bool = False, run_rules: bool = True) -> dict:
    """Store validated rows inside the caller's transaction (``submissions_bulk_load`` and an upload's
    confirmation, which checks its preview still holds under the same locks first)."""
    keys = {(p.unit.pk, p.year, p.month) for p in prepared}
    unit_ids = {k[0] for k in keys}
    years = {k[1] for k in keys}
    months = {k[2] for k in keys}
    candidates = MonthlySubmission.objects.filter(unit_id__in=unit_ids, year__in=years, month__in=months,
                                                  is_current=True)
    current = [s for s in lock_rows(candidates) if (s.unit_id, s.year, s.month) in keys]
    versions = {}
    if current:
        for row in (MonthlySubmission.objects.filter(unit_id__in={s.unit_id for s in current}, year__in=years,
                                                     month__in=months)
                    .values("unit_id", "year", "month").annotate(v=Max("version"))):
            versions[(row["unit_id"], row["year"], row["month"])] = row["v"]
        MonthlySubmission.objects.filter(pk__in=[s.pk for s in current]).update(
            is_current=False, status=MonthlySubmission.Status.SUPERSEDED)
    from .reviews import REVIEW_WORKING_DAYS, review_start_status

    start = review_start_status({p.unit.entity_id: p.unit.entity for p in prepared})
    review_due = add_working_days(timezone.localdate(submitted_at), REVIEW_WORKING_DAYS)
    subs = []
    for p in prepared:
        values = {k: (v if v is not None else Decimal(0)) for k, v in p.values.items()}
        values["load_factor"] = p.values.get("load_factor")
        if p.inputs is None:
            values.update(fuel_emissions_tco2=p.result.fuel_emissions_tco2, emissions_tco2=p.result.emissions_tco2,
                          indirect_emissions_tco2=p.result.indirect_emissions_tco2, fuel_heat_gj=p.result.fuel_heat_gj,
                          calculation=p.result.lines)
        else:
            values.update(sector_data.stored_fields(p.inputs, p.result))
        subs.append(MonthlySubmission(
            entity_id=p.unit.entity_id, unit=p.unit, year=p.year, month=p.month,
            version=versions.get((p.unit.pk, p.year, p.month), 0) + 1, is_current=True,
            status=start[p.unit.entity_id], **values, deadline=p.deadline, on_time=p.on_time, submitted_by=actor,
            submitted_at=submitted_at, note=p.note, review_due=review_due))
    if connection.vendor == "postgresql" and len(subs) >= COPY_THRESHOLD:
        ids = _copy_submissions(subs)
    else:
        MonthlySubmission.objects.bulk_create(subs, batch_size=2000)
        ids = [s.pk for s in subs]
    fuel_rows = []
    for sub_id, p in zip(ids, prepared, strict=True):
        for fuel, line in zip(p.fuels, p.result.lines, strict=False):
            fuel_rows.append(FuelRecord(
                submission_id=sub_id, fuel=fuel["fuel"], consumption=fuel["consumption"], ncv=fuel["ncv"],
                carbon_content=fuel["carbon_content"], oxidation_rate=fuel["oxidation_rate"],
                test_report=fuel["test_report"], emissions_tco2=Decimal(line["emissions_tco2"])))
    if connection.vendor == "postgresql" and len(fuel_rows) >= COPY_THRESHOLD:
        _copy_fuels(fuel_rows)
    else:
        FuelRecord.objects.bulk_create(fuel_rows, batch_size=2000)
    total = sum((s.emissions_tco2 for s in subs), Decimal(0))
    from .early_warnings import warnings_enqueue_for_submissions, warnings_mark_rectified

    if current:
        warnings_mark_rectified(subs)
    if run_rules:
        warnings_enqueue_for_submissions(ids)
    if audit_each:
        for sub, p in zip(subs, prepared, strict=True):
            audit_record(actor=actor, action="mrv.submission.submit", obj=sub, after={
                "unit": p.unit.code, "year": p.year, "month": p.month, "version": sub.version,
                "emissions_tco2": str(sub.emissions_tco2), "on_time": sub.on_time})
    else:
        audit_record(actor=actor, action="mrv.submission.bulk_load", object_type="mrv.monthlysubmission",
                     object_id=f"{min(ids)}-{max(ids)}", after={
                         "count": len(ids), "superseded": len(current), "emissions_tco2": str(total),
                         "periods": sorted({f"{p.year}-{p.month:02d}" for p in prepared})})
    return {"created": len(ids), "superseded": len(current), "ids": ids, "emissions_tco2": total}


SUB_COLUMNS = ["entity_id", "unit_id", "year", "month", "version", "is_current", "status",
               "electricity_generated_mwh", "electricity_supplied_mwh", "heat_supplied_gj", "operating_hours",
               "load_factor", "purchased_electricity_mwh", "fuel_emissions_tco2", "indirect_emissions_tco2",
               "emissions_tco2", "fuel_heat_gj", "calculation", "inputs", "output_t", "intensity_emissions_tco2",
               "intensity_output_t", "gases", "deadline", "on_time", "submitted_by_id",
               "submitted_at", "note", "review_due"]
FUEL_COLUMNS = ["submission_id", "fuel", "consumption", "ncv", "carbon_content", "oxidation_rate", "test_report_id",
                "emissions_tco2"]


def _copy(table: str, columns: list[str], rows, text_columns: tuple[str, ...] = ()) -> None:
    """COPY rows into ``table`` inside the current transaction (CSV: an empty field is NULL, except in
    ``text_columns``, where it is the empty string)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    buf.seek(0)
    with connection.cursor() as cur:
        not_null = f", FORCE_NOT_NULL ({', '.join(text_columns)})" if text_columns else ""
        cur.cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv{not_null})", buf)


def _copy_submissions(subs: list[MonthlySubmission]) -> list[int]:
    import json

    def cell(sub, name):
        value = getattr(sub, name)
        if name in ("calculation", "inputs", "gases"):
            return json.dumps(value, ensure_ascii=False)
        if isinstance(value, bool):
            return "t" if value else "f"
        if isinstance(value, dt.datetime):
            return value.isoformat()
        return value

    _copy(MonthlySubmission._meta.db_table, SUB_COLUMNS, ([cell(s, c) for c in SUB_COLUMNS] for s in subs),
          text_columns=("note",))
    keys = [(s.unit_id, s.year, s.month) for s in subs]
    found = {(u, y, m): pk for pk, u, y, m in MonthlySubmission.objects.filter(
        unit_id__in={k[0] for k in keys}, year__in={k[1] for k in keys}, month__in={k[2] for k in keys},
        is_current=True).values_list("pk", "unit_id", "year", "month")}
    ids = [found[k] for k in keys]
    for sub, pk in zip(subs, ids, strict=True):
        sub.pk = pk
    return ids


def _copy_fuels(rows: list[FuelRecord]) -> None:
    _copy(FuelRecord._meta.db_table, FUEL_COLUMNS, ([getattr(r, c) for c in FUEL_COLUMNS] for r in rows))


@transaction.atomic
def supporting_file_add(*, actor: User, submission: MonthlySubmission, upload, description: str = "") -> SupportingFile:
    """Attach a stamped ledger or other evidence to the entity's own submission."""
    _require_entity_actor(actor, submission.entity)
    if upload is None or not getattr(upload, "size", 0):
        raise DomainError(_("Attach a non-empty file."), "required", "file")
    if upload.size > MAX_SUPPORTING_FILE:
        raise DomainError(_("A supporting file may be at most 20 MB."), "too_large", "file")
    item = SupportingFile.objects.create(submission=submission, file=upload,
                                         description=(description or upload.name)[:200])
    audit_record(actor=actor, action="mrv.submission.file_add", obj=item,
                 after={"submission": submission.pk, "name": upload.name, "size": upload.size})
    return item


# ---- test reports ----------------------------------------------------------------------------------

@transaction.atomic
def test_report_create(*, actor: User, entity: KeyEntity, **fields) -> TestReport:
    """Register a laboratory report (needed before a measured carbon content can be submitted)."""
    _require_entity_actor(actor, entity)
    for name in ("number", "laboratory", "accreditation_number", "sample_id", "sample_date", "report_date"):
        if not fields.get(name):
            raise DomainError(_("This value is required."), "required", name)
    if fields["report_date"] < fields["sample_date"]:
        raise DomainError(_("The report cannot be dated before its sample."), "report_before_sample", "report_date")
    if fields["sample_date"] > _today():
        raise DomainError(_("The sample date is in the future."), "date_in_future", "sample_date")
    if TestReport.objects.filter(entity=entity, number=fields["number"]).exists():
        raise Conflict(_("A test report with this number is already registered."), "duplicate", "number")
    report = TestReport.objects.create(entity=entity, **fields)
    audit_record(actor=actor, action="mrv.test_report.create", obj=report,
                 after={"number": report.number, "sample_id": report.sample_id})
    return report


# ---- quality control plans -------------------------------------------------------------------------

@transaction.atomic
def qc_plan_submit(*, actor: User, entity: KeyEntity, year: int, parameters: list, meters: list[dict],
                   change_reason: str = "") -> QualityControlPlan:
    """Submit a plan or a change to it: a new version, awaiting the province's review."""
    _require_entity_actor(actor, entity)
    if not isinstance(parameters, list) or not parameters:
        raise DomainError(_("List the monitored parameters with their sources."), "required", "parameters")
    latest = lock_rows(QualityControlPlan.objects.filter(entity=entity, year=year))
    if latest and not change_reason:
        raise DomainError(_("A change to an existing plan needs a reason."), "required", "change_reason")
    version = max((p.version for p in latest), default=0) + 1
    plan = QualityControlPlan.objects.create(entity=entity, year=year, version=version, parameters=parameters,
                                             change_reason=change_reason, submitted_by=actor)
    units = {u.code: u for u in entity.units.all()}
    for index, item in enumerate(meters):
        code = item.get("unit")
        if code and code not in units:
            raise DomainError(_("No such unit of this entity."), "unknown_unit", f"meters[{index}].unit")
        accuracy = Decimal(str(item.get("required_accuracy", "")) or "-1")
        if not 0 <= accuracy <= 1:
            raise DomainError(_("Required accuracy is a fraction between 0 and 1."), "out_of_range",
                              f"meters[{index}].required_accuracy")
        if item.get("measures") not in Meter.Measures.values:
            raise DomainError(_("Unknown measured quantity."), "invalid_choice", f"meters[{index}].measures")
        Meter.objects.create(plan=plan, unit=units.get(code), measures=item["measures"],
                             serial=str(item.get("serial") or "")[:60], required_accuracy=accuracy,
                             calibrated_on=item.get("calibrated_on"), calibration_due=item.get("calibration_due"))
    audit_record(actor=actor, action="mrv.qc_plan.submit", obj=plan,
                 after={"year": year, "version": version, "meters": len(meters)})
    return plan


@transaction.atomic
def qc_plan_review(*, actor: User, plan: QualityControlPlan, approve: bool, comment: str = "") -> QualityControlPlan:
    """The entity's province approves or returns a plan version; approval supersedes the older ones."""
    if actor.role != User.Role.PROVINCIAL_REGULATOR or actor.province_id != plan.entity.province_id:
        raise Forbidden(_("Only the entity's provincial regulator reviews its quality control plan."))
    if not approve and not comment.strip():
        raise DomainError(_("Say why the plan is returned."), "required", "comment")
    [plan] = lock_rows(QualityControlPlan.objects.filter(pk=plan.pk))
    if plan.status != QualityControlPlan.Status.SUBMITTED:
        raise Conflict(_("This plan version was already reviewed."), "already_reviewed", "status")
    plan.status = QualityControlPlan.Status.APPROVED if approve else QualityControlPlan.Status.RETURNED
    plan.reviewed_by, plan.reviewed_at, plan.review_comment = actor, timezone.now(), comment
    plan.save()
    if approve:
        QualityControlPlan.objects.filter(entity=plan.entity, year=plan.year, status=QualityControlPlan.Status.APPROVED,
                                          ).exclude(pk=plan.pk).update(status=QualityControlPlan.Status.SUPERSEDED)
    audit_record(actor=actor, action="mrv.qc_plan.review", obj=plan, after={"status": plan.status, "comment": comment})
    return plan


# ---- annual reports --------------------------------------------------------------------------------

def annual_due_date(year: int) -> dt.date:
    return dt.date(year + 1, 3, 31)


@transaction.atomic
def annual_report_compile(*, actor: User, entity: KeyEntity, year: int) -> AnnualReport:
    """Compile the year from the current monthly versions (a new version each time; missing months listed).

    Per facility: emissions, months, power's generation, supply and heat, and for the other sectors' facilities
    their output and intensity inputs (a steel enterprise's figures are the enterprise's: it is one facility)."""
    _require_entity_actor(actor, entity)
    if dt.date(year, 12, 31) >= _today():
        raise DomainError(_("The year has not ended yet."), "year_not_ended", "year")
    subs = MonthlySubmission.objects.filter(entity=entity, year=year, is_current=True)
    per_unit: dict[int, dict] = {}
    have = set()
    for s in subs:
        row = per_unit.setdefault(s.unit_id, {"emissions": Decimal(0), "generated": Decimal(0),
                                              "supplied": Decimal(0), "heat": Decimal(0), "months": 0})
        row["emissions"] += s.emissions_tco2
        row["generated"] += s.electricity_generated_mwh
        row["supplied"] += s.electricity_supplied_mwh
        row["heat"] += s.heat_supplied_gj
        row["months"] += 1
        if s.output_t is not None:  # a non-power facility: its output and intensity inputs
            for key, value in (("output_t", s.output_t), ("intensity_emissions_tco2", s.intensity_emissions_tco2),
                               ("intensity_output_t", s.intensity_output_t)):
                row[key] = row.get(key, Decimal(0)) + (value or 0)
        have.add((s.unit_id, s.month))
    units = list(entity.units.order_by("code"))
    missing = [f"{u.code} {year}-{m:02d}" for u in units for m in range(1, 13) if (u.pk, m) not in have]
    unit_rows = [{"unit": u.code, "sector": u.sector_id, **{k: str(v) for k, v in per_unit.get(u.pk, {
        "emissions": 0, "generated": 0, "supplied": 0, "heat": 0, "months": 0}).items()}} for u in units]
    total = sum((r["emissions"] for r in per_unit.values()), Decimal(0))
    previous = lock_rows(AnnualReport.objects.filter(entity=entity, year=year))
    report = AnnualReport.objects.create(
        entity=entity, year=year, version=max((r.version for r in previous), default=0) + 1,
        emissions_tco2=total, units=unit_rows, months_missing=missing, due_date=annual_due_date(year),
        compiled_by=actor)
    audit_record(actor=actor, action="mrv.annual_report.compile", obj=report,
                 after={"emissions_tco2": str(total), "missing": len(missing)})
    return report


@transaction.atomic
def annual_report_submit(*, actor: User, report: AnnualReport) -> AnnualReport:
    """The entity submits a compiled report it has reviewed; it must cover every month of every unit."""
    _require_entity_actor(actor, report.entity)
    [report] = lock_rows(AnnualReport.objects.filter(pk=report.pk))
    if report.status != AnnualReport.Status.DRAFT:
        raise Conflict(_("This report version is not a draft."), "not_draft", "status")
    if report.months_missing:
        raise DomainError(_("Months are missing: %(m)s.") % {"m": ", ".join(report.months_missing[:12])},
                          "months_missing", "months_missing")
    submitted = AnnualReport.objects.filter(entity=report.entity, year=report.year,
                                            status=AnnualReport.Status.SUBMITTED)
    if submitted.exists() and _verification_started(report):
        raise Conflict(_("The agency has started verifying the submitted report: it returns the report for "
                         "correction before another version can be submitted."), "verification_started", "status")
    submitted.update(status=AnnualReport.Status.SUPERSEDED)
    report.status, report.submitted_at = AnnualReport.Status.SUBMITTED, timezone.now()
    report.save(update_fields=["status", "submitted_at"])
    audit_record(actor=actor, action="mrv.annual_report.submit", obj=report,
                 after={"emissions_tco2": str(report.emissions_tco2),
                        "late": report.submitted_at.date() > report.due_date})
    _close_case_opened_for_missing_report(actor, report)
    return report


def _verification_started(report: AnnualReport) -> bool:
    return Verification.objects.filter(entity_id=report.entity_id, year=report.year, started_at__isnull=False).exists()


@transaction.atomic
def annual_report_recall(*, actor: User, report: AnnualReport) -> AnnualReport:
    """The entity recalls its submitted annual report before the agency starts verifying it (afterwards only the
    agency can return it); it then compiles and submits a corrected version."""
    _require_entity_actor(actor, report.entity)
    [report] = lock_rows(AnnualReport.objects.filter(pk=report.pk))
    if report.status != AnnualReport.Status.SUBMITTED:
        raise Conflict(_("Only the submitted report can be recalled."), "not_submitted", "status")
    if _verification_started(report):
        raise Conflict(_("The agency has started verifying this report: ask it to return the report instead."),
                       "verification_started", "status")
    report.status = AnnualReport.Status.RECALLED
    report.save(update_fields=["status"])
    audit_record(actor=actor, action="mrv.annual_report.recall", obj=report,
                 before={"status": AnnualReport.Status.SUBMITTED}, after={"status": report.status})
    return report


def _close_case_opened_for_missing_report(actor: User, report: AnnualReport) -> None:
    """A late report corrects the failure that opened a conservative-determination case (Interim Regulations
    art. 24: ordered to correct, determined by the regulator only if not corrected): while the province has
    not yet proposed figures, the case closes and the year goes back to verification by the assigned agency.
    Once figures are proposed the determination goes on (the province may still withdraw it). The report
    stays recorded as late either way.
    """
    cases = lock_rows(Verification.objects.filter(entity=report.entity, year=report.year,
                                                  status=Verification.Status.DETERMINATION_OPEN))
    for case in cases:
        case.status, case.is_conservative, case.conservative_reason = Verification.Status.IN_PROGRESS, False, ""
        case.agency_id = case.agency_id or AgencyAssignment.objects.filter(
            entity=report.entity, year=report.year, status=AgencyAssignment.Status.ACTIVE,
        ).values_list("agency_id", flat=True).first()
        case.save(update_fields=["status", "is_conservative", "conservative_reason", "agency"])
        audit_record(actor=actor, action="mrv.verification.case_close", obj=case,
                     before={"status": Verification.Status.DETERMINATION_OPEN},
                     after={"status": case.status, "reason": f"annual report {report.year} submitted on "
                                                              f"{timezone.localdate(report.submitted_at)}"})
