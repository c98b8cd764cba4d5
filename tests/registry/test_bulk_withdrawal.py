"""Bulk withdrawal / deduction: one four-eyes proposal over many accounts, executed in chunks, capped at
what each account holds available (the uncovered rest is returned to the caller, never a negative balance)."""

import pytest

from cets.common.errors import Conflict, DomainError, Forbidden
from cets.common.models import AuditEntry
from registry import selectors, services
from registry.models import BulkWithdrawalLine, Transaction, TransactionLeg
from tests import factories as f

from .conftest import assert_ledger_sound

pytestmark = pytest.mark.django_db

TS = Transaction.Status


@pytest.fixture
def three(fund, cea21, entity_account, other_account):
    """A holds 1,000 (100 of them reserved for a sell order), B holds 300, C holds nothing."""
    fund(entity_account, cea21, 1_000)
    fund(other_account, cea21, 300)
    services.units_reserve(actor=None, account=entity_account, instrument=cea21, quantity=100)
    empty = services.account_for_entity(entity=f.EntityFactory())
    return entity_account, other_account, empty


def total(account, instrument):
    return selectors.balance(account, instrument).total


def test_bulk_withdrawal_caps_each_account_at_its_available_units(national, national2, cea21, three):
    a, b, c = three
    allocation = services.national_account(kind="national_allocation")
    before = total(allocation, cea21)
    tx = services.withdrawal_bulk_propose(actor=national, instrument=cea21, withdrawals={a.pk: 950, b.pk: 200,
                                                                                        c.pk: 50},
                                          reason="true-up 2021: over-allocation", reference="run-7")
    assert (tx.status, tx.quantity, tx.from_account_id, tx.to_account_id) == (TS.AWAITING_APPROVAL, 1_200, None,
                                                                              allocation.pk)
    assert total(a, cea21) == 1_000  # nothing reserved or moved before approval
    assert selectors.pending_transactions(c).filter(pk=tx.pk).exists()

    uncovered = services.withdrawal_bulk_approve(actor=national2, transaction=tx)

    assert uncovered == {a.pk: 50, c.pk: 50}  # A had 900 available (100 reserved), C nothing
    left = selectors.balance(a, cea21)
    assert (left.total, left.reserved, left.available) == (100, 100, 0)
    assert total(b, cea21) == 100 and total(c, cea21) == 0
    assert total(allocation, cea21) == before + 900 + 200
    tx.refresh_from_db()
    assert (tx.status, tx.quantity, tx.approved_by_id) == (TS.COMPLETED, 1_100, national2.pk)
    lines = {line.account_id: (line.requested, line.withdrawn, line.note) for line in BulkWithdrawalLine.objects.all()}
    assert lines == {a.pk: (950, 900, "insufficient_units"), b.pk: (200, 200, ""), c.pk: (50, 0, "insufficient_units")}
    legs = TransactionLeg.objects.filter(transaction=tx)
    assert sum(leg.quantity for leg in legs if leg.from_account_id == a.pk) == 900
    assert sum(leg.quantity for leg in legs if leg.from_account_id == b.pk) == 200
    assert {leg.to_account_id for leg in legs} == {allocation.pk}
    # the lowest serials go first: A got 1..1000, its first 100 are reserved, so 101..1000 leave
    assert [(leg.serial_start, leg.serial_end) for leg in legs if leg.from_account_id == a.pk] == [(101, 1_000)]
    assert not selectors.pending_transactions(c).exists()
    assert_ledger_sound()


def test_bulk_deduction_goes_to_the_deletion_account_and_frozen_accounts_give_nothing(
        national, national2, cea21, three):
    a, b, _c = three
    services.account_set_status(actor=national, account=b, status="fully_frozen", comment="court order")
    tx = services.withdrawal_bulk_propose(actor=national, instrument=cea21, withdrawals={a.pk: 400, b.pk: 300},
                                          reason="penalty", kind="deduction")
    assert services.withdrawal_bulk_approve(actor=national2, transaction=tx) == {b.pk: 300}
    deletion = services.national_account(kind="national_deletion")
    assert total(deletion, cea21) == 400 and total(a, cea21) == 600 and total(b, cea21) == 300
    assert BulkWithdrawalLine.objects.get(account=b).note == "account_not_open"
    assert_ledger_sound()


