"""Writes of the carry-over (结转): notices, applications, and the two regulators' decision.

Flow (2023-2024 power plan, Annex 5 [A]): the registry notifies each holder of its quota by the notice
date (``notices_issue``, recomputable until then); the entity applies in the portal or the API until
``apply_until`` (``application_submit``); a first national regulator proposes an application of its
batch (``application_propose``: the registry reserves the units oldest vintage first and proposes the
issuance), a second one approves or rejects it (``application_decide``: the units are retired into the
national deletion account and the same quantity of the target vintage is issued to the holder, in one
database transaction, so within the scheme's five working days by construction). Every step audited.

Refused with the rule named, nothing saved: an application after the deadline (``deadline_passed``), by
an entity that did not fully surrender for an excluded year (``excluded_entity``: 2023 or 2024 short
after its deadline or closed partially or non-compliant; a complete but late surrender does not exclude,
the text says 未足额清缴 "not surrendered in full"), above the quota (``above_quota``: live applications
count), twice in one batch (``once_per_batch``), or above the units available (``insufficient_units``).
Two applications at once serialise on the entity's notice row (locked), so together they never pass
the quota.
"""

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from allowances.vintage_totals import vintage_total_add, vintage_total_withdraw
from cets.common.audit import audit_record
from cets.common.calendar import add_working_days
from cets.common.errors import Conflict, DomainError, Forbidden, NotFound
from cets.common.locks import lock_rows
from cets.common.money import whole_tonnes
from registry import carryover as registry_carryover
from registry import selectors as registry_selectors
from registry import services as registry

from . import carryover_selectors as selectors
from .carryover import split_oldest_first
from .models import CarryOverApplication, CarryOverNotice, CarryOverScheme, Obligation
from .services import _require_regulator
from .standing import standing_of

A = CarryOverApplication.Status
MISSED = (Obligation.Status.PARTIAL, Obligation.Status.NON_COMPLIANT)


@transaction.atomic
def notices_issue(*, actor, scheme: CarryOverScheme) -> dict:
    """Compute every holder's quota and write (or refresh) its notice; national regulators or the system."""
    _require_regulator(actor, national_only=True)
    rows = selectors.quotas(scheme)
    CarryOverNotice.objects.bulk_create(
        [CarryOverNotice(scheme=scheme, entity_id=q.entity_id, net_sales_tco2=q.net_sales_tco2,
                         holdings_tco2=q.holdings_tco2, quota_tco2=q.quota_tco2) for q in rows],
        update_conflicts=True, unique_fields=["scheme", "entity"],
        update_fields=["net_sales_tco2", "holdings_tco2", "quota_tco2"])
    result = {"holders": len(rows), "quota_tco2": sum(q.quota_tco2 for q in rows),
              "net_sales_tco2": sum(max(q.net_sales_tco2, 0) for q in rows)}
    audit_record(actor=actor, action="compliance.carry_over.notices", obj=scheme, after=result)
    return result


def _check_not_excluded(scheme: CarryOverScheme, entity) -> None:
    years = [int(y) for y in scheme.excluded_years]
    for obligation in Obligation.objects.filter(entity=entity, year__in=years).select_related("cycle"):
        if standing_of(obligation) in MISSED:
            raise DomainError(_("%(entity)s did not surrender its %(year)s obligation in full: it may not apply for "
                                "carry-over.") % {"entity": entity.name, "year": obligation.year},
                              "excluded_entity", "entity")


def _batch_for(scheme: CarryOverScheme, on_date: dt.date):
    batch = scheme.batches.filter(receive_until__gte=on_date).order_by("number").first()
    if batch is None or on_date > scheme.apply_until:
        raise DomainError(_("Carry-over applications closed on %(date)s.") % {"date": scheme.apply_until},
                          "deadline_passed", "scheme")
    return batch


@transaction.atomic
def application_submit(*, actor, entity, scheme: CarryOverScheme, quantity, now: dt.datetime | None = None
                       ) -> CarryOverApplication:
    """The entity applies to carry ``quantity`` tonnes over (see the module docstring for the rules)."""
    if getattr(actor, "acting_entity_id", None) != entity.pk:
        raise NotFound(_("You may apply only for the entity you act for."), field="entity")
    quantity = whole_tonnes(quantity, field="quantity")
    if quantity <= 0:
        raise DomainError(_("Apply for at least one tonne."), "not_positive", "quantity")
    on_date = timezone.localdate(now or timezone.now())
    batch = _batch_for(scheme, on_date)
    _check_not_excluded(scheme, entity)
    notice = next(iter(lock_rows(CarryOverNotice.objects.filter(scheme=scheme, entity=entity))), None)
    if notice is None:
        raise DomainError(_("No carry-over quota has been notified to %(entity)s.") % {"entity": entity.name},
                          "no_notice", "entity")
    if CarryOverApplication.objects.filter(batch=batch, entity=entity, status__in=CarryOverApplication.LIVE).exists():
        raise Conflict(_("%(entity)s already has an application in batch %(n)s.") % {
            "entity": entity.name, "n": batch.number}, "once_per_batch", "scheme")
    applied = selectors.applied_tco2(scheme, entity.pk)
    if applied + quantity > notice.quota_tco2:
        raise DomainError(_("%(q)s t is above the quota: %(quota)s t notified, %(applied)s t already applied for.")
                          % {"q": f"{quantity:,}", "quota": f"{notice.quota_tco2:,}", "applied": f"{applied:,}"},
                          "above_quota", "quantity")
    _check_units(scheme, entity, quantity + selectors.unreserved_tco2(scheme, entity.pk))
    try:
        with transaction.atomic():
            application = CarryOverApplication.objects.create(scheme=scheme, batch=batch, entity=entity,
                                                              quantity_tco2=quantity, submitted_by=actor)
    except IntegrityError:
        raise Conflict(_("An application in this batch already exists."), "once_per_batch", "scheme")
    audit_record(actor=actor, action="compliance.carry_over.submit", obj=application,
                 after={"quantity": quantity, "batch": batch.number, "quota": notice.quota_tco2})
    return application


