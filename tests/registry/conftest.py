"""Registry fixtures: a second national regulator (four-eyes), CEA21, and funded holding accounts."""

import datetime as dt

import pytest
from django.utils import timezone

from entities.models import User
from registry import services
from registry.ledger import ledger_check
from registry.models import TrustedAccount
from tests import factories as f


@pytest.fixture
def national2(db):
    """A second national regulator: approves what ``national`` proposes."""
    return f.regulator(User.Role.NATIONAL_REGULATOR, username="mee2")


@pytest.fixture
def cea21(db):
    return services.instrument_get_or_create_cea(vintage=2021)


def issue(instrument, quantity, proposer, approver, to_account=None):
    tx = services.issuance_propose(actor=proposer, instrument=instrument, quantity=quantity, deliver_to=to_account)
    return services.transaction_approve(actor=approver, transaction=tx)


@pytest.fixture
def fund(national, national2):
    """``fund(account, instrument, qty)``: issue to the allocation account and allocate to ``account``."""
    counter = iter(range(1, 10_000))

    def _fund(account, instrument, quantity):
        issue(instrument, quantity, national, national2)
        services.allocation_execute(actor=national, instrument=instrument, allocations={account.pk: quantity},
                                    reference=f"test-allocation-{next(counter)}-{account.pk}")
        return account

    return _fund


@pytest.fixture
def entity_account(entity):
    return services.account_for_entity(entity=entity)


@pytest.fixture
def other_account(other_entity):
    return services.account_for_entity(entity=other_entity)


def trust(actor, account, trusted):
    """Add a trusted-list entry and let its activation delay pass (backdated: no timed tests)."""
    entry = services.trusted_account_add(actor=actor, account=account, trusted=trusted)
    TrustedAccount.objects.filter(pk=entry.pk).update(active_from=timezone.now() - dt.timedelta(seconds=1))
    return entry


def close(proposer, approver, account, comment="closed"):
    """Close an account by four-eyes: one regulator proposes, another approves."""
    tx = services.account_close_propose(actor=proposer, account=account, comment=comment)
    return services.transaction_approve(actor=approver, transaction=tx)


def assert_ledger_sound():
    problems = ledger_check()
    assert problems == [], problems
