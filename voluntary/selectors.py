"""Reads of the voluntary market, scoped to who may see them.

The public sees every project and monitoring report once it has been disclosed (the point of
disclosure), issuances and cancellations. Drafts are seen by their owner, the chosen VVB and the
registry's reviewers; public comments by the owner, the VVBs concerned and the reviewers only.
"""

from dataclasses import dataclass

from django.db.models import Min, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from cets.common.errors import Conflict, NotFound
from entities.models import Organisation, Unit, User
from registry import selectors as registry_selectors

from .models import Comment, CreditUse, Document, Issuance, Methodology, MonitoringReport, OffsetRule, Project

PUBLIC_PROJECT_STATES = [s for s in Project.State.values if s != Project.State.DRAFT]
PUBLIC_REPORT_STATES = [MonitoringReport.State.DISCLOSURE, MonitoringReport.State.APPLIED,
                        MonitoringReport.State.REGISTERED, MonitoringReport.State.REJECTED]


def is_reviewer(user) -> bool:
    """The registry's reviewers: national regulators (MEE), who also give the issuance's second approval."""
    return bool(getattr(user, "is_authenticated", False) and user.is_active
                and user.role == User.Role.NATIONAL_REGULATOR)


def owner_org_id(user) -> int | None:
    """The project owner this user acts for (project-owner users only)."""
    if getattr(user, "is_authenticated", False) and user.role == User.Role.PROJECT_OWNER:
        return user.organisation_id
    return None


def vvb_org_id(user) -> int | None:
    """The VVB this user works for (VVB users only)."""
    if getattr(user, "is_authenticated", False) and user.role == User.Role.VVB:
        return user.organisation_id
    return None


def methodologies_public() -> QuerySet[Methodology]:
    return Methodology.objects.filter(is_active=True)


def organisations_public() -> QuerySet[Organisation]:
    """The public register of VVBs (with their accreditation scopes) and project owners."""
    return (Organisation.objects.filter(kind__in=[Organisation.Kind.VVB, Organisation.Kind.PROJECT_OWNER],
                                        is_active=True)
            .select_related("province").prefetch_related("accreditations").order_by("kind", "name"))


def _project_base() -> QuerySet[Project]:
    return Project.objects.select_related("methodology", "owner", "validator", "province")


def projects_public() -> QuerySet[Project]:
    return _project_base().filter(state__in=PUBLIC_PROJECT_STATES)


def projects_visible_to(user) -> QuerySet[Project]:
    """Public projects plus the drafts of the user's own organisation (owner or chosen validator)."""
    if is_reviewer(user):
        return _project_base()
    condition = Q(state__in=PUBLIC_PROJECT_STATES)
    if owner_org_id(user):
        condition |= Q(owner_id=owner_org_id(user))
    if vvb_org_id(user):
        condition |= Q(validator_id=vvb_org_id(user))
    return _project_base().filter(condition)


def project_get(*, user, pk) -> Project:
    project = projects_visible_to(user).filter(pk=pk).first()
    if project is None:
        raise NotFound("No such project.", field="project")
    return project


def project_search(qs: QuerySet[Project], *, q: str = "", state: str = "", methodology: str = "",
                   province: str = "") -> QuerySet[Project]:
    """The public search: text over reference, number, title, owner and site; exact filters."""
    if q:
        qs = qs.filter(Q(ref__icontains=q) | Q(registration_number__icontains=q) | Q(title__icontains=q)
                       | Q(title_en__icontains=q) | Q(owner__name__icontains=q) | Q(site__icontains=q))
    if state:
        qs = qs.filter(state=state)
    if methodology:
        qs = qs.filter(methodology__code=methodology)
    if province:
        qs = qs.filter(province_id=province)
    return qs


def _report_base() -> QuerySet[MonitoringReport]:
    return MonitoringReport.objects.select_related("project", "project__methodology", "project__owner", "verifier")


def reports_visible_to(user) -> QuerySet[MonitoringReport]:
    if is_reviewer(user):
        return _report_base()
    condition = Q(state__in=PUBLIC_REPORT_STATES)
    if owner_org_id(user):
        condition |= Q(project__owner_id=owner_org_id(user))
    if vvb_org_id(user):
        condition |= Q(verifier_id=vvb_org_id(user))
    return _report_base().filter(condition)


def report_get(*, user, pk) -> MonitoringReport:
    report = reports_visible_to(user).filter(pk=pk).first()
    if report is None:
        raise NotFound("No such monitoring report.", field="report")
    return report


def documents_public(project: Project) -> QuerySet[Document]:
    """A project's documents the public may download: all of a disclosed project, but a report's
    documents only once that report is disclosed."""
    if project.state == Project.State.DRAFT:
        return Document.objects.none()
    return project.documents.filter(Q(report__isnull=True) | Q(report__state__in=PUBLIC_REPORT_STATES))


def documents_visible_to(user, project: Project) -> QuerySet[Document]:
    if may_see_comments(user, project):
        return project.documents.all()
    return documents_public(project)


def may_see_comments(user, project: Project) -> bool:
    """The owner, the validating VVB, a verifying VVB of one of its reports and the reviewers."""
    if is_reviewer(user):
        return True
    if owner_org_id(user) and owner_org_id(user) == project.owner_id:
        return True
    vvb = vvb_org_id(user)
    return bool(vvb and (vvb == project.validator_id or project.reports.filter(verifier_id=vvb).exists()))


def comments_visible_to(user, project: Project) -> QuerySet[Comment]:
    if not may_see_comments(user, project):
        return Comment.objects.none()
    return project.comments.select_related("report")


