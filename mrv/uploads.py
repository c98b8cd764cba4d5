"""Uploads of the monthly template: a preview first, stored only on confirmation, never destroying data.

Both doors (portal and API) call these three services, so they behave the same:

- ``upload_preview`` reads the file and stores nothing but a ``SubmissionUpload``: the merged unit-months,
  the current versions they were compared with, and the before/after of every change.
- ``upload_confirm`` stores them, if and only if every compared version is still the current one in the
  same state (checked under the row locks the store takes); otherwise the upload turns ``stale`` and
  nothing changes: the user uploads again and sees the changes against the new data.
- ``upload_discard`` drops a preview.

Rules (issue 14 point 4):

- A blank cell (empty, spaces, NaN) is "not provided", never zero; 0 is a value. A unit-month with no
  figures changes nothing; a file without any figure is refused.
- A month with a current version changes only where the file carries values: blank cells keep the
  current values; fuels merge by fuel name (a fuel the file does not mention is kept; to record that a
  fuel was not burnt, enter consumption 0). A month whose merged values equal the current ones changes
  nothing: no new version, no new status, no new on-time flag.
- A month without data yet needs every unit-level figure but the load factor (blank is not zero).
- State rules: a changed month becomes a new version that enters review at the first tier, as every
  resubmission does (``mrv.services``), and is on time only if stored within the month's 40-day deadline;
  the preview shows both. A month locked for review cannot be changed by an upload: one whose current
  version a tier has already accepted while the review goes on (provincial or national review), or that has
  a request for information waiting for the entity's answer. The entity answers, or asks the reviewing tier
  to return the month (a return reopens it), as the three-tier review expects. A returned month, an
  accepted month (a correction re-enters review) and a month no tier has decided yet may be changed.
- A month with generation above zero and zero emissions is flagged in the preview and, once stored, raises
  the ``generation_without_emissions`` early warning.

A preview can be confirmed for ``PREVIEW_VALID_FOR`` (a day): deadlines and on-time flags are computed
when it is made.
"""

import datetime as dt
import hashlib
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cets.common.audit import audit_record
from cets.common.errors import Conflict, DomainError, NotFound
from cets.common.locks import lock_rows
from entities.models import Unit, User

from . import sector_spreadsheet, spreadsheet
from .models import InformationRequest, MonthlySubmission, SubmissionReview, SubmissionUpload
from .reviews import review_start_status
from .services import InvalidRows, UploadInvalid, submissions_store
from .validation import FUEL_FIELDS, prepare_rows

PREVIEW_VALID_FOR = dt.timedelta(days=1)
# Unit-level figures a month without data must carry (the load factor may stay blank, as in the model).
REQUIRED_FOR_NEW_MONTH = [c for c in spreadsheet.UNIT_COLUMNS if c != "load_factor"]
LOCKED_STATUSES = {MonthlySubmission.Status.PROVINCIAL_REVIEW, MonthlySubmission.Status.NATIONAL_REVIEW}


def _today() -> dt.date:
    return timezone.localdate()


def _text(value) -> str | None:
    return None if value is None else str(value)


def _int_or_none(value) -> int | None:
    try:
        return int(Decimal(str(value).strip()))
    except (InvalidOperation, ValueError, TypeError):
        return None


def upload_scope(actor: User) -> int | None:
    """The entity an actor uploads for; national regulators (legacy loads) upload for any entity (None)."""
    if actor.acting_entity_id:
        return actor.acting_entity_id
    if actor.is_superuser or actor.role == User.Role.NATIONAL_REGULATOR:
        return None
    raise NotFound(_("Uploads are made by users acting for an entity."), field="entity")


def _require_party(actor: User, upload: SubmissionUpload) -> None:
    """Only the entity the upload belongs to (any of its users) decides it; a national load, its author."""
    if upload.entity_id is not None:
        allowed = actor.acting_entity_id == upload.entity_id
    else:
        allowed = actor.pk == upload.created_by_id
    if not allowed:
        raise NotFound(_("No such upload."), field="upload")


# ---- reading and merging ------------------------------------------------------------------------------

