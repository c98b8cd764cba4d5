"""Concurrent clients against PostgreSQL: no overdraft, no deadlock, invariants hold afterwards."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from cets.common.errors import Busy, DomainError
from registry import selectors, services
from registry.models import Account, Transaction
from tests import factories as f

from .conftest import assert_ledger_sound

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def race(n: int, work) -> list:
    """Run ``work(i)`` in ``n`` threads released together; return each result or the domain error raised."""
    barrier = threading.Barrier(n)

    def one(i):
        try:
            barrier.wait()
            return work(i)
        except DomainError as exc:
            return exc
        finally:
            connection.close()

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


@pytest.fixture
def funded(fund, cea21, entity_account):
    fund(entity_account, cea21, 100)
    return entity_account


def test_racing_to_spend_one_holding_never_overdraws(funded, cea21):
    recipients = [services.account_for_entity(entity=f.EntityFactory()) for _ in range(8)]
    results = race(8, lambda i: services.transfer_create(actor=None, from_account=funded, to_account=recipients[i],
                                                         instrument=cea21, quantity=30))
    done = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, DomainError)]
    assert all(r.code in ("insufficient_units", "busy") for r in refused)
    busy = any(isinstance(r, Busy) for r in refused)
    assert len(done) <= 3 if busy else len(done) == 3
    assert selectors.balance(funded, cea21).total == 100 - 30 * len(done)
    assert sum(selectors.balance(a, cea21).total for a in recipients) == 30 * len(done)
    assert_ledger_sound()


def test_transfer_cycles_do_not_deadlock(fund, cea21, entity_account, other_account):
    fund(entity_account, cea21, 500)
    fund(other_account, cea21, 500)
    pair = [(entity_account, other_account), (other_account, entity_account)]

    def work(i):
        src, dst = pair[i % 2]
        moved = 0
        for _ in range(15):
            try:
                services.transfer_create(actor=None, from_account=src, to_account=dst, instrument=cea21, quantity=7)
                moved += 7
            except Busy:
                continue  # refused cleanly, nothing moved: the invariants below prove it
        return moved

    results = race(6, work)
    assert not any(isinstance(r, Exception) for r in results), results
    a = selectors.balance(entity_account, cea21).total
    b = selectors.balance(other_account, cea21).total
    assert a + b == 1_000
    assert a == 500 - sum(results[0::2]) + sum(results[1::2])
    assert_ledger_sound()


def test_simultaneous_surrenders(funded, cea21, entity_user):
    results = race(6, lambda i: services.surrender_execute(actor=entity_user, account=funded, instrument=cea21,
                                                           quantity=40, compliance_year=2021))
    done = [r for r in results if not isinstance(r, Exception)]
    assert 1 <= len(done) <= 2
    assert all(r.code in ("insufficient_units", "busy") for r in results if isinstance(r, DomainError))
    surrender = services.national_account(kind=Account.Kind.NATIONAL_SURRENDER)
    assert selectors.balance(surrender, cea21).total == 40 * len(done)
    assert selectors.balance(funded, cea21).total == 100 - 40 * len(done)
    assert_ledger_sound()


def test_reserve_and_settle_race(funded, cea21, other_account):
    """Sell orders reserving while settlements deliver: reserved + available never exceeds the holding."""
    reservation = services.units_reserve(actor=None, account=funded, instrument=cea21, quantity=50)

    def work(i):
        if i % 2:
            return services.units_reserve(actor=None, account=funded, instrument=cea21, quantity=20)
        return services.reservation_settle(reservation=reservation, to_account=other_account, quantity=10)

    results = race(8, work)
    settled = sum(1 for r in results if getattr(r, "kind", None) == "trade")
    assert settled == 4
    held = selectors.balance(funded, cea21)
    assert held.total == 60 and held.available >= 0 and held.reserved + held.available == 60
    assert_ledger_sound()


def test_concurrent_retries_with_one_idempotency_key_transfer_once(funded, cea21, entity_user, other_account):
    from tests.conftest import api_client

    body = {"from_account": funded.pk, "to_account": other_account.number, "instrument": "CEA21", "quantity": 30}

    def work(i):
        response = api_client(entity_user).post("/api/v1/registry/transfers/", body, format="json",
                                                HTTP_IDEMPOTENCY_KEY="same-key")
        return response.status_code, response.json().get("id")

    results = race(4, work)
    assert {r[0] for r in results} == {201}, results
    assert len({r[1] for r in results}) == 1
    assert Transaction.objects.filter(kind="transfer").count() == 1
    assert selectors.balance(funded, cea21).reserved == 30
    assert_ledger_sound()


def test_a_held_lock_becomes_a_clean_busy_409(funded, cea21, entity_user, other_account, settings):
    """A writer stuck behind a lock gives up after LOCK_TIMEOUT_MS with "busy, retry" and changes nothing."""
    from django.db import transaction

    from registry.models import Account as AccountModel
    from tests.conftest import api_client

    settings.LOCK_TIMEOUT_MS = 300
    holding = threading.Event()
    release = threading.Event()

    def hold():
        try:
            with transaction.atomic():
                list(AccountModel.objects.select_for_update().filter(pk=funded.pk))
                holding.set()
                release.wait(5)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(5)
        body = {"from_account": funded.pk, "to_account": other_account.number, "instrument": "CEA21", "quantity": 5}
        response = api_client(entity_user).post("/api/v1/registry/transfers/", body, format="json")
    finally:
        release.set()
        holder.join()
    assert response.status_code == 409 and response.json()["error"]["code"] == "busy"
    assert Transaction.objects.filter(kind="transfer").count() == 0
    assert selectors.balance(funded, cea21).available == 100


def test_bulk_withdrawal_racing_transfers_never_overdraws(fund, cea21, national, national2, monkeypatch):
    """Seven holders spend while a bulk withdrawal takes from them in chunks: each account gives what it
    still holds when its chunk runs, never more; units are conserved and the ledger stays sound."""
    from registry.models import BulkWithdrawalLine

    monkeypatch.setattr(services, "BULK_WITHDRAWAL_CHUNK", 3)
    holders = [fund(services.account_for_entity(entity=f.EntityFactory()), cea21, 100) for _ in range(7)]
    sink = services.account_for_entity(entity=f.EntityFactory())
    tx = services.withdrawal_bulk_propose(actor=national, instrument=cea21, reason="race",
                                          withdrawals={a.pk: 60 for a in holders})

    def work(i):
        if i == 0:
            return services.withdrawal_bulk_approve(actor=national2, transaction=tx)
        return services.transfer_create(actor=None, from_account=holders[i - 1], to_account=sink, instrument=cea21,
                                        quantity=50)

    results = race(8, work)
    if isinstance(results[0], Exception):  # a lock timeout: the rerun resumes where it stopped
        assert isinstance(results[0], Busy)
        results[0] = services.withdrawal_bulk_approve(actor=national2, transaction=tx)
    tx.refresh_from_db()
    assert tx.status == Transaction.Status.COMPLETED
    lines = {line.account_id: line.withdrawn for line in BulkWithdrawalLine.objects.filter(transaction=tx)}
    transferred = {a.pk: 50 if not isinstance(results[i + 1], Exception) else 0 for i, a in enumerate(holders)}
    for a in holders:
        assert lines[a.pk] in (60, 50)  # 60 when it ran first, 50 when the transfer had taken 50
        assert selectors.balance(a, cea21).total + lines[a.pk] + transferred[a.pk] == 100
    assert results[0] == {pk: 60 - n for pk, n in lines.items() if n < 60}
    assert tx.quantity == sum(lines.values())
    assert selectors.balance(sink, cea21).total == sum(transferred.values())
    assert_ledger_sound()
