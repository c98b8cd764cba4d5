"""Writes of the voluntary market: project and reduction lifecycles, issuance, transfer and use of CCERs.

Every function is keyword-only and atomic, refuses a broken rule with a DomainError naming the
field, moves a state by compare-and-set (two reviewers cannot both decide) and records an audit
entry as its last step. Dates come from the working-day calendar via ``clock.today()``.
"""

import datetime as dt
import hashlib
import re
import secrets
from contextlib import suppress
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from cets.common.audit import audit_record
from cets.common.calendar import add_working_days
from cets.common.errors import Conflict, DomainError, Forbidden, NotFound
from cets.common.locks import lock_rows
from cets.common.money import whole_tonnes
from entities.models import Accreditation, KeyEntity, Organisation, User

from . import clock, ledger, rules, selectors
from .models import Comment, CreditUse, Document, Issuance, Methodology, MonitoringReport, Project

ELIGIBLE_CONSTRUCTION_AFTER = dt.date(2012, 11, 8)
REDUCTIONS_AFTER = dt.date(2020, 9, 22)
DISCLOSURE_WORKING_DAYS = 20
DECISION_WORKING_DAYS = 15
REDUCTIONS_MAX_AGE_YEARS = 5

# Accepted documents, recognised by their first bytes (an extension alone proves nothing).
FILE_SIGNATURES = {".pdf": b"%PDF-", ".docx": b"PK\x03\x04", ".xlsx": b"PK\x03\x04"}


# ---------------------------------------------------------------- organisations

@transaction.atomic
def organisation_register(*, actor: User, kind: str, name: str, credit_code: str, province_id: str,
                          name_en: str = "", accreditations: list[dict] | None = None) -> Organisation:
    """The registry admits a VVB (with its accreditation scopes) or a project owner.

    A VVB needs at least one accreditation whose scope names a CCER sector ("CCER sector 01").
    """
    if not selectors.is_reviewer(actor):
        raise Forbidden(_("Only the registry admits VVBs and project owners."))
    if kind not in (Organisation.Kind.VVB, Organisation.Kind.PROJECT_OWNER):
        raise DomainError(_("Kind must be a VVB or a project owner."), "invalid_kind", "kind")
    accreditations = accreditations or []
    if kind == Organisation.Kind.VVB and not accreditations:
        raise DomainError(_("A VVB needs at least one accreditation scope."), "accreditation_required",
                          "accreditations")
    if Organisation.objects.filter(credit_code=credit_code).exists():
        raise Conflict(_("An organisation with this credit code is already registered."), "duplicate", "credit_code")
    org = Organisation(kind=kind, name=name, name_en=name_en, credit_code=credit_code, province_id=province_id)
    _full_clean(org)
    org.save()
    for row in accreditations:
        acc = Accreditation(organisation=org, **row)
        _full_clean(acc, prefix="accreditations.")
        acc.save()
    audit_record(actor=actor, action="voluntary.organisation_register", obj=org,
                 after={"kind": kind, "name": name, "credit_code": credit_code,
                        "scopes": [a["scope"] for a in accreditations]})
    return org


def _full_clean(obj, prefix: str = "") -> None:
    try:
        obj.full_clean()
    except ValidationError as exc:
        field, errors = next(iter(exc.message_dict.items()))
        raise DomainError(errors[0], "invalid", None if field == "__all__" else f"{prefix}{field}") from exc


def vvb_accredited(org: Organisation, methodology: Methodology, on: dt.date) -> bool:
    """An active VVB with an accreditation for the methodology's sector valid on ``on``.

    Scopes are free text ("CCER sector 01", "CCER 01 能源产业"); matched in Python so the rule reads
    the same on SQLite and PostgreSQL (their regex dialects differ on word boundaries).
    """
    if org.kind != Organisation.Kind.VVB or not org.is_active:
        return False
    pattern = re.compile(rf"\bCCER\b.*\b{re.escape(methodology.sector_code)}\b", re.IGNORECASE)
    scopes = org.accreditations.filter(valid_from__lte=on, valid_to__gte=on).values_list("scope", flat=True)
    return any(pattern.search(scope) for scope in scopes)


@transaction.atomic
def methodology_save(*, actor: User, methodology: Methodology, changed: list[str]) -> Methodology:
    """The registry corrects a methodology's data (a grid factor, a ceiling) without a release.

    Refused when it would make the data unusable: an applicability clause must be a list of
    conditions with a known operator, and a grid methodology needs its weights and factors.
    """
    _require_reviewer(actor)
    for clause in methodology.applicability or []:
        if not isinstance(clause, list) or not all(
                isinstance(c, dict) and {"field", "op", "value"} <= c.keys() and c["op"] in rules.OPS
                for c in clause):
            raise DomainError(_("Each applicability clause is a list of {field, op, value} conditions."),
                              "invalid_applicability", "applicability")
    if methodology.calculation == Methodology.Calculation.GRID_EXPORT and not {
            "grid_factors", "province_grid", "w_om", "w_bm"} <= set(methodology.parameters or {}):
        raise DomainError(_("A grid-export methodology needs grid_factors, province_grid, w_om and w_bm."),
                          "invalid_parameters", "parameters")
    before = None
    if methodology.pk:
        old = Methodology.objects.get(pk=methodology.pk)
        before = {f: getattr(old, f) for f in changed}
    _full_clean(methodology)
    methodology.save()
    audit_record(actor=actor, action="voluntary.methodology_save", obj=methodology, before=before,
                 after={f: getattr(methodology, f) for f in changed})
    return methodology