def _current_versions(rows: list[dict], units: dict[str, Unit]) -> dict[tuple, MonthlySubmission]:
    keys = {(units[r["unit_code"]].pk, _int_or_none(r["year"]), _int_or_none(r["month"]))
            for r in rows if r["unit_code"] in units}
    if not keys:
        return {}
    subs = MonthlySubmission.objects.filter(
        is_current=True, unit_id__in={k[0] for k in keys}, year__in={k[1] for k in keys},
        month__in={k[2] for k in keys}).prefetch_related("fuels")
    return {(s.unit_id, s.year, s.month): s for s in subs if (s.unit_id, s.year, s.month) in keys}


def _merge(row: dict, sub: MonthlySubmission) -> dict:
    """The file's row over the current version: a blank cell keeps the current value."""
    merged = {"unit_code": row["unit_code"], "year": row["year"], "month": row["month"],
              "note": row["note"] or sub.note}
    for column in spreadsheet.UNIT_COLUMNS:
        merged[column] = row[column] if row[column] != "" else getattr(sub, column)
    existing = [{"fuel": f.fuel, "test_report_id": f.test_report_id, **{c: getattr(f, c) for c in FUEL_FIELDS}}
                for f in sorted(sub.fuels.all(), key=lambda f: f.pk)]
    fuels = []
    for item in row["fuels"]:
        name = item["fuel"] or (existing[0]["fuel"] if len(existing) == 1 else None)
        match = next((f for f in existing if f["fuel"] == name), None)
        if match is None:
            fuels.append(item)
            continue
        existing.remove(match)
        for column in FUEL_FIELDS:
            if item[column] is not None:
                match[column] = item[column]
        if item["test_report"]:
            match.pop("test_report_id")
            match["test_report"] = item["test_report"]
        fuels.append(match)
    merged["fuels"] = fuels + existing  # the file's fuels first, so problems point at the file's rows
    return merged


def _fuel_tuples(fuels) -> dict[str, tuple]:
    return {f["fuel"]: tuple(f[c] for c in FUEL_FIELDS) + (f["test_report"],) for f in fuels}


def _differences(sub: MonthlySubmission | None, prepared) -> list[dict]:
    """Every field whose value differs between the current version (None: no data yet) and the prepared row."""
    if sub is None:
        return ([{"field": c, "before": None, "after": _text(prepared.values[c])} for c in spreadsheet.UNIT_COLUMNS]
                + [{"field": f"{f['fuel']}.{c}", "before": None, "after": _text(f[c])}
                   for f in prepared.fuels for c in FUEL_FIELDS if f[c] is not None])
    out = []
    for column in spreadsheet.UNIT_COLUMNS:
        before, after = getattr(sub, column), prepared.values[column]
        if before != after:
            out.append({"field": column, "before": _text(before), "after": _text(after)})
    before_fuels = _fuel_tuples([{"fuel": f.fuel, "test_report": f.test_report_id,
                                  **{c: getattr(f, c) for c in FUEL_FIELDS}} for f in sub.fuels.all()])
    after_fuels = _fuel_tuples([{**f, "test_report": f["test_report"].pk if f["test_report"] else None}
                                for f in prepared.fuels])
    names = list(FUEL_FIELDS) + ["test_report"]
    for fuel in sorted(set(before_fuels) | set(after_fuels)):
        old, new = before_fuels.get(fuel, (None,) * len(names)), after_fuels.get(fuel, (None,) * len(names))
        for name, a, b in zip(names, old, new, strict=True):
            if a != b:
                out.append({"field": f"{fuel}.{name}", "before": _text(a), "after": _text(b)})
    if sub.note != prepared.note:
        out.append({"field": "note", "before": sub.note, "after": prepared.note})
    return out


def _serialise(prepared) -> dict:
    """A prepared row as JSON ``prepare_rows`` takes back at confirmation (numbers as exact strings)."""
    return {"unit_id": prepared.unit.pk, "year": prepared.year, "month": prepared.month, "note": prepared.note,
            **{c: _text(v) for c, v in prepared.values.items()},
            "fuels": [{"fuel": f["fuel"], **{c: _text(f[c]) for c in FUEL_FIELDS},
                       "test_report_id": f["test_report"].pk if f["test_report"] else None} for f in prepared.fuels]}


