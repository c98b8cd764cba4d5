"""Carry-over (结转): quotas from exchange net sales and holdings, applications, four-eyes, the ledger after it."""

import datetime as dt
from decimal import Decimal

import pytest

from allowances.vintage_totals import vintage_total, vintage_total_add
from cets.common.errors import Conflict, DomainError, Forbidden, NotFound
from compliance import carryover_selectors as selectors
from compliance import carryover_services as services
from compliance.carryover import quota, split_oldest_first
from compliance.consistency import check_carry_over
from compliance.models import CarryOverApplication, CarryOverNotice, ComplianceCycle, Obligation
from registry import selectors as registry_selectors
from registry import services as registry
from registry.ledger import ledger_check
from registry.models import Account, Instrument, Transaction

from .carryover_helpers import (
    AFTER_DEADLINE,
    IN_BATCH_1,
    IN_BATCH_2,
    held,
)

pytestmark = pytest.mark.django_db


def test_quota_formula():
    assert quota(net_sales=200_000, holdings=10**9) == 310_000  # the scheme's own example
    assert quota(net_sales=200_000, holdings=250_000) == 250_000  # capped at holdings
    assert quota(net_sales=-50_000, holdings=10**6) == 10_000  # net buyers get the base
    assert quota(net_sales=1, holdings=10**6) == 10_001  # 10,001.5 floored
    assert quota(net_sales=0, holdings=0) == 0


def test_split_takes_the_oldest_vintage_first():
    assert split_oldest_first({2023: 50, 2020: 30, 2021: 40}, 60) == [(2020, 30), (2021, 30)]
    with pytest.raises(ValueError):
        split_oldest_first({2021: 10}, 11)


def test_notices_carry_each_holders_quota(notified, scheme, entity, other_entity):
    notices = {n.entity_id: n for n in CarryOverNotice.objects.filter(scheme=scheme)}
    hubei, guangdong = notices[entity.pk], notices[other_entity.pk]
    assert (hubei.net_sales_tco2, hubei.holdings_tco2, hubei.quota_tco2) == (190_000, 400_000, 295_000)
    assert (guangdong.net_sales_tco2, guangdong.holdings_tco2, guangdong.quota_tco2) == (-190_000, 5_000, 5_000)
    assert notified == {"holders": 2, "quota_tco2": 300_000, "net_sales_tco2": 190_000}


def test_units_received_after_the_cut_off_do_not_count(market, entity):
    market.cutoff = Transaction.objects.order_by("executed_at").first().executed_at - dt.timedelta(seconds=1)
    rows = {q.entity_id: q for q in selectors.quotas(market)}
    assert (rows[entity.pk].net_sales_tco2, rows[entity.pk].holdings_tco2, rows[entity.pk].quota_tco2) == (
        190_000, 0, 0)


def test_notices_are_for_national_regulators_only(market, hubei, entity_user):
    for actor in (hubei, entity_user):
        with pytest.raises(Forbidden):
            services.notices_issue(actor=actor, scheme=market)
    assert not CarryOverNotice.objects.exists()


def test_pending_surrender_at_the_cut_off_is_not_held(market, entity):
    account = registry.account_for_entity(entity=entity)
    account.requires_second_approval = True
    account.save()
    registry._retire(actor=_entity_actor(entity), kind="surrender", account=account,
                     instrument=registry.instrument_get_or_create_cea(vintage=2021), quantity=30_000,
                     destination=Account.Kind.NATIONAL_SURRENDER, compliance_year=2021)
    rows = {q.entity_id: q for q in selectors.quotas(market)}
    assert rows[entity.pk].holdings_tco2 == 370_000  # 400,000 held, 30,000 awaiting a second representative


def _entity_actor(entity):
    from tests import factories as f

    return f.UserFactory(role="entity", entity=entity, username=f"rep-{entity.pk}")


