"""Account governance (issue 14, point 7): who approves, what is refused, and that nothing changes when refused."""

import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone

from cets.common.errors import Conflict, DomainError, Forbidden
from registry import governance, selectors, services
from registry.models import AccountRepresentative, Transaction, TrustedAccount
from tests import factories as f

from .conftest import assert_ledger_sound, close, trust

TS = Transaction.Status


def test_an_applicant_never_approves_their_own_opening(national, national2, entity):
    account = services.account_apply(actor=national, kind="entity_holding", name="示范 holding", entity=entity)
    with pytest.raises(Forbidden) as err:
        services.account_approve_opening(actor=national, account=account)
    assert err.value.code == "own_proposal"
    account.refresh_from_db()
    assert account.status == "proposed" and account.opened_by is None
    account = services.account_approve_opening(actor=national2, account=account)
    assert account.status == "open" and account.applied_by == national and account.opened_by == national2


def test_closing_is_four_eyes_and_ends_representatives_and_trusted_links(national, national2, hubei, entity,
                                                                         entity_account, other_account, entity_user):
    colleague = f.UserFactory(role="entity", entity=entity)
    rep = services.representative_add(actor=national, account=entity_account, user=colleague, right="approve")
    services.transaction_approve(actor=national2, transaction=rep.requests.get())
    trust(national, entity_account, other_account)
    trust(None, other_account, entity_account)
    tx = services.account_close_propose(actor=hubei, account=entity_account, comment="merged")
    entity_account.refresh_from_db()
    assert tx.status == TS.AWAITING_APPROVAL and tx.instrument is None and entity_account.status == "open"
    with pytest.raises(Forbidden):
        services.transaction_approve(actor=hubei, transaction=tx)
    with pytest.raises(Conflict):
        services.account_close_propose(actor=national, account=entity_account, comment="again")
    tx = services.transaction_approve(actor=national, transaction=tx)
    entity_account.refresh_from_db()
    rep.refresh_from_db()
    assert tx.status == TS.COMPLETED and tx.proposed_by == hubei and tx.approved_by == national
    assert entity_account.status == "closed" and entity_account.closed_at is not None
    assert rep.status == "ended"
    assert not TrustedAccount.objects.filter(account=entity_account).exists()
    assert not TrustedAccount.objects.filter(trusted=entity_account).exists()
    assert_ledger_sound()


def test_closing_an_account_with_units_is_refused(national, national2, fund, cea21, entity_account):
    fund(entity_account, cea21, 10)
    with pytest.raises(Conflict) as err:
        services.account_close_propose(actor=national, account=entity_account, comment="x")
    assert err.value.code == "has_balance"
    assert not Transaction.objects.filter(kind="account_closure").exists()


def test_adding_and_restoring_a_representative_wait_for_a_second_regulator(national, national2, entity,
                                                                            entity_account):
    person = f.UserFactory(role="entity", entity=entity)
    rep = services.representative_add(actor=national, account=entity_account, user=person, right="initiate_approve")
    assert rep.status == "proposed"
    request = rep.requests.get()
    assert request.kind == "representative_add" and request.status == TS.AWAITING_APPROVAL
    with pytest.raises(Forbidden):
        services.transaction_approve(actor=national, transaction=request)
    services.transaction_approve(actor=national2, transaction=request)
    rep.refresh_from_db()
    assert rep.status == "active"
    services.representative_set_status(actor=national, representative=rep, status="suspended", comment="left")
    rep.refresh_from_db()
    assert rep.status == "suspended"
    services.representative_set_status(actor=national, representative=rep, status="active", comment="back")
    rep.refresh_from_db()
    assert rep.status == "suspended"
    restore = rep.requests.get(kind="representative_restore")
    services.transaction_approve(actor=national2, transaction=restore)
    rep.refresh_from_db()
    assert rep.status == "active" and restore.proposed_by == national