# ---------------------------------------------------------------- projects

def _owner_of(actor: User) -> Organisation:
    org_id = selectors.owner_org_id(actor)
    if not org_id:
        raise Forbidden(_("Only a project owner's user may do this."))
    return actor.organisation


def _require_owner(actor: User, project: Project) -> None:
    if selectors.owner_org_id(actor) != project.owner_id:
        raise Forbidden(_("Only the project owner may do this."))


def _require_reviewer(actor: User) -> None:
    if not selectors.is_reviewer(actor):
        raise Forbidden(_("Only the registry's reviewers may do this."))


def _snapshot(obj, fields) -> dict:
    return {f: getattr(obj, f) for f in fields}


def _move(obj, old: str, **changes) -> None:
    """Compare-and-set a state change: refuse if someone moved the row first."""
    updated = type(obj).objects.filter(pk=obj.pk, state=old).update(**changes)
    if updated != 1:
        raise Conflict(_("The state changed meanwhile; reload and try again."), "state_changed", "state")
    for name, value in changes.items():
        setattr(obj, name, value)


def _site_key(site: str) -> str:
    return " ".join(site.lower().split())


PROJECT_FIELDS = ["title", "title_en", "description", "site", "capacity", "construction_start", "crediting_start",
                  "crediting_end", "parameters", "province_id", "validator_id", "methodology_id"]


def _check_design(project: Project) -> None:
    """The rules a project's design must meet before anyone sees it: dates, methodology, VVB."""
    methodology = project.methodology
    if not methodology.is_active:
        raise DomainError(_("The methodology is not active."), "methodology_inactive", "methodology")
    if project.construction_start <= ELIGIBLE_CONSTRUCTION_AFTER:
        raise DomainError(_("Construction must have started after 8 November 2012."), "construction_too_early",
                          "construction_start")
    if project.capacity is None or project.capacity <= 0:
        raise DomainError(_("Capacity must be greater than zero."), "invalid_capacity", "capacity")
    if project.crediting_end <= project.crediting_start:
        raise DomainError(_("The crediting period must end after it starts."), "crediting_order", "crediting_end")
    if project.crediting_start < project.construction_start:
        raise DomainError(_("The crediting period cannot start before construction."), "crediting_before_start",
                          "crediting_start")
    longest = rules.add_years(project.crediting_start, methodology.crediting_years_max) - dt.timedelta(days=1)
    if project.crediting_end > longest:
        raise DomainError(
            _("The crediting period may last at most %(n)s years under %(code)s (until %(end)s).")
            % {"n": methodology.crediting_years_max, "code": methodology.code, "end": longest},
            "crediting_too_long", "crediting_end")
    shortest = rules.add_years(project.crediting_start, methodology.crediting_years_min) - dt.timedelta(days=1)
    if project.crediting_end < shortest:
        raise DomainError(_("The crediting period must last at least %(n)s years under %(code)s.")
                          % {"n": methodology.crediting_years_min, "code": methodology.code},
                          "crediting_too_short", "crediting_end")
    if not isinstance(project.parameters, dict):
        raise DomainError(_("Project parameters must be an object."), "invalid_parameters", "parameters")
    missing = [f["name"] for f in methodology.project_fields if f["name"] not in project.parameters]
    if missing:
        raise DomainError(_("The methodology needs these project parameters: %(p)s.") % {"p": ", ".join(missing)},
                          "parameters_missing", f"parameters.{missing[0]}")
    if project.validator.kind != Organisation.Kind.VVB or not vvb_accredited(project.validator, methodology,
                                                                             clock.today()):
        raise DomainError(_("The chosen VVB is not accredited for sector %(s)s.") % {"s": methodology.sector_code},
                          "vvb_not_accredited", "validator")
    if methodology.calculation == Methodology.Calculation.GRID_EXPORT or "province_grid" in methodology.parameters:
        try:
            rules.grid_of(methodology.parameters, project.province_id)
        except rules.RuleError as exc:
            raise DomainError(str(exc), "no_grid_factor", exc.field)


def eligibility_problems(project: Project) -> list[tuple[str, str, str]]:
    """The automatic eligibility checks: (field, code, message) for each one that fails.

    Applicability of the methodology, not an ETS unit, and uniqueness of site and capacity; the
    design rules (construction after 2012-11-08, crediting period) are checked by ``_check_design``.
    """
    problems = []
    failures = rules.applicability_failures(project.methodology.applicability, project.parameters)
    if failures:
        problems.append(("parameters", "not_applicable",
                         _("The project does not meet the methodology's applicability: %(f)s.")
                         % {"f": "; ".join(failures)}))
    units = selectors.ets_units_matching(project)
    if units:
        problems.append(("site", "ets_unit", _("The project is the ETS unit %(u)s of %(e)s; ETS units cannot earn "
                                               "CCERs.") % {"u": units[0].code, "e": units[0].entity.name}))
    twin = Project.objects.filter(site_key=project.site_key, capacity=project.capacity,
                                  state__in=Project.OCCUPYING).exclude(pk=project.pk).first()
    if twin:
        problems.append(("site", "duplicate_project", _("Project %(ref)s already covers this site and capacity.")
                         % {"ref": twin.ref}))
    return problems