def test_approved_application_retires_oldest_first_and_issues_cea25(notified, scheme, entity, entity_user,
                                                                    national, national2):
    application = services.application_submit(actor=entity_user, entity=entity, scheme=scheme, quantity=295_000,
                                              now=IN_BATCH_1)
    assert (application.batch.number, application.status) == (1, "submitted")
    services.application_propose(actor=national, application=application)
    assert (held(entity, 2019), held(entity, 2021)) == (0, 105_000)  # reserved, oldest first
    assert check_carry_over() == []
    services.application_decide(actor=national2, application=application, approve=True)
    application.refresh_from_db()
    assert application.status == "approved" and application.decided_by == national2
    assert (held(entity, 2019), held(entity, 2021), held(entity, 2025)) == (0, 105_000, 295_000)
    cea25 = Instrument.objects.get(code="CEA25")
    assert cea25.issued == 295_000
    deletion = registry.national_account(kind=Account.Kind.NATIONAL_DELETION)
    retired = Transaction.objects.filter(kind="carry_over", status="completed", to_account=deletion)
    assert sorted((t.instrument.code, t.quantity) for t in retired) == [("CEA19-20", 100_000), ("CEA21", 195_000)]
    assert ledger_check() == [] and check_carry_over() == []
    with pytest.raises(Conflict) as exc:  # never undone one part at a time
        registry.reversal_propose(actor=national, transaction=retired.first(), reason="mistake")
    assert exc.value.code == "carry_over_part"
    totals = {r["instrument"]: r for r in registry_selectors.vintage_totals()}
    assert (totals["CEA21"]["carried_over"], totals["CEA21"]["deleted"], totals["CEA25"]["issued"]) == (
        195_000, 0, 295_000)
    assert selectors.batch_totals(scheme)[0] == {
        "number": 1, "receive_until": dt.date(2026, 3, 13), "decide_by": dt.date(2026, 3, 27), "received": 1,
        "approved": 1, "approved_tco2": 295_000, "rejected": 0}


def _refused(code, work):
    before = (CarryOverApplication.objects.count(), Transaction.objects.count())
    with pytest.raises(DomainError) as exc:
        work()
    assert exc.value.code == code
    assert (CarryOverApplication.objects.count(), Transaction.objects.count()) == before
    return exc.value


def test_bad_applications_are_refused_with_the_rule_named(notified, scheme, entity, entity_user):
    def submit(quantity, now=IN_BATCH_1):
        return lambda: services.application_submit(actor=entity_user, entity=entity, scheme=scheme,
                                                   quantity=quantity, now=now)

    assert _refused("deadline_passed", submit(1_000, AFTER_DEADLINE)).field == "scheme"
    assert _refused("above_quota", submit(295_001)).field == "quantity"
    submit(200_000)()
    assert _refused("once_per_batch", submit(1_000)).code == "once_per_batch"
    assert _refused("above_quota", submit(95_001, IN_BATCH_2)).field == "quantity"  # 200,000 already applied for
    services.application_submit(actor=entity_user, entity=entity, scheme=scheme, quantity=95_000, now=IN_BATCH_2)
    assert selectors.applied_tco2(scheme, entity.pk) == 295_000


def test_an_entity_that_missed_its_2024_surrender_may_not_apply(notified, scheme, entity, entity_user):
    cycle = ComplianceCycle.objects.get(code="2024")  # deadline 2025-12-31: long passed, nothing surrendered
    Obligation.objects.create(cycle=cycle, entity=entity, year=2024, verified_emissions_tco2=1_000,
                              quantity_tco2=1_000)
    exc = _refused("excluded_entity", lambda: services.application_submit(
        actor=entity_user, entity=entity, scheme=scheme, quantity=1_000, now=IN_BATCH_1))
    assert exc.field == "entity" and "2024" in str(exc.message)


def test_units_sold_after_the_cut_off_cannot_be_applied_for(notified, scheme, entity, other_entity, entity_user):
    registry.transfer_create(actor=None, from_account=registry.account_for_entity(entity=entity),
                             to_account=registry.account_for_entity(entity=other_entity),
                             instrument=registry.instrument_get_or_create_cea(vintage=2021), quantity=250_000)
    _refused("insufficient_units", lambda: services.application_submit(
        actor=entity_user, entity=entity, scheme=scheme, quantity=200_000, now=IN_BATCH_1))