class POWER:
    """The generating units' template: unit-level figures and one row per fuel."""

    frame_rows = staticmethod(spreadsheet.frame_rows)
    merge = staticmethod(_merge)
    differences = staticmethod(_differences)
    serialise = staticmethod(_serialise)
    problems_to_errors = staticmethod(spreadsheet.problems_to_errors)

    @staticmethod
    def required(row: dict) -> list[str]:
        return [c for c in REQUIRED_FOR_NEW_MONTH if row[c] == ""]


class SECTOR:
    """Another sector's template (``mrv.sector_spreadsheet``): its key parameters, one row per list item. A
    month without data needs what the sector requires, which the sector module names when missing."""

    frame_rows = staticmethod(sector_spreadsheet.frame_rows)
    merge = staticmethod(sector_spreadsheet.merge)
    problems_to_errors = staticmethod(sector_spreadsheet.problems_to_errors)

    @staticmethod
    def required(row: dict) -> list[str]:
        return []

    @staticmethod
    def differences(sub: MonthlySubmission | None, prepared) -> list[dict]:
        out = sector_spreadsheet.differences(sub.inputs if sub is not None else {}, prepared.inputs)
        if sub is not None and sub.note != prepared.note:
            out.append({"field": "note", "before": sub.note, "after": prepared.note})
        return out

    @staticmethod
    def serialise(prepared) -> dict:
        return {"unit_id": prepared.unit.pk, "year": prepared.year, "month": prepared.month, "note": prepared.note,
                "inputs": prepared.inputs}


def _locked_ids(sub_ids: list[int]) -> set[int]:
    """Current versions locked for review: accepted by a tier and still in review, or a question open."""
    accepted = set(SubmissionReview.objects.filter(submission_id__in=sub_ids,
                                                   decision=SubmissionReview.Decision.ACCEPTED)
                   .values_list("submission_id", flat=True))
    asked = set(InformationRequest.objects.filter(submission_id__in=sub_ids, status=InformationRequest.Status.OPEN)
                .values_list("submission_id", flat=True))
    return asked | {pk for pk, status in MonthlySubmission.objects.filter(pk__in=accepted).values_list("pk", "status")
                    if status in LOCKED_STATUSES}


def _generation_without_emissions(prepared) -> bool:
    return (prepared.values.get("electricity_generated_mwh") or 0) > 0 and prepared.result.emissions_tco2 == 0