def _check_eligible(project: Project) -> None:
    _check_design(project)
    problems = eligibility_problems(project)
    if problems:
        field, code, message = problems[0]
        raise DomainError(message, code, field)


@transaction.atomic
def project_create(*, actor: User, methodology: Methodology, validator: Organisation, title: str, site: str,
                   province_id: str, capacity: Decimal, construction_start: dt.date, crediting_start: dt.date,
                   crediting_end: dt.date, parameters: dict, title_en: str = "", description: str = "") -> Project:
    """A project owner drafts a project under a methodology and chooses its validating VVB."""
    owner = _owner_of(actor)
    project = Project(owner=owner, methodology=methodology, validator=validator, title=title, title_en=title_en,
                      description=description, site=site, site_key=_site_key(site), province_id=province_id,
                      capacity=capacity, construction_start=construction_start, crediting_start=crediting_start,
                      crediting_end=crediting_end, parameters=parameters, created_by=actor,
                      ref=f"TMP-{secrets.token_hex(6)}")
    _check_design(project)
    project.save()
    project.ref = f"P{clock.today().year}{project.pk:06d}"
    Project.objects.filter(pk=project.pk).update(ref=project.ref)
    audit_record(actor=actor, action="voluntary.project_create", obj=project,
                 after=_snapshot(project, ["ref", *PROJECT_FIELDS]))
    return project


@transaction.atomic
def project_update(*, actor: User, project: Project, **fields) -> Project:
    """The owner corrects a draft; once disclosed the design is frozen (the public saw it)."""
    _require_owner(actor, project)
    project = lock_rows(Project.objects.filter(pk=project.pk))[0]
    if project.state != Project.State.DRAFT:
        raise Conflict(_("Only a draft can be changed; this project is %(s)s.") % {"s": project.get_state_display()},
                       "not_draft", "state")
    before = _snapshot(project, PROJECT_FIELDS)
    for name, value in fields.items():
        setattr(project, name, value)
    project.site_key = _site_key(project.site)
    _check_design(project)
    project.save()
    audit_record(actor=actor, action="voluntary.project_update", obj=project, before=before,
                 after=_snapshot(project, PROJECT_FIELDS))
    return project


def _check_upload(upload) -> tuple[str, str]:
    """Refuse a file that is too large or not really a PDF, Word or Excel document."""
    name = (getattr(upload, "name", "") or "").rsplit("/", 1)[-1]
    if upload.size > settings.MAX_UPLOAD_BYTES:
        raise DomainError(_("The file is %(size)s bytes; at most %(max)s bytes are accepted.")
                          % {"size": upload.size, "max": settings.MAX_UPLOAD_BYTES}, "file_too_large", "file")
    ext = ("." + name.rsplit(".", 1)[-1].lower()) if "." in name else ""
    signature = FILE_SIGNATURES.get(ext)
    upload.seek(0)
    head = upload.read(8)
    upload.seek(0)
    if signature is None or not head.startswith(signature):
        raise DomainError(_("Only PDF, Word (.docx) or Excel (.xlsx) documents are accepted."), "file_type", "file")
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return name, digest.hexdigest()


DOCUMENT_AUTHORS = {
    Document.Kind.DESIGN: "owner", Document.Kind.MONITORING: "owner", Document.Kind.OTHER: "owner",
    Document.Kind.VALIDATION: "validator", Document.Kind.VERIFICATION: "verifier",
}


@transaction.atomic
def document_upload(*, actor: User, project: Project, kind: str, upload, report: MonitoringReport | None = None
                    ) -> Document:
    """Attach a document: the owner its design and monitoring reports, the VVBs their reports."""
    if kind not in Document.Kind.values:
        raise DomainError(_("Unknown document kind."), "invalid_kind", "kind")
    author = DOCUMENT_AUTHORS[kind]
    if author == "owner":
        _require_owner(actor, project)
    elif author == "validator" and selectors.vvb_org_id(actor) != project.validator_id:
        raise Forbidden(_("Only the project's validating VVB may upload its validation report."))
    if kind in (Document.Kind.MONITORING, Document.Kind.VERIFICATION):
        if report is None or report.project_id != project.pk:
            raise DomainError(_("Name the monitoring report this document belongs to."), "report_required", "report")
    if author == "verifier" and selectors.vvb_org_id(actor) != report.verifier_id:
        raise Forbidden(_("Only the report's verifying VVB may upload its verification report."))
    if project.state in (Project.State.REJECTED, Project.State.CANCELLED):
        raise Conflict(_("The project is closed."), "project_closed", "project")
    name, digest = _check_upload(upload)
    document = Document(project=project, report=report, kind=kind, name=name[:200], size=upload.size, sha256=digest,
                        uploaded_by=actor)
    document.file.save(name, upload, save=False)
    document.save()
    audit_record(actor=actor, action="voluntary.document_upload", obj=document,
                 after={"project": project.ref, "kind": kind, "name": name, "sha256": digest, "size": upload.size})
    return document


