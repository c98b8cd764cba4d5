"""``reservations_settle``: a batch's new reservations and trade deliveries in one call, same checks as one by one."""

import pytest

from cets.common.errors import Conflict, DomainError
from registry import selectors, services
from registry.models import Reservation, Transaction
from registry.services import Delivery

from .conftest import assert_ledger_sound

pytestmark = pytest.mark.django_db


def _state(account, instrument):
    balance = selectors.balance(account, instrument)
    return balance.total, balance.reserved


def test_new_and_existing_reservations_deliver_and_what_stays_open_is_reserved(fund, cea21, entity_account,
                                                                              other_account):
    fund(entity_account, cea21, 1_000)
    resting = services.units_reserve(actor=None, account=entity_account, instrument=cea21, quantity=300)
    new = Reservation(account_id=entity_account.pk, quantity=400, reference="order 2")
    transactions = services.reservations_settle(instrument=cea21, reserve=[new], deliveries=[
        Delivery(reservation=resting, to_account_id=other_account.pk, quantity=100, reference="trade 1"),
        Delivery(reservation=new, to_account_id=other_account.pk, quantity=250, reference="trade 2"),
    ])
    assert [(t.kind, t.status, t.quantity, t.reference) for t in transactions] == [
        ("trade", "completed", 100, "trade 1"), ("trade", "completed", 250, "trade 2")]
    new.refresh_from_db()
    resting.refresh_from_db()
    assert (new.original_quantity, new.quantity, new.status) == (400, 150, "open")
    assert (resting.quantity, resting.status) == (200, "open")
    # 1,000 - 350 delivered; reserved: 200 left of the resting reservation + 150 of the new one.
    assert _state(entity_account, cea21) == (650, 350)
    assert _state(other_account, cea21) == (350, 0)
    assert sum(b.quantity for b in new.blocks.all()) == 150
    assert_ledger_sound()


@pytest.mark.parametrize("case", ["more_than_free", "more_than_reserved", "recipient_frozen"])
def test_any_refusal_changes_nothing(fund, cea21, national, entity_account, other_account, case):
    fund(entity_account, cea21, 500)
    resting = services.units_reserve(actor=None, account=entity_account, instrument=cea21, quantity=200)
    reserve, deliveries = [], [Delivery(reservation=resting, to_account_id=other_account.pk, quantity=100)]
    if case == "more_than_free":
        reserve = [Reservation(account_id=entity_account.pk, quantity=301)]
    elif case == "more_than_reserved":
        deliveries[0].quantity = 201
    else:
        services.account_set_status(actor=national, account=other_account, status="fully_frozen",
                                    comment="court order")
    before = (_state(entity_account, cea21), _state(other_account, cea21), Transaction.objects.count())
    with pytest.raises(DomainError) as refused:
        services.reservations_settle(instrument=cea21, reserve=reserve, deliveries=deliveries)
    expected = {"more_than_free": "insufficient_units", "more_than_reserved": "insufficient_reserved",
                "recipient_frozen": "account_not_open"}[case]
    assert refused.value.code == expected
    assert isinstance(refused.value, Conflict) == (case != "more_than_free")
    assert (_state(entity_account, cea21), _state(other_account, cea21), Transaction.objects.count()) == before
    assert_ledger_sound()