def issuances_public() -> QuerySet[Issuance]:
    return Issuance.objects.select_related("project", "project__methodology", "project__owner", "report")


def uses_public() -> QuerySet[CreditUse]:
    return CreditUse.objects.select_related("project", "holder", "entity")


def use_by_code(code: str) -> CreditUse:
    use = uses_public().filter(code=code.strip().upper()).first()
    if use is None:
        raise NotFound("No cancellation or retirement has this certificate code.", field="code")
    return with_registry_status([use])[0]


def use_for_certificate(code: str) -> CreditUse:
    """The use a certificate may be printed for: one whose cancellation still stands in the registry."""
    use = use_by_code(code)
    if use.reversal is not None:
        raise Conflict(_("This cancellation was reversed in the registry on %(date)s: there is no certificate.")
                       % {"date": timezone.localdate(use.reversal.executed_at) if use.reversal.executed_at else "-"},
                       "use_reversed", "code")
    return use


def _transaction_id(registry_ref: str) -> int | None:
    ref = (registry_ref or "").removeprefix("TX")
    return int(ref) if ref.isdigit() else None


def with_registry_status(uses) -> list[CreditUse]:
    """The uses, each with ``reversal``: the registry correction that undid its cancellation, or None.

    Read from the ledger, not kept on the record: a four-eyes reversal returns the units to the holder, so the
    record no longer stands as a genuine cancellation (its page says so and no certificate is issued), while
    the row itself stays as the history ``check_consistency`` matches against the registry.
    """
    uses = list(uses)
    txs = registry_selectors.transactions_by_id({_transaction_id(u.registry_ref) for u in uses} - {None})
    for use in uses:
        tx = txs.get(_transaction_id(use.registry_ref))
        use.reversal = tx.reversed_by if tx is not None and tx.status == "reversed" else None
    return uses


def ets_units_matching(project: Project) -> list[Unit]:
    """ETS units that look like this project: same province, same capacity, and the same owner
    (credit code) or the site/title naming the key entity. A project that is an ETS unit cannot
    earn CCERs (its emissions are already capped)."""
    if project.methodology.capacity_unit != Methodology.CapacityUnit.MW:
        return []
    candidates = Unit.objects.select_related("entity").filter(
        entity__province_id=project.province_id, rated_power_mw=project.capacity)
    return [u for u in candidates
            if u.entity.credit_code == project.owner.credit_code or u.entity.name in project.site
            or u.entity.name in project.title or u.code in project.site]


@dataclass(frozen=True)
class OffsetEligibility:
    eligible: bool
    reason: str
    code: str = "not_offset_eligible"


def offset_eligible(project: Project) -> OffsetEligibility:
    """Whether CCERs of ``project`` may offset an ETS obligation (the compliance app adds the 5% cap).

    The project must be registered (a cancelled project's credits are suspect) and must not be an
    ETS unit; only credits issued under a registered project exist at all.
    """
    if project.state != Project.State.REGISTERED:
        return OffsetEligibility(False, f"project is {project.get_state_display()}, not registered")
    units = ets_units_matching(project)
    if units:
        return OffsetEligibility(False, f"project coincides with ETS unit {units[0].code}")
    return OffsetEligibility(True, "registered CCER project outside the ETS")


def offset_rule(compliance_year: int) -> OffsetRule | None:
    """The registration rule for offsets of ``compliance_year`` (None before 2025: any registered CCER)."""
    return OffsetRule.objects.filter(first_compliance_year__lte=compliance_year).order_by(
        "-first_compliance_year").first()


def offset_counts_for(project: Project, instrument_code: str, compliance_year: int) -> OffsetEligibility:
    """Whether these CCERs may offset an obligation of ``compliance_year``: ``offset_eligible`` and, from
    2025, the year's registration rule (``OffsetRule``). A CCER is registered when its project is and
    when its reductions are issued into the registry; both must fall after the rule's date (the rule
    excludes credits registered before the market's launch on 2024-01-22), so the earlier of the two
    is compared, and an unknown date never passes."""
    eligibility = offset_eligible(project)
    rule = offset_rule(compliance_year)
    if not eligibility.eligible or rule is None:
        return eligibility
    issued = Issuance.objects.filter(instrument_code=instrument_code).aggregate(first=Min("issued_on"))["first"]
    dates = [d for d in (project.registered_on, issued) if d is not None]
    if len(dates) == 2 and min(dates) > rule.registered_after:
        return eligibility
    return OffsetEligibility(False, f"for {compliance_year} obligations only CCERs registered after "
                             f"{rule.registered_after.isoformat()} count ({rule.source}); these were registered on "
                             f"{min(dates).isoformat() if dates else 'an unknown date'}", "ccer_registered_too_early")


def ccer_counts_for(instrument_code: str, compliance_year: int) -> OffsetEligibility:
    """Whether a held CCER instrument may offset an obligation of ``compliance_year`` (pages and reports)."""
    issuance = Issuance.objects.select_related("project").filter(instrument_code=instrument_code).first()
    if issuance is None:
        return OffsetEligibility(False, "no CCER issuance has this instrument", "unknown_instrument")
    return offset_counts_for(issuance.project, instrument_code, compliance_year)


def uses_with_registry_refs() -> list[dict]:
    """Every offset cancellation and retirement with the registry transaction it names (``registry_ref``
    "TX123"): ``check_consistency`` proves each has its registry movement and vice versa."""
    rows = []
    for use in CreditUse.objects.order_by("pk").values("code", "kind", "registry_ref", "instrument_code", "quantity",
                                                       "compliance_year", "entity_id"):
        rows.append(dict(use, registry_transaction_id=_transaction_id(use["registry_ref"])))
    return rows