@transaction.atomic
def project_publish(*, actor: User, project: Project) -> Project:
    """Start the 20-working-day public disclosure of the design document, after the eligibility checks."""
    _require_owner(actor, project)
    project = lock_rows(Project.objects.filter(pk=project.pk))[0]
    if project.state != Project.State.DRAFT:
        raise Conflict(_("Only a draft can be disclosed."), "not_draft", "state")
    if not project.documents.filter(kind=Document.Kind.DESIGN).exists():
        raise DomainError(_("Upload the project design document before disclosure."), "design_document_missing",
                          "documents")
    _check_eligible(project)
    today = clock.today()
    try:
        with transaction.atomic():
            _move(project, Project.State.DRAFT, state=Project.State.DISCLOSURE, disclosure_start=today,
                  disclosure_end=add_working_days(today, DISCLOSURE_WORKING_DAYS))
    except IntegrityError:
        raise Conflict(_("Another project already covers this site and capacity."), "duplicate_project", "site")
    audit_record(actor=actor, action="voluntary.project_publish", obj=project, before={"state": "draft"},
                 after={"state": project.state, "disclosure_end": project.disclosure_end})
    return project


@transaction.atomic
def comment_add(*, project: Project, author_name: str, text: str, author_email: str = "", user=None,
                report: MonitoringReport | None = None) -> Comment:
    """Anyone comments on a design document or monitoring report while its disclosure is open."""
    today = clock.today()
    if report is not None:
        if report.project_id != project.pk:
            raise DomainError(_("The report is not of this project."), "invalid_report", "report")
        is_open = report.state == MonitoringReport.State.DISCLOSURE and today <= report.disclosure_end
        closes = report.disclosure_end
    else:
        is_open = project.state == Project.State.DISCLOSURE and today <= project.disclosure_end
        closes = project.disclosure_end
    if not is_open:
        message = (_("The public disclosure closed on %(d)s; comments are no longer accepted.") % {"d": closes}
                   if closes else _("This document is not in public disclosure."))
        raise DomainError(message, "disclosure_closed", "text")
    if not author_name.strip() or not text.strip():
        raise DomainError(_("Give your name and a comment."), "required", "text" if author_name.strip() else
                          "author_name")
    if len(text) > 5000:
        raise DomainError(_("A comment is at most 5,000 characters."), "too_long", "text")
    comment = Comment.objects.create(project=project, report=report, author_name=author_name.strip()[:100],
                                     author_email=author_email, text=text.strip(),
                                     user=user if getattr(user, "is_authenticated", False) else None)
    audit_record(actor=comment.user or "public", action="voluntary.comment_add", obj=comment,
                 after={"project": project.ref, "report": report.pk if report else None})
    return comment


@transaction.atomic
def project_validate(*, actor: User, project: Project, positive: bool, conclusion: str = "") -> Project:
    """The chosen VVB concludes its validation after the disclosure closed, with its report uploaded.

    A positive conclusion lets the owner apply; a negative one returns the project to draft.
    """
    if selectors.vvb_org_id(actor) != project.validator_id:
        raise Forbidden(_("Only the project's chosen VVB may validate it."))
    project = lock_rows(Project.objects.filter(pk=project.pk))[0]
    today = clock.today()
    if project.state != Project.State.DISCLOSURE:
        raise Conflict(_("Only a disclosed project can be validated."), "not_in_disclosure", "state")
    if today <= project.disclosure_end:
        raise DomainError(_("The disclosure runs until %(d)s; validate after it closes.")
                          % {"d": project.disclosure_end}, "disclosure_open", "state")
    if not project.documents.filter(kind=Document.Kind.VALIDATION).exists():
        raise DomainError(_("Upload the validation report first."), "validation_report_missing", "documents")
    if positive:
        _move(project, Project.State.DISCLOSURE, state=Project.State.VALIDATED, validated_on=today)
    else:
        _move(project, Project.State.DISCLOSURE, state=Project.State.DRAFT, disclosure_start=None,
              disclosure_end=None)
    audit_record(actor=actor, action="voluntary.project_validate", obj=project, before={"state": "disclosure"},
                 after={"state": project.state, "positive": positive, "conclusion": conclusion})
    return project


@transaction.atomic
def project_apply(*, actor: User, project: Project) -> Project:
    """The owner applies for registration; the registry must decide within 15 working days."""
    _require_owner(actor, project)
    project = lock_rows(Project.objects.filter(pk=project.pk))[0]
    if project.state != Project.State.VALIDATED:
        raise Conflict(_("Only a validated project can apply for registration."), "not_validated", "state")
    _check_eligible(project)
    today = clock.today()
    _move(project, Project.State.VALIDATED, state=Project.State.APPLIED, applied_on=today,
          decision_due=add_working_days(today, DECISION_WORKING_DAYS))
    audit_record(actor=actor, action="voluntary.project_apply", obj=project, before={"state": "validated"},
                 after={"state": project.state, "decision_due": project.decision_due})
    return project


