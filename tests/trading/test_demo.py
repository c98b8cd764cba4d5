"""The demo seed runs after the entities and registry demos, and a second run changes nothing."""

import io

import pytest

from entities import demo as entities_demo
from registry import demo as registry_demo
from trading import demo
from trading.models import CashJournal, DailyBar, Order, Participant
from trading.selectors import cash_check

pytestmark = pytest.mark.django_db


def test_demo_seed_is_idempotent():
    out = io.StringIO()
    base = entities_demo.seed(out)
    registry_demo.seed(out, base)
    demo.seed(out, base)
    counts = (Participant.objects.count(), CashJournal.objects.count(), Order.objects.count(),
              DailyBar.objects.count())
    assert counts[0] == len(base["entities"]) and counts[2] == 5 and counts[3] == 60
    demo.seed(out, base)
    assert (Participant.objects.count(), CashJournal.objects.count(), Order.objects.count(),
            DailyBar.objects.count()) == counts
    assert cash_check() == []