def _account(entity):
    account = registry.account_for_entity(entity=entity, create=False)
    if account is None:
        raise DomainError(_("The entity has no registry holding account."), "no_account", "entity")
    return account


def _available(scheme: CarryOverScheme, entity) -> dict[int, int]:
    return registry_selectors.available_cea(_account(entity), first_vintage=scheme.first_vintage,
                                            last_vintage=scheme.last_vintage)


def _check_units(scheme: CarryOverScheme, entity, quantity: int) -> None:
    available = sum(_available(scheme, entity).values())
    if quantity > available:
        raise DomainError(_("Only %(a)s t of %(first)s-%(last)s allowances are available, %(q)s t needed.") % {
            "a": f"{available:,}", "first": scheme.first_vintage, "last": scheme.last_vintage, "q": f"{quantity:,}"},
            "insufficient_units", "quantity")


def _lock_application(application: CarryOverApplication, expected: tuple) -> CarryOverApplication:
    (locked,) = lock_rows(CarryOverApplication.objects.filter(pk=application.pk))
    if locked.status not in expected:
        raise Conflict(_("This application is %(status)s.") % {"status": locked.get_status_display()},
                       "wrong_status", "application")
    return locked


def _total_reference(application: CarryOverApplication) -> str:
    return f"carryover:{application.pk}"


@transaction.atomic
def application_propose(*, actor, application: CarryOverApplication) -> CarryOverApplication:
    """A first national regulator proposes the application: the registry reserves the units (oldest vintage
    first) and proposes issuing the same quantity of the target vintage to the holder."""
    _require_regulator(actor, national_only=True)
    application = _lock_application(application, (A.SUBMITTED,))
    scheme, entity = application.scheme, application.entity
    try:
        parts = split_oldest_first(_available(scheme, entity), application.quantity_tco2)
    except ValueError:
        _check_units(scheme, entity, application.quantity_tco2)  # raises, naming what is available
        raise
    # The carried quantity is part of the target vintage's determined total (S5 Annex 5 is an annex of the
    # plan), recorded before the registry checks the issuance against that total.
    vintage_total_add(actor=actor, vintage=scheme.target_vintage, source="carry_over",
                      quantity=application.quantity_tco2, reference=_total_reference(application))
    txs = registry_carryover.carry_over_propose(
        actor=actor, account=_account(entity), target=registry.instrument_get_or_create_cea(
            vintage=scheme.target_vintage),
        parts=[(registry.instrument_get_or_create_cea(vintage=v), q) for v, q in parts],
        reference=str(application.pk), reason=_("Carry-over %(scheme)s, application #%(pk)s") % {
            "scheme": scheme.code, "pk": application.pk})
    now = timezone.now()
    application.status, application.proposed_by, application.proposed_at = A.PROPOSED, actor, now
    application.registry_transaction_ids = [tx.pk for tx in txs]
    application.issue_by = add_working_days(timezone.localdate(now), scheme.issue_within_working_days)
    application.save(update_fields=["status", "proposed_by", "proposed_at", "registry_transaction_ids", "issue_by"])
    audit_record(actor=actor, action="compliance.carry_over.propose", obj=application,
                 after={"parts": [[v, q] for v, q in parts],
                        "registry_transactions": application.registry_transaction_ids})
    return application


@transaction.atomic
def application_decide(*, actor, application: CarryOverApplication, approve: bool, reason: str = ""
                       ) -> CarryOverApplication:
    """A second national regulator approves a proposed application (retire and issue at once) or rejects a
    submitted or proposed one (reserved units released)."""
    _require_regulator(actor, national_only=True)
    if not approve and not (reason or "").strip():
        raise DomainError(_("A rejection needs a reason."), "required", "reason")
    application = _lock_application(application, (A.PROPOSED,) if approve else (A.SUBMITTED, A.PROPOSED))
    if application.proposed_by_id == actor.pk:
        raise Forbidden(_("You proposed this application; another regulator must decide it."), "own_proposal",
                        "application")
    if application.registry_transaction_ids:
        txs = list(registry_selectors.transactions_by_id(application.registry_transaction_ids).values())
        registry_carryover.carry_over_decide(actor=actor, transactions=txs, approve=approve, reason=reason)
        if not approve:
            vintage_total_withdraw(actor=actor, reference=_total_reference(application))
    before = application.status
    application.status = A.APPROVED if approve else A.REJECTED
    application.decided_by, application.decided_at = actor, timezone.now()
    application.reason = (reason or "").strip()[:500]
    application.save(update_fields=["status", "decided_by", "decided_at", "reason"])
    audit_record(actor=actor, action="compliance.carry_over.decide", obj=application,
                 before={"status": before}, after={"status": application.status, "quantity": application.quantity_tco2})
    return application