@transaction.atomic
def project_register(*, actor: User, project: Project) -> Project:
    """The registry registers an applied project and gives it its registration number."""
    _require_reviewer(actor)
    project = lock_rows(Project.objects.filter(pk=project.pk))[0]
    if project.state != Project.State.APPLIED:
        raise Conflict(_("Only a project applied for registration can be registered."), "not_applied", "state")
    _check_eligible(project)
    today = clock.today()
    number = f"CCER-{project.methodology.sector_code}-{today.year}-{project.pk:06d}"
    _move(project, Project.State.APPLIED, state=Project.State.REGISTERED, registered_on=today,
          registration_number=number)
    audit_record(actor=actor, action="voluntary.project_register", obj=project, before={"state": "applied"},
                 after={"state": project.state, "registration_number": number})
    return project


@transaction.atomic
def project_reject(*, actor: User, project: Project, reason: str) -> Project:
    """The registry refuses an application, with the reasons the owner and the public read."""
    _require_reviewer(actor)
    if not reason or not reason.strip():
        raise DomainError(_("Give the reasons for the rejection."), "reason_required", "reason")
    project = lock_rows(Project.objects.filter(pk=project.pk))[0]
    if project.state != Project.State.APPLIED:
        raise Conflict(_("Only a project applied for registration can be rejected."), "not_applied", "state")
    _move(project, Project.State.APPLIED, state=Project.State.REJECTED, rejected_on=clock.today(),
          rejection_reason=reason.strip())
    audit_record(actor=actor, action="voluntary.project_reject", obj=project, before={"state": "applied"},
                 after={"state": project.state, "reason": project.rejection_reason})
    return project


@transaction.atomic
def project_cancel(*, actor: User, project: Project, reason: str) -> Project:
    """The registry cancels a registered project; it never returns and its site stays taken."""
    _require_reviewer(actor)
    if not reason or not reason.strip():
        raise DomainError(_("Give the reason for the cancellation."), "reason_required", "reason")
    project = lock_rows(Project.objects.filter(pk=project.pk))[0]
    if project.state != Project.State.REGISTERED:
        raise Conflict(_("Only a registered project can be cancelled."), "not_registered", "state")
    _move(project, Project.State.REGISTERED, state=Project.State.CANCELLED, cancelled_on=clock.today(),
          cancellation_reason=reason.strip())
    audit_record(actor=actor, action="voluntary.project_cancel", obj=project, before={"state": "registered"},
                 after={"state": project.state, "reason": project.cancellation_reason})
    return project


# ---------------------------------------------------------------- reductions

def _quantity(project: Project, start: dt.date, end: dt.date, *, net_export_mwh, reported,
              prefix: str = "") -> tuple[int, dict]:
    """The reductions a methodology credits for a period, with the calculation shown.

    Grid-export methodologies compute them (BE = net export x combined margin); the others take the
    reported figure and refuse one above the methodology's ceilings.
    """
    methodology = project.methodology
    params = methodology.parameters
    has_grid = "province_grid" in params
    if has_grid or methodology.calculation == Methodology.Calculation.GRID_EXPORT:
        if net_export_mwh is None or Decimal(net_export_mwh) <= 0:
            raise DomainError(_("Give the net electricity exported to the grid (MWh), greater than zero."),
                              "net_export_required", f"{prefix}net_export_mwh")
        grid = rules.grid_baseline(params, project.province_id, Decimal(net_export_mwh))
        calculation = grid.as_dict()
    if methodology.calculation == Methodology.Calculation.GRID_EXPORT:
        return grid.reductions, calculation
    if reported is None:
        raise DomainError(_("Give the reductions of the period (tCO2e)."), "reductions_required",
                          f"{prefix}reductions")
    quantity = int(reported)
    if quantity < 0:
        raise DomainError(_("Reductions cannot be negative."), "invalid_quantity", f"{prefix}reductions")
    ceiling = rules.reported_ceiling(params, project.capacity, start, end)
    calculation = {**(calculation if has_grid else {}), "reported_t": quantity, "capacity_ceiling_t": ceiling}
    if quantity > ceiling:
        raise DomainError(_("%(q)s t exceeds the methodology's ceiling of %(c)s t for this capacity and period.")
                          % {"q": quantity, "c": ceiling}, "above_ceiling", f"{prefix}reductions")
    if has_grid and quantity > grid.reductions:
        raise DomainError(_("%(q)s t exceeds net export x combined margin = %(c)s t.")
                          % {"q": quantity, "c": grid.reductions}, "above_grid_baseline", f"{prefix}reductions")
    return quantity, calculation