def upload_preview(*, actor: User, content: bytes, filename: str, today: dt.date | None = None) -> SubmissionUpload:
    """Read a filled template and record what it would change; nothing is stored in the monthly data.

    Raises ``UploadInvalid`` listing every problem by sheet, row and column (a wholly blank file, a blank
    figure of a month without data, a change to a month locked for review, and every validation rule), or
    ``DomainError(code="no_changes")`` when every value equals the data already recorded.
    """
    today = today or _today()
    entity_id = upload_scope(actor)
    try:
        frame, sheet = spreadsheet.read_frame(content, filename)
    except spreadsheet.SpreadsheetInvalid as exc:
        raise UploadInvalid(exc.errors) from exc
    layout = SECTOR if sector_spreadsheet.is_sector_frame(frame.columns) else POWER
    rows, origin, errors, blank = layout.frame_rows(frame)
    for error in errors:
        error["sheet"] = sheet
    if not rows:
        raise UploadInvalid(errors or [{
            "sheet": sheet, "row": None, "column": None, "rule": "empty",
            "message": _("The file carries no values: every data row is blank. A blank cell means \"not "
                         "provided\", so nothing would change; enter the figures (0 where a figure is zero).")}])
    units_qs = Unit.objects.filter(code__in={r["unit_code"] for r in rows})
    units = {u.code: u for u in (units_qs.filter(entity_id=entity_id) if entity_id else units_qs)}
    current = _current_versions(rows, units)
    merged = []
    for index, row in enumerate(rows):
        unit = units.get(row["unit_code"])
        sub = current.get((unit.pk, _int_or_none(row["year"]), _int_or_none(row["month"]))) if unit else None
        if sub is not None:
            merged.append(layout.merge(row, sub))
            continue
        merged.append(row)
        for column in layout.required(row):
            errors.append({"sheet": sheet, "row": origin[index][0], "column": column, "rule": "required",
                           "message": _("This month has no data yet and a blank cell is not zero: enter the "
                                        "figure (0 if there is none).")})
    prepared, problems = prepare_rows(actor, merged, today=today)
    errors += layout.problems_to_errors(problems, origin, sheet)
    if errors:
        raise UploadInvalid(sorted(errors, key=lambda e: (e["row"] or 0, e["column"] or "")))
    entities = {p.unit.entity_id: p.unit.entity for p in prepared}
    start = review_start_status(entities)
    locked = _locked_ids([s.pk for s in current.values()])
    changes, keep, baseline = [], [], []
    for index, p in enumerate(prepared):
        sub = current.get((p.unit.pk, p.year, p.month))
        fields = layout.differences(sub, p)
        if not fields:
            continue
        if sub is not None and sub.pk in locked:
            errors.append({"sheet": sheet, "row": origin[index][0], "column": fields[0]["field"].split(".")[-1],
                           "rule": "month_in_review",
                           "message": _("%(u)s %(y)d-%(m)02d is locked for review (%(s)s); answer the question or "
                                        "ask the reviewer to return it before changing it.")
                           % {"u": p.unit.code, "y": p.year, "m": p.month, "s": sub.get_status_display()}})
            continue
        emissions_before = sub.emissions_tco2 if sub is not None else None
        if emissions_before != p.result.emissions_tco2:
            fields.append({"field": "emissions_tco2", "before": _text(emissions_before),
                           "after": _text(p.result.emissions_tco2)})
        warnings = [_("Electricity generated but zero emissions: check the fuel data.")] if (
            _generation_without_emissions(p)) else []
        changes.append({"row": origin[index][0], "unit": p.unit.code, "unit_id": p.unit.pk, "year": p.year,
                        "month": p.month, "action": "update" if sub is not None else "create",
                        "version_before": sub.version if sub is not None else None,
                        "status_before": sub.status if sub is not None else None,
                        "status_after": start[p.unit.entity_id],
                        "on_time_before": sub.on_time if sub is not None else None, "on_time_after": p.on_time,
                        "deadline": p.deadline.isoformat(), "fields": fields, "warnings": warnings})
        keep.append(layout.serialise(p))
        baseline.append([p.unit.pk, p.year, p.month, sub.pk if sub is not None else None,
                         sub.status if sub is not None else None])
    if errors:
        raise UploadInvalid(errors)
    if not changes:
        raise DomainError(_("The file changes nothing: every value it carries equals the data already recorded."),
                          "no_changes", "file")
    summary = {"rows": len(rows) + len(blank), "blank_rows": len(blank), "unchanged": len(rows) - len(changes),
               "created": sum(c["action"] == "create" for c in changes),
               "updated": sum(c["action"] == "update" for c in changes),
               "warnings": sum(bool(c["warnings"]) for c in changes)}
    with transaction.atomic():
        upload = SubmissionUpload.objects.create(
            entity_id=entity_id, created_by=actor, filename=(filename or "")[:200],
            sha256=hashlib.sha256(content).hexdigest(), rows=keep, baseline=baseline, changes=changes,
            summary=summary)
        audit_record(actor=actor, action="mrv.upload.preview", obj=upload,
                     after={"filename": upload.filename, "sha256": upload.sha256, **summary})
    return upload


# ---- deciding ------------------------------------------------------------------------------------------

