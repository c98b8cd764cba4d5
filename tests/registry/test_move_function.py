"""The PostgreSQL ``registry_move`` function and the statement-by-statement Python give the same ledger.

The same random stream of transfers, reservations, releases, settlements and freezes runs on two vintages
with identical serials: CEA21 through the function, CEA22 through the Python that SQLite uses. Blocks,
holdings and legs must match range for range.
"""

import random

import pytest

from registry import services
from registry.models import Block, Holding, TransactionLeg
from tests import factories as f

from .conftest import assert_ledger_sound

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def _play(instrument, accounts, seed):
    rng = random.Random(seed)
    reservations = []
    for _ in range(120):
        op = rng.random()
        a, b = rng.sample(accounts, 2)
        held = services.selectors.balance(a, instrument).available
        if op < 0.5 and held:
            services.transfer_create(actor=None, from_account=a, to_account=b, instrument=instrument,
                                     quantity=rng.randint(1, held))
        elif op < 0.7 and held:
            reservations.append(services.units_reserve(actor=None, account=a, instrument=instrument,
                                                       quantity=rng.randint(1, held)))
        elif op < 0.85 and reservations:
            reservation = reservations.pop(rng.randrange(len(reservations)))
            recipient = rng.choice([x for x in accounts if x.pk != reservation.account_id])
            services.reservation_settle(reservation=reservation, to_account=recipient,
                                        quantity=rng.randint(1, reservation.quantity))
        elif reservations:
            reservation = reservations.pop(rng.randrange(len(reservations)))
            services.reservation_release(reservation=reservation, quantity=rng.randint(1, reservation.quantity))


def _ledger(instrument, accounts):
    index = {a.pk: i for i, a in enumerate(accounts)}
    index[services.national_account(kind="national_allocation").pk] = -1
    index[services.national_account(kind="national_issuance").pk] = -2  # issuance passes through it
    blocks = sorted((index[b.account_id], b.serial_start, b.serial_end, b.reservation_id is not None)
                    for b in Block.objects.filter(instrument=instrument))
    holdings = sorted((index[h.account_id], h.total, h.reserved, h.frozen)
                      for h in Holding.objects.filter(instrument=instrument))
    legs = [(index.get(leg.from_account_id), index[leg.to_account_id], leg.serial_start, leg.serial_end)
            for leg in TransactionLeg.objects.filter(instrument=instrument).order_by("transaction_id", "serial_start")]
    return blocks, holdings, legs


def test_the_function_and_the_python_path_leave_the_same_ledger(fund, monkeypatch):
    accounts = [services.account_for_entity(entity=f.EntityFactory()) for _ in range(5)]
    cea21 = services.instrument_get_or_create_cea(vintage=2021)
    cea22 = services.instrument_get_or_create_cea(vintage=2022)
    for instrument in (cea21, cea22):
        for account in accounts[:3]:
            fund(account, instrument, 10_000)
    _play(cea21, accounts, seed=7)
    monkeypatch.setattr(services, "SQL_MOVE", False)
    _play(cea22, accounts, seed=7)
    sql_ledger, python_ledger = _ledger(cea21, accounts), _ledger(cea22, accounts)
    assert sql_ledger == python_ledger
    assert len(sql_ledger[2]) > 100  # the stream really moved units
    assert_ledger_sound()


def test_blocks_that_do_not_cover_the_quantity_are_a_conflict_and_change_nothing(fund, cea21, entity_account,
                                                                               other_account):
    from django.db import transaction

    from cets.common.errors import Conflict

    fund(entity_account, cea21, 50)
    with pytest.raises(Conflict) as refused, transaction.atomic():
        services._relocate(cea21.pk, 51, from_id=entity_account.pk, to_id=other_account.pk)
    assert refused.value.code == "ledger_mismatch"
    assert services.selectors.balance(entity_account, cea21).total == 50
    assert not Block.objects.filter(account=other_account).exists()