def _check_period(project: Project, start: dt.date, end: dt.date, *, on: dt.date, exclude_pk=None) -> None:
    if end < start:
        raise DomainError(_("The period must end on or after its start."), "period_order", "period_end")
    if start <= REDUCTIONS_AFTER:
        raise DomainError(_("Only reductions generated after 22 September 2020 can be registered."),
                          "period_too_early", "period_start")
    if start < project.crediting_start or end > project.crediting_end:
        raise DomainError(_("The period must lie inside the crediting period %(s)s to %(e)s.")
                          % {"s": project.crediting_start, "e": project.crediting_end}, "outside_crediting_period",
                          "period_start" if start < project.crediting_start else "period_end")
    if end >= on:
        raise DomainError(_("The period must have ended before today."), "period_not_ended", "period_end")
    oldest = rules.add_years(on, -REDUCTIONS_MAX_AGE_YEARS)
    if start < oldest:
        raise DomainError(_("Reductions must be generated within the 5 years before the application (from %(d)s).")
                          % {"d": oldest}, "period_too_old", "period_start")
    overlap = project.reports.filter(state__in=MonitoringReport.COUNTING, period_start__lte=end,
                                     period_end__gte=start).exclude(pk=exclude_pk).first()
    if overlap:
        raise DomainError(_("The period overlaps the monitoring period %(s)s to %(e)s already reported "
                            "(no double counting).") % {"s": overlap.period_start, "e": overlap.period_end},
                          "period_overlap", "period_start")


@transaction.atomic
def report_create(*, actor: User, project: Project, verifier: Organisation, period_start: dt.date,
                  period_end: dt.date, net_export_mwh: Decimal | None = None,
                  reported_reductions: int | None = None) -> MonitoringReport:
    """The owner reports a monitoring period and names a verifying VVB other than the validator."""
    _require_owner(actor, project)
    project = lock_rows(Project.objects.filter(pk=project.pk))[0]  # serialises the overlap check per project
    if project.state != Project.State.REGISTERED:
        raise Conflict(_("Reductions can be reported only for a registered project."), "not_registered", "project")
    if verifier.pk == project.validator_id:
        raise DomainError(_("The VVB that validated the project cannot verify its reductions; choose another."),
                          "verifier_is_validator", "verifier")
    if not vvb_accredited(verifier, project.methodology, clock.today()):
        raise DomainError(_("The verifying VVB is not accredited for sector %(s)s.")
                          % {"s": project.methodology.sector_code}, "vvb_not_accredited", "verifier")
    _check_period(project, period_start, period_end, on=clock.today())
    claimed, calculation = _quantity(project, period_start, period_end, net_export_mwh=net_export_mwh,
                                     reported=reported_reductions)
    report = MonitoringReport.objects.create(
        project=project, verifier=verifier, period_start=period_start, period_end=period_end,
        net_export_mwh=net_export_mwh, reported_reductions=reported_reductions, claimed_reductions=claimed,
        calculation=calculation, created_by=actor)
    audit_record(actor=actor, action="voluntary.report_create", obj=report,
                 after={"project": project.ref, "period": [period_start, period_end], "claimed": claimed,
                        "verifier": verifier.pk})
    return report


@transaction.atomic
def report_submit(*, actor: User, report: MonitoringReport) -> MonitoringReport:
    """The owner sends the monitoring report (uploaded) to the verifying VVB."""
    _require_owner(actor, report.project)
    if not report.documents.filter(kind=Document.Kind.MONITORING).exists():
        raise DomainError(_("Upload the monitoring report first."), "monitoring_report_missing", "documents")
    _move(report, MonitoringReport.State.DRAFT, state=MonitoringReport.State.SUBMITTED)
    audit_record(actor=actor, action="voluntary.report_submit", obj=report, before={"state": "draft"},
                 after={"state": report.state})
    return report


@transaction.atomic
def report_verify(*, actor: User, report: MonitoringReport, verified_net_export_mwh: Decimal | None = None,
                  verified_reductions: int | None = None) -> MonitoringReport:
    """The verifying VVB states the verified figures; the reports go into 20 working days of disclosure.

    The verified quantity is what will be registered; it may not exceed what the owner claimed.
    """
    vvb = selectors.vvb_org_id(actor)
    if vvb != report.verifier_id:
        raise Forbidden(_("Only the report's verifying VVB may verify it."))
    project = report.project
    if vvb == project.validator_id:
        raise DomainError(_("The VVB that validated the project cannot verify its reductions."),
                          "verifier_is_validator", "verifier")
    if report.state != MonitoringReport.State.SUBMITTED:
        raise Conflict(_("Only a submitted monitoring report can be verified."), "not_submitted", "state")
    if not report.documents.filter(kind=Document.Kind.VERIFICATION).exists():
        raise DomainError(_("Upload the verification report first."), "verification_report_missing", "documents")
    verified, calculation = _quantity(project, report.period_start, report.period_end,
                                      net_export_mwh=verified_net_export_mwh, reported=verified_reductions,
                                      prefix="verified_")
    if verified > report.claimed_reductions:
        raise DomainError(_("Verified reductions (%(v)s t) cannot exceed the claimed %(c)s t.")
                          % {"v": verified, "c": report.claimed_reductions}, "above_claimed", "verified_reductions")
    today = clock.today()
    _move(report, MonitoringReport.State.SUBMITTED, state=MonitoringReport.State.DISCLOSURE,
          verified_net_export_mwh=verified_net_export_mwh, verified_reductions=verified, verified_on=today,
          disclosure_end=add_working_days(today, DISCLOSURE_WORKING_DAYS),
          calculation={"claimed": report.calculation, "verified": calculation})
    audit_record(actor=actor, action="voluntary.report_verify", obj=report, before={"state": "submitted"},
                 after={"state": report.state, "verified": verified, "disclosure_end": report.disclosure_end})
    return report