def test_rejected_addition_ends_the_proposed_representative(national, national2, entity, entity_account):
    person = f.UserFactory(role="entity", entity=entity)
    rep = services.representative_add(actor=national, account=entity_account, user=person, right="read")
    services.transaction_reject(actor=national2, transaction=rep.requests.get(), reason="no documents")
    rep.refresh_from_db()
    assert rep.status == "ended"
    assert selectors.can_initiate(f.UserFactory(role="entity", entity=entity), entity_account)


def test_representatives_cannot_change_on_a_closed_account(national, national2, entity, entity_account):
    person = f.UserFactory(role="entity", entity=entity)
    rep = services.representative_add(actor=national, account=entity_account, user=person, right="read")
    services.transaction_approve(actor=national2, transaction=rep.requests.get())
    rep.refresh_from_db()
    services.representative_set_status(actor=national, representative=rep, status="suspended", comment="x")
    close(national, national2, entity_account)
    rep.refresh_from_db()
    assert rep.status == "ended"
    with pytest.raises(Conflict) as err:
        services.representative_add(actor=national, account=entity_account, user=f.UserFactory(
            role="entity", entity=entity), right="read")
    assert err.value.code == "account_closed"
    with pytest.raises(Conflict):
        services.representative_set_status(actor=national, representative=rep, status="active", comment="back")
    assert AccountRepresentative.objects.filter(account=entity_account).count() == 1
    assert not Transaction.objects.filter(kind__in=Transaction.GOVERNANCE_KINDS, status=TS.AWAITING_APPROVAL).exists()


def test_representative_requests_refused_for_other_jurisdiction_and_roles(guangdong, entity_user, entity,
                                                                           entity_account):
    person = f.UserFactory(role="entity", entity=entity)
    for actor in (guangdong, entity_user):
        with pytest.raises(Forbidden):
            services.representative_add(actor=actor, account=entity_account, user=person, right="read")
        with pytest.raises(Forbidden):
            services.account_close_propose(actor=actor, account=entity_account, comment="x")
    assert not AccountRepresentative.objects.exists() and not Transaction.objects.exists()


def test_trusted_entries_only_between_open_accounts(national, entity_user, entity_account, other_account):
    services.account_set_status(actor=national, account=other_account, status="partially_frozen", comment="court")
    other_account.refresh_from_db()
    with pytest.raises(Conflict) as err:
        services.trusted_account_add(actor=entity_user, account=entity_account, trusted=other_account)
    assert err.value.code == "account_not_open" and err.value.field == "trusted"
    assert not TrustedAccount.objects.exists()


def test_trusted_entry_active_only_after_the_delay(monkeypatch, fund, cea21, entity_user, entity_account,
                                                   other_account):
    fund(entity_account, cea21, 100)
    start = timezone.make_aware(dt.datetime(2026, 12, 3, 11, 30))  # a Thursday
    monkeypatch.setattr(timezone, "now", lambda: start)
    entry = services.trusted_account_add(actor=entity_user, account=entity_account, trusted=other_account)
    assert entry.active_from == governance.trusted_active_from(start) > start + dt.timedelta(days=4)
    tx = services.transfer_create(actor=entity_user, from_account=entity_account, to_account=other_account,
                                  instrument=cea21, quantity=10)
    assert tx.status == TS.DELAYED and selectors.balance(other_account, cea21).total == 0
    monkeypatch.setattr(timezone, "now", lambda: entry.active_from + dt.timedelta(seconds=1))
    tx = services.transfer_create(actor=entity_user, from_account=entity_account, to_account=other_account,
                                  instrument=cea21, quantity=10)
    assert tx.status == TS.COMPLETED and selectors.balance(other_account, cea21).total == 10


