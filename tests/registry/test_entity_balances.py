"""``selectors.entity_balances``: many entities' balances in one query, equal to ``balance`` of each."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from registry import selectors, services

pytestmark = pytest.mark.django_db


def test_many_entities_balances_in_one_query_as_balance_reads_them(entity, other_entity, entity_account,
                                                                   other_account, cea21, fund, national):
    cea22 = services.instrument_get_or_create_cea(vintage=2022)
    fund(entity_account, cea21, 1_000)
    fund(entity_account, cea22, 300)
    fund(other_account, cea21, 50)
    services.units_reserve(actor=None, account=entity_account, instrument=cea21, quantity=200, reference="order")
    with CaptureQueriesContext(connection) as queries:
        balances = selectors.entity_balances(entity_ids=[entity.pk, other_entity.pk], instruments=[cea21, cea22])
    assert len(queries) == 1
    assert balances == {
        entity.pk: {cea21.pk: selectors.balance(entity_account, cea21), cea22.pk: selectors.balance(entity_account,
                                                                                                     cea22)},
        other_entity.pk: {cea21.pk: selectors.balance(other_account, cea21)}}
    assert (balances[entity.pk][cea21.pk].available, balances[entity.pk][cea21.pk].reserved) == (800, 200)