@transaction.atomic
def report_apply(*, actor: User, report: MonitoringReport) -> MonitoringReport:
    """After the disclosure closed, the owner applies for registration of the verified reductions."""
    _require_owner(actor, report.project)
    today = clock.today()
    if report.state != MonitoringReport.State.DISCLOSURE:
        raise Conflict(_("Only a verified, disclosed report can be applied for."), "not_in_disclosure", "state")
    if today <= report.disclosure_end:
        raise DomainError(_("The disclosure runs until %(d)s; apply after it closes.") % {"d": report.disclosure_end},
                          "disclosure_open", "state")
    oldest = rules.add_years(today, -REDUCTIONS_MAX_AGE_YEARS)
    if report.period_start < oldest:
        raise DomainError(_("Reductions must be generated within the 5 years before the application (from %(d)s).")
                          % {"d": oldest}, "period_too_old", "period_start")
    if report.project.state != Project.State.REGISTERED:
        raise Conflict(_("The project is no longer registered."), "not_registered", "project")
    _move(report, MonitoringReport.State.DISCLOSURE, state=MonitoringReport.State.APPLIED, applied_on=today,
          decision_due=add_working_days(today, DECISION_WORKING_DAYS))
    audit_record(actor=actor, action="voluntary.report_apply", obj=report, before={"state": "disclosure"},
                 after={"state": report.state, "decision_due": report.decision_due})
    return report


@transaction.atomic
def report_register(*, actor: User, report: MonitoringReport) -> list[Issuance]:
    """The registry registers the verified reductions and issues them, by vintage, to the owner's account.

    Registered quantity = verified quantity; each vintage gets its own serial range from the registry.
    """
    _require_reviewer(actor)
    report = lock_rows(MonitoringReport.objects.filter(pk=report.pk))[0]
    project = report.project
    if report.state != MonitoringReport.State.APPLIED:
        raise Conflict(_("Only a report applied for registration can be registered."), "not_applied", "state")
    if project.state != Project.State.REGISTERED:
        raise Conflict(_("The project is no longer registered."), "not_registered", "project")
    today = clock.today()
    _move(report, MonitoringReport.State.APPLIED, state=MonitoringReport.State.REGISTERED, registered_on=today)
    issuances = []
    for vintage, quantity in rules.vintage_split(report.period_start, report.period_end, report.verified_reductions):
        issued = ledger.issue(actor=actor, project=project, vintage=vintage, quantity=quantity,
                              reference=f"{project.registration_number}/MR{report.pk}/{vintage}")
        issuances.append(Issuance.objects.create(
            report=report, project=project, vintage=vintage, instrument_code=issued.instrument_code,
            quantity=quantity, serial_start=issued.serial_start, serial_end=issued.serial_end,
            serial_range=issued.serial_range, registry_ref=issued.reference, issued_on=today))
    audit_record(actor=actor, action="voluntary.report_register", obj=report, before={"state": "applied"},
                 after={"state": report.state, "issued": [[i.vintage, i.quantity, i.serial_start, i.serial_end]
                                                          for i in issuances]})
    return issuances


@transaction.atomic
def report_reject(*, actor: User, report: MonitoringReport, reason: str) -> MonitoringReport:
    """The registry refuses the reductions with reasons; the period becomes free to report again."""
    _require_reviewer(actor)
    if not reason or not reason.strip():
        raise DomainError(_("Give the reasons for the rejection."), "reason_required", "reason")
    _move(report, MonitoringReport.State.APPLIED, state=MonitoringReport.State.REJECTED, rejected_on=clock.today(),
          rejection_reason=reason.strip())
    audit_record(actor=actor, action="voluntary.report_reject", obj=report, before={"state": "applied"},
                 after={"state": report.state, "reason": report.rejection_reason})
    return report


# ---------------------------------------------------------------- transfers and uses

def _holder_of(actor: User) -> tuple[Organisation | None, KeyEntity | None]:
    """Who holds CCERs for this user: their organisation, or the entity they act for."""
    if actor.acting_entity_id:
        return None, actor.entity
    if actor.organisation_id and actor.role in (User.Role.PROJECT_OWNER, User.Role.PARTICIPANT):
        return actor.organisation, None
    raise Forbidden(_("Only a holder of a registry account may move CCERs."))


@transaction.atomic
def ccer_transfer(*, actor: User, instrument_code: str, to_account: str, quantity) -> dict:
    """Move CCERs from the actor's holding account to another account (before CCER trading lands)."""
    org, entity = _holder_of(actor)
    quantity = whole_tonnes(quantity)
    result = ledger.transfer(actor=actor, organisation=org, entity=entity, instrument_code=instrument_code,
                             to_account=to_account, quantity=quantity)
    audit_record(actor=actor, action="voluntary.ccer_transfer", object_type="registry.instrument",
                 object_id=instrument_code, after={"to": to_account, "quantity": quantity, "registry": result})
    return result