def test_reversal_outside_the_window_is_refused(monkeypatch, national, fund, cea21, entity_account, other_account):
    fund(entity_account, cea21, 100)
    tx = services.transfer_create(actor=None, from_account=entity_account, to_account=other_account,
                                  instrument=cea21, quantity=40)
    late = governance._after_working_days(tx.executed_at, governance.reversal_window_working_days())
    monkeypatch.setattr(timezone, "now", lambda: late + dt.timedelta(minutes=1))
    with pytest.raises(Conflict) as err:
        services.reversal_propose(actor=national, transaction=tx, reason="too late")
    assert err.value.code == "reversal_window_passed"
    assert not Transaction.objects.filter(kind="reversal").exists()
    assert selectors.balance(other_account, cea21).total == 40


@pytest.mark.parametrize("status", ["partially_frozen", "fully_frozen"])
def test_reversal_never_into_a_frozen_account(national, national2, fund, cea21, entity_account, other_account,
                                              status):
    fund(entity_account, cea21, 100)
    tx = services.transfer_create(actor=None, from_account=entity_account, to_account=other_account,
                                  instrument=cea21, quantity=40)
    rev = services.reversal_propose(actor=national, transaction=tx, reason="error")
    services.account_set_status(actor=national, account=entity_account, status=status, comment="court")
    with pytest.raises(Conflict) as err:
        services.transaction_approve(actor=national2, transaction=rev)
    assert err.value.code == "account_not_open"
    rev.refresh_from_db()
    assert rev.status == TS.AWAITING_APPROVAL
    assert selectors.balance(other_account, cea21).total == 40 and selectors.balance(entity_account, cea21).total == 60
    with pytest.raises(Conflict):
        services.reversal_propose(actor=national2, transaction=tx, reason="again")
    assert_ledger_sound()


def test_one_pending_issuance_per_instrument(national, national2, cea21):
    services.issuance_propose(actor=national, instrument=cea21, quantity=100)
    with pytest.raises(Conflict) as err:
        services.issuance_propose(actor=national2, instrument=cea21, quantity=100)
    assert err.value.code == "pending_issuance"
    assert Transaction.objects.filter(kind="issuance").count() == 1


def test_issuance_only_into_the_national_issuance_account(national, national2, cea21, entity_account):
    with pytest.raises(DomainError) as err:
        services.issuance_propose(actor=national, instrument=cea21, quantity=100, to_account=entity_account)
    assert err.value.field == "to_account" and err.value.code == "issuance_not_national"
    assert not Transaction.objects.exists()
    tx = services.issuance_propose(actor=national, instrument=cea21, quantity=100, deliver_to=entity_account)
    tx = services.transaction_approve(actor=national2, transaction=tx)
    assert tx.to_account.kind == "national_issuance"
    assert [(leg.from_account_id, leg.to_account.kind) for leg in tx.legs.all()] == [(None, "national_issuance")]
    assert selectors.balance(entity_account, cea21).total == 100
    assert selectors.balance(tx.to_account, cea21).total == 0
    assert_ledger_sound()


def test_issuance_never_above_the_plan_total(national, national2, hubei, cea21):
    services.instrument_set_issuance_cap(actor=None, instrument=cea21, cap=1_000, reference="plan 2021")
    first = services.issuance_propose(actor=national, instrument=cea21, quantity=700)
    services.transaction_approve(actor=national2, transaction=first)
    with pytest.raises(DomainError) as err:
        services.issuance_propose(actor=national, instrument=cea21, quantity=301)
    assert err.value.code == "above_plan_total" and err.value.field == "quantity"
    cea21.refresh_from_db()
    assert cea21.issued == 700 and Transaction.objects.filter(kind="issuance").count() == 1
    with pytest.raises(DomainError) as err:
        services.instrument_set_issuance_cap(actor=None, instrument=cea21, cap=699)
    assert err.value.code == "below_issued"
    with pytest.raises(Forbidden):
        services.instrument_set_issuance_cap(actor=hubei, instrument=cea21, cap=5_000)
    services.transaction_approve(actor=national2, transaction=services.issuance_propose(
        actor=national, instrument=cea21, quantity=300))
    cea21.refresh_from_db()
    assert cea21.issued == 1_000 and cea21.issuance_cap == 1_000


