import io

import pytest

from entities import demo as entities_demo
from registry import demo
from registry.models import Account, Transaction

from .conftest import assert_ledger_sound

pytestmark = pytest.mark.django_db


def test_demo_seed_is_idempotent():
    base = entities_demo.seed(io.StringIO())
    demo.seed(io.StringIO(), base)
    counts = (Account.objects.count(), Transaction.objects.count())
    demo.seed(io.StringIO(), base)
    assert (Account.objects.count(), Transaction.objects.count()) == counts
    assert Account.objects.filter(kind="entity_holding").count() == len(base["entities"])
    allocation = Transaction.objects.get(kind="allocation")
    assert allocation.status == "completed" and allocation.quantity > 0
    assert Transaction.objects.get(kind="transfer").status == "delayed"
    assert_ledger_sound()