def _use_code(kind: str, year: int) -> str:
    prefix = "OC" if kind == CreditUse.Kind.OFFSET else "VR"
    return f"{prefix}{year}-{secrets.token_hex(5).upper()}"


def _project_of_instrument(instrument_code: str) -> tuple[Project, int]:
    issuance = Issuance.objects.select_related("project").filter(instrument_code=instrument_code).first()
    if issuance is None:
        with suppress(NotFound):  # a CEA is refused as not a CCER; an unknown code falls through to the error below
            ledger.ccer_instrument(instrument_code)
        raise DomainError(_("No CCER issuance has this instrument."), "unknown_instrument", "instrument")
    return issuance.project, issuance.vintage


@transaction.atomic
def credit_retire(*, actor: User, instrument_code: str, quantity, beneficiary: str, purpose: str,
                  purpose_detail: str = "") -> CreditUse:
    """Voluntarily retire CCERs for a beneficiary and a purpose (event neutrality, corporate claim...).

    The credits are cancelled in the registry (they can never be used again) and a public record with
    a certificate code is written.
    """
    org, entity = _holder_of(actor)
    quantity = whole_tonnes(quantity)
    if purpose not in CreditUse.Purpose.values or purpose == CreditUse.Purpose.COMPLIANCE:
        raise DomainError(_("Choose the purpose of the retirement."), "invalid_purpose", "purpose")
    if not beneficiary or not beneficiary.strip():
        raise DomainError(_("Name the beneficiary of the retirement."), "beneficiary_required", "beneficiary")
    project, vintage = _project_of_instrument(instrument_code)
    today = clock.today()
    result = ledger.retire(actor=actor, organisation=org, entity=entity, instrument_code=instrument_code,
                           quantity=quantity, beneficiary=beneficiary.strip(), purpose=purpose)
    use = CreditUse.objects.create(
        code=_use_code(CreditUse.Kind.RETIREMENT, today.year), kind=CreditUse.Kind.RETIREMENT, purpose=purpose,
        purpose_detail=purpose_detail, beneficiary=beneficiary.strip(), holder=org, entity=entity, project=project,
        vintage=vintage, instrument_code=instrument_code, quantity=quantity, serials=result.serials,
        registry_ref=result.reference, used_on=today, created_by=actor)
    audit_record(actor=actor, action="voluntary.credit_retire", obj=use,
                 after={"code": use.code, "quantity": quantity, "instrument": instrument_code,
                        "beneficiary": use.beneficiary, "purpose": purpose})
    return use


@transaction.atomic
def offset_cancel(*, actor: User, entity: KeyEntity, instrument_code: str, quantity, compliance_year: int
                  ) -> CreditUse:
    """Cancel an entity's CCERs for an ETS offset against one compliance year's obligation.

    Called only by ``compliance.services.surrender`` (also behind /api/v1/voluntary/offsets/, which
    compliance serves), which owns the obligation's rules: the obligation exists and is open, the 5%
    cap, never more than owed. This checks what the voluntary market owns (ownership, the project's
    offset eligibility: registered and never an ETS unit; from 2025 only CCERs registered after the
    market's launch, ``selectors.offset_counts_for``) and moves the credits to the national CCER
    cancellation account.
    """
    if actor.acting_entity_id != entity.pk:
        raise Forbidden(_("Only the entity itself may cancel its CCERs for offsetting."))
    quantity = whole_tonnes(quantity)
    if not isinstance(compliance_year, int) or not 2019 <= compliance_year <= 2100:
        raise DomainError(_("Name the compliance year the offset counts for."), "invalid_year", "compliance_year")
    project, vintage = _project_of_instrument(instrument_code)
    eligibility = selectors.offset_counts_for(project, instrument_code, compliance_year)
    if not eligibility.eligible:
        raise DomainError(_("These CCERs cannot offset ETS obligations: %(r)s.") % {"r": eligibility.reason},
                          eligibility.code, "instrument")
    today = clock.today()
    result = ledger.cancel_for_offset(actor=actor, entity=entity, instrument_code=instrument_code, quantity=quantity,
                                      compliance_year=compliance_year)
    use = CreditUse.objects.create(
        code=_use_code(CreditUse.Kind.OFFSET, today.year), kind=CreditUse.Kind.OFFSET,
        purpose=CreditUse.Purpose.COMPLIANCE, beneficiary=entity.name, entity=entity,
        compliance_year=compliance_year, project=project, vintage=vintage, instrument_code=instrument_code,
        quantity=quantity, serials=result.serials, registry_ref=result.reference, used_on=today, created_by=actor)
    audit_record(actor=actor, action="voluntary.offset_cancel", obj=use,
                 after={"code": use.code, "entity": entity.pk, "quantity": quantity, "instrument": instrument_code,
                        "compliance_year": compliance_year})
    return use
