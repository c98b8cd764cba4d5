"""The business clock (``cets.common.clock``): the wall clock unless a block runs as of a business moment;
the registry's legs, the exchange's clock and the voluntary market's date read it; the holdings at a cut-off
then see what was stamped before it."""

import datetime as dt
import threading
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from cets.common import clock
from registry import selectors
from registry.models import TransactionLeg
from trading import rules
from voluntary import clock as voluntary_clock

from .conftest import assert_ledger_sound

SHANGHAI = ZoneInfo("Asia/Shanghai")
MOMENT = dt.datetime(2025, 6, 30, 10, tzinfo=SHANGHAI)


def test_wall_clock_unless_a_block_sets_a_moment_and_nested_blocks_restore():
    before = timezone.now()
    assert before <= clock.now() <= timezone.now()
    with clock.as_of(MOMENT):
        assert clock.now() == MOMENT == rules.market_now()
        assert voluntary_clock.today() == dt.date(2025, 6, 30)
        with voluntary_clock.frozen(dt.date(2024, 2, 1)):  # the voluntary market's own freeze wins
            assert voluntary_clock.today() == dt.date(2024, 2, 1)
        with clock.as_of(MOMENT + dt.timedelta(days=1)):
            assert clock.now() == MOMENT + dt.timedelta(days=1)
        assert clock.now() == MOMENT
    assert clock.now() >= before and clock.now().year == timezone.now().year


def test_the_moment_is_the_threads_own_and_naive_moments_are_refused():
    seen = []
    with clock.as_of(MOMENT):
        worker = threading.Thread(target=lambda: seen.append(clock.now()))
        worker.start()
        worker.join()
    assert seen[0] != MOMENT
    with pytest.raises(ValueError):
        clock.as_of(dt.datetime(2025, 6, 30)).__enter__()  # refused on entry: a naive moment has no zone


def test_registry_moves_are_stamped_as_of_the_business_moment(fund, entity_account, cea21):
    with clock.as_of(MOMENT):
        fund(entity_account, cea21, 5_000)
    legs = TransactionLeg.objects.filter(to_account=entity_account)
    assert [leg.executed_at for leg in legs] == [MOMENT]
    fund(entity_account, cea21, 700)  # no block: the wall clock, as in production
    assert TransactionLeg.objects.filter(to_account=entity_account).latest("pk").executed_at.year == \
        timezone.now().year
    held = selectors.holdings_at(first_vintage=2019, last_vintage=2024, at=MOMENT + dt.timedelta(hours=1))
    assert held[entity_account.pk] == (entity_account.entity_id, 5_000)
    assert_ledger_sound()