def test_one_pending_withdrawal_per_account_and_vintage(national, fund, cea21, entity_account, other_account):
    fund(entity_account, cea21, 100)
    fund(other_account, cea21, 100)
    services.deduction_propose(actor=national, account=entity_account, instrument=cea21, quantity=10, reason="over",
                               kind="withdrawal")
    with pytest.raises(Conflict) as err:
        services.deduction_propose(actor=national, account=entity_account, instrument=cea21, quantity=5,
                                   reason="again", kind="withdrawal")
    assert err.value.code == "pending_withdrawal"
    with pytest.raises(Conflict) as err:
        services.withdrawal_bulk_propose(actor=national, instrument=cea21, reason="bulk",
                                         withdrawals={other_account.pk: 5, entity_account.pk: 5})
    assert err.value.field == f"withdrawals[{entity_account.pk}]"
    assert Transaction.objects.filter(kind="withdrawal").count() == 1
    assert selectors.balance(entity_account, cea21).reserved == 10


@pytest.mark.parametrize("kind", ["surrender", "retirement"])
def test_surrender_and_retirement_wait_for_a_second_representative(fund, cea21, entity, entity_user,
                                                                   entity_account, kind):
    fund(entity_account, cea21, 100)
    services.account_set_second_approval(actor=entity_user, account=entity_account, required=True)
    if kind == "surrender":
        tx = services.surrender_execute(actor=entity_user, account=entity_account, instrument=cea21, quantity=30,
                                        compliance_year=2021)
    else:
        tx = services.voluntary_retire(actor=entity_user, account=entity_account, instrument=cea21, quantity=30,
                                       beneficiary="城市马拉松")
    assert tx.status == TS.AWAITING_APPROVAL
    assert selectors.balance(entity_account, cea21) == selectors.Balance(100, 70, 30, 0)
    assert selectors.balance(tx.to_account, cea21).total == 0
    with pytest.raises(Forbidden):
        services.transaction_approve(actor=entity_user, transaction=tx)
    with pytest.raises(Forbidden):
        services.transaction_approve(actor=f.UserFactory(role="entity", entity=f.EntityFactory()), transaction=tx)
    colleague = f.UserFactory(role="entity", entity=entity)
    assert tx in selectors.approval_queue(colleague)
    tx = services.transaction_approve(actor=colleague, transaction=tx)
    assert tx.status == TS.COMPLETED and tx.approved_by == colleague and tx.proposed_by == entity_user
    assert selectors.balance(entity_account, cea21) == selectors.Balance(70, 70, 0, 0)
    assert selectors.balance(tx.to_account, cea21).total == 30
    assert_ledger_sound()


def test_governance_request_through_the_approval_api(api, national, national2, guangdong, entity, entity_account):
    rep = services.representative_add(actor=national, account=entity_account,
                                      user=f.UserFactory(role="entity", entity=entity), right="read")
    request = rep.requests.get()
    refused = api(guangdong, otp=True).post(f"/api/v1/registry/transactions/{request.pk}/approve/")
    assert refused.status_code in (403, 404)
    response = api(national2, otp=True).post(f"/api/v1/registry/transactions/{request.pk}/approve/")
    assert response.status_code == 200, response.json()
    assert response.json()["kind"] == "representative_add" and response.json()["instrument"] is None
    rep.refresh_from_db()
    assert rep.status == "active"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_issuance_proposals_leave_one_pending(national, national2):
    cea = services.instrument_get_or_create_cea(vintage=2023)
    services.national_account(kind="national_issuance")
    services.national_account(kind="national_allocation")
    barrier = threading.Barrier(2)
    outcomes = []

    def propose(actor):
        try:
            barrier.wait()
            services.issuance_propose(actor=actor, instrument=cea, quantity=500)
            outcomes.append("proposed")
        except Conflict as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=propose, args=(actor,)) for actor in (national, national2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["pending_issuance", "proposed"]
    assert Transaction.objects.filter(kind="issuance", instrument=cea, status=TS.AWAITING_APPROVAL).count() == 1