def _changed_since_preview(upload: SubmissionUpload) -> list[str]:
    """Lock the current versions the preview compared with; name the unit-months no longer as they were."""
    expected = {(u, y, m): (pk, status) for u, y, m, pk, status in upload.baseline}
    candidates = MonthlySubmission.objects.filter(
        is_current=True, unit_id__in={k[0] for k in expected}, year__in={k[1] for k in expected},
        month__in={k[2] for k in expected})
    now = {(s.unit_id, s.year, s.month): (s.pk, s.status) for s in lock_rows(candidates)
           if (s.unit_id, s.year, s.month) in expected}
    asked = set(InformationRequest.objects.filter(submission_id__in=[v[0] for v in now.values()],
                                                  status=InformationRequest.Status.OPEN)
                .values_list("submission_id", flat=True))
    codes = dict(Unit.objects.filter(pk__in={k[0] for k in expected}).values_list("pk", "code"))
    return [f"{codes[u]} {y}-{m:02d}" for (u, y, m), was in sorted(expected.items())
            if now.get((u, y, m), (None, None)) != tuple(was) or (was[0] is not None and was[0] in asked)]


def _lock_previewed(actor: User, upload: SubmissionUpload) -> SubmissionUpload:
    _require_party(actor, upload)
    [upload] = lock_rows(SubmissionUpload.objects.filter(pk=upload.pk))
    if upload.status != SubmissionUpload.Status.PREVIEWED:
        raise Conflict(_("This upload was already %(s)s.") % {"s": upload.get_status_display().lower()},
                       "upload_decided", "status")
    return upload


def upload_confirm(*, actor: User, upload: SubmissionUpload, today: dt.date | None = None) -> SubmissionUpload:
    """Store a previewed upload exactly as previewed, or refuse and change nothing.

    Refused with ``Conflict(code="changed_since_preview")`` (the upload turns ``stale``) when any month it
    changes got a new version, changed state (a review decision, a return) or an open question since the
    preview; ``preview_expired`` after ``PREVIEW_VALID_FOR``; ``upload_decided`` when already decided.
    """
    today = today or _today()
    stale: list[str] = []
    try:
        with transaction.atomic():
            upload = _lock_previewed(actor, upload)
            if timezone.now() - upload.created_at > PREVIEW_VALID_FOR:
                raise Conflict(_("This preview is more than a day old; upload the file again."),
                               "preview_expired", "upload")
            stale = _changed_since_preview(upload)
            if stale:
                upload.status = SubmissionUpload.Status.STALE
            else:
                prepared, problems = prepare_rows(actor, upload.rows, today=today)
                if problems:
                    raise InvalidRows(problems)
                result = submissions_store(actor, prepared, timezone.now())
                upload.status = SubmissionUpload.Status.CONFIRMED
                upload.result = {"created": result["created"], "superseded": result["superseded"],
                                 "ids": result["ids"], "emissions_tco2": str(result["emissions_tco2"])}
            upload.decided_by, upload.decided_at = actor, timezone.now()
            upload.save(update_fields=["status", "result", "decided_by", "decided_at"])
            audit_record(actor=actor, action="mrv.upload.confirm" if not stale else "mrv.upload.stale", obj=upload,
                         before={"status": SubmissionUpload.Status.PREVIEWED},
                         after={"status": upload.status, "changed_since_preview": stale[:50],
                                **({"created": upload.result["created"]} if upload.result else {})})
    except IntegrityError as exc:
        raise Conflict(_("Another submission for the same unit and month was stored at the same time; "
                         "nothing was saved, please upload again."), "changed_since_preview", "upload") from exc
    if stale:
        raise Conflict(_("%(n)d unit-month(s) changed after the preview (%(list)s); nothing was saved. Upload "
                         "the file again to see its changes against the current data.")
                       % {"n": len(stale), "list": ", ".join(stale[:12])}, "changed_since_preview", "upload")
    return upload


@transaction.atomic
def upload_discard(*, actor: User, upload: SubmissionUpload) -> SubmissionUpload:
    """Drop a preview: nothing was stored and nothing will be."""
    upload = _lock_previewed(actor, upload)
    upload.status, upload.decided_by, upload.decided_at = SubmissionUpload.Status.DISCARDED, actor, timezone.now()
    upload.save(update_fields=["status", "decided_by", "decided_at"])
    audit_record(actor=actor, action="mrv.upload.discard", obj=upload,
                 before={"status": SubmissionUpload.Status.PREVIEWED}, after={"status": upload.status})
    return upload