def test_four_eyes_the_proposer_and_a_province_may_not_approve(national, national2, hubei, cea21, three):
    a, b, _c = three
    tx = services.withdrawal_bulk_propose(actor=national, instrument=cea21, withdrawals={a.pk: 10, b.pk: 20},
                                          reason="correction")
    with pytest.raises(Forbidden) as exc:
        services.withdrawal_bulk_approve(actor=national, transaction=tx)
    assert exc.value.code == "own_proposal"
    with pytest.raises(Forbidden) as exc:
        services.transaction_approve(actor=national, transaction=tx)
    assert exc.value.code == "own_proposal"
    with pytest.raises(Forbidden):
        services.withdrawal_bulk_approve(actor=hubei, transaction=tx)
    tx.refresh_from_db()
    assert tx.status == TS.AWAITING_APPROVAL and tx.approved_by_id is None
    assert (total(a, cea21), total(b, cea21)) == (1_000, 300)
    assert not TransactionLeg.objects.filter(transaction=tx).exists()
    # the approval queue's generic approve runs it too (in one database transaction)
    services.transaction_approve(actor=national2, transaction=tx)
    tx.refresh_from_db()
    assert (tx.status, tx.quantity) == (TS.COMPLETED, 30)
    assert (total(a, cea21), total(b, cea21)) == (990, 280)
    with pytest.raises(Conflict):
        services.transaction_reject(actor=national2, transaction=tx, reason="too late")
    assert_ledger_sound()


def test_bad_proposals_are_refused_and_nothing_is_written(national, hubei, cea21, three):
    a, _b, _c = three
    allocation = services.national_account(kind="national_allocation")
    cases = [
        (dict(actor=national, withdrawals={a.pk: 0}), DomainError, f"withdrawals[{a.pk}]"),
        (dict(actor=national, withdrawals={a.pk: 5, 999_999: 5}), DomainError, "withdrawals[999999]"),
        (dict(actor=national, withdrawals={allocation.pk: 5}), DomainError, f"withdrawals[{allocation.pk}]"),
        (dict(actor=national, withdrawals={}), DomainError, "withdrawals"),
        (dict(actor=hubei, withdrawals={a.pk: 5}), Forbidden, "withdrawals"),
    ]
    for kwargs, error, field in cases:
        with pytest.raises(error) as exc:
            services.withdrawal_bulk_propose(instrument=cea21, reason="x", **kwargs)
        assert exc.value.field == field
    with pytest.raises(DomainError) as exc:
        services.withdrawal_bulk_propose(actor=national, instrument=cea21, withdrawals={a.pk: 5}, reason=" ")
    assert exc.value.field == "reason"
    assert BulkWithdrawalLine.objects.count() == 0
    assert not Transaction.objects.filter(kind__in=("withdrawal", "deduction")).exists()


def test_nothing_held_anywhere_ends_cancelled_with_everything_uncovered(national, national2, cea21, three):
    _a, _b, c = three
    tx = services.withdrawal_bulk_propose(actor=national, instrument=cea21, withdrawals={c.pk: 70}, reason="x")
    assert services.withdrawal_bulk_approve(actor=national2, transaction=tx) == {c.pk: 70}
    tx.refresh_from_db()
    assert tx.status == TS.CANCELLED and tx.approved_by_id == national2.pk
    assert not TransactionLeg.objects.filter(transaction=tx).exists()
    assert_ledger_sound()


def test_chunks_commit_one_by_one_and_a_rerun_resumes_without_doubling(national, national2, cea21, three,
                                                                      monkeypatch):
    a, b, c = three
    monkeypatch.setattr(services, "BULK_WITHDRAWAL_CHUNK", 1)
    tx = services.withdrawal_bulk_propose(actor=national, instrument=cea21, withdrawals={a.pk: 100, b.pk: 100,
                                                                                        c.pk: 100}, reason="x")
    real, calls = services._withdraw_chunk, []

    def failing_second(tx, chunk):
        calls.append(chunk)
        if len(calls) == 2:
            raise RuntimeError("worker killed")
        return real(tx, chunk)

    monkeypatch.setattr(services, "_withdraw_chunk", failing_second)
    with pytest.raises(RuntimeError):
        services.withdrawal_bulk_approve(actor=national2, transaction=tx)
    tx.refresh_from_db()
    assert tx.status == TS.PROCESSING
    assert (total(a, cea21), total(b, cea21)) == (900, 300)  # the first chunk committed, the second rolled back
    monkeypatch.setattr(services, "_withdraw_chunk", real)
    assert services.withdrawal_bulk_approve(actor=national2, transaction=tx) == {c.pk: 100}
    assert (total(a, cea21), total(b, cea21)) == (900, 200)
    tx.refresh_from_db()
    assert (tx.status, tx.quantity) == (TS.COMPLETED, 200)
    assert AuditEntry.objects.filter(action="registry.transaction.withdraw_chunk", object_id=str(tx.pk)).count() == 3
    # once more: completed, nothing moves again
    assert services.withdrawal_bulk_approve(actor=national2, transaction=tx) == {c.pk: 100}
    assert (total(a, cea21), total(b, cea21)) == (900, 200)
    assert_ledger_sound()