def test_who_may_do_what(notified, scheme, entity, entity_user, other_entity_user, national, national2, hubei):
    with pytest.raises(NotFound):
        services.application_submit(actor=other_entity_user, entity=entity, scheme=scheme, quantity=1_000,
                                    now=IN_BATCH_1)
    application = services.application_submit(actor=entity_user, entity=entity, scheme=scheme, quantity=1_000,
                                              now=IN_BATCH_1)
    for actor in (hubei, entity_user):
        with pytest.raises(Forbidden):
            services.application_propose(actor=actor, application=application)
    services.application_propose(actor=national, application=application)
    with pytest.raises(Forbidden) as exc:
        services.application_decide(actor=national, application=application, approve=True)
    assert exc.value.code == "own_proposal"
    issuance = Transaction.objects.get(kind="issuance", reference=f"carryover:{application.pk}")
    with pytest.raises(Conflict) as exc:  # never one part alone from the registry's approval queue
        registry.transaction_approve(actor=national2, transaction=issuance)
    assert exc.value.code == "carry_over_part"
    application.refresh_from_db()
    assert application.status == "proposed" and held(entity, 2025) == 0


def test_rejection_releases_the_units_and_the_plan_total(notified, scheme, entity, entity_user, national, national2):
    cea25 = registry.instrument_get_or_create_cea(vintage=2025)
    vintage_total_add(actor=national, vintage=2025, source="pre_allocation", quantity=1_000_000, reference="run:pre")
    application = services.application_submit(actor=entity_user, entity=entity, scheme=scheme, quantity=150_000,
                                              now=IN_BATCH_1)
    services.application_propose(actor=national, application=application)
    assert Instrument.objects.get(pk=cea25.pk).issuance_cap == 1_150_000 == vintage_total(2025)
    with pytest.raises(DomainError) as exc:
        services.application_decide(actor=national2, application=application, approve=False, reason=" ")
    assert exc.value.code == "required"
    services.application_decide(actor=national2, application=application, approve=False, reason="not eligible")
    application.refresh_from_db()
    assert application.status == "rejected"
    assert (held(entity, 2019), held(entity, 2021), held(entity, 2025)) == (100_000, 300_000, 0)
    assert Instrument.objects.get(pk=cea25.pk).issuance_cap == 1_000_000 == vintage_total(2025)
    assert ledger_check() == [] and check_carry_over() == []
    # a rejected application frees its batch and its quota
    again = services.application_submit(actor=entity_user, entity=entity, scheme=scheme, quantity=295_000,
                                        now=IN_BATCH_1)
    assert again.quantity_tco2 == 295_000 and Decimal(selectors.applied_tco2(scheme, entity.pk)) == 295_000


def test_notices_rerun_refreshes_the_figures(notified, scheme, entity, national, give):
    give(entity, 2022, 1_000)
    services.notices_issue(actor=national, scheme=scheme)
    notice = CarryOverNotice.objects.get(scheme=scheme, entity=entity)
    assert (CarryOverNotice.objects.count(), notice.holdings_tco2, notice.quota_tco2) == (2, 401_000, 295_000)


def test_check_consistency_sees_an_application_without_its_registry_movements(notified, scheme, entity,
                                                                               entity_user):
    application = services.application_submit(actor=entity_user, entity=entity, scheme=scheme, quantity=5_000,
                                              now=IN_BATCH_1)
    CarryOverApplication.objects.filter(pk=application.pk).update(status="approved")
    assert check_carry_over() == [f"application carryover:{application.pk}: 5,000 t carried over, registry retired "
                                  f"0 t and issued 0 t"]


def test_a_carry_over_before_the_first_determination_is_part_of_the_vintage_total(
        notified, scheme, entity, entity_user, national, national2):
    """Batch 1 (March) comes before the industry pre-allocation (April): the later determination adds to the
    carried quantity instead of setting the cap below what was already issued."""
    application = services.application_submit(actor=entity_user, entity=entity, scheme=scheme, quantity=150_000,
                                              now=IN_BATCH_1)
    services.application_propose(actor=national, application=application)
    services.application_decide(actor=national2, application=application, approve=True)
    assert held(entity, 2025) == 150_000 and vintage_total(2025) == 150_000
    vintage_total_add(actor=national, vintage=2025, source="pre_allocation", quantity=2_000_000, reference="run:pre")
    cea25 = registry.instrument_get_or_create_cea(vintage=2025)
    assert Instrument.objects.get(pk=cea25.pk).issuance_cap == 2_150_000 == vintage_total(2025)
    assert ledger_check() == [] and check_carry_over() == []
