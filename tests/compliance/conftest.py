"""Compliance fixtures: the 2021-2022 cycle (seeded by migration), confirmed verifications, funded accounts.

Verifications are written as the MRV app stores a confirmed one (the MRV review flow is tested there);
units move through the real registry services, CCERs through the real voluntary lifecycle.
"""

import datetime as dt
from decimal import Decimal

import pytest

from compliance.models import ComplianceCycle
from compliance.services import obligations_calculate
from entities.models import User
from mrv.models import Verification
from registry import services as registry
from tests import factories as f
from tests.compliance.carryover_helpers import market, notified, open_now, scheme  # noqa: F401  (carry-over)
from tests.voluntary.conftest import (  # noqa: F401  (the voluntary cast, to issue real CCERs)
    applied,
    disclosed,
    draft,
    issued,
    owner,
    owner_org,
    registered,
    report,
    report_applied,
    report_disclosed,
    validated,
    validator,
    validator_org,
    verifier_org,
    verifier_user,
    wind,
)

BEFORE_DEADLINE = dt.date(2023, 11, 1)
LATE = dt.date(2024, 1, 5)


@pytest.fixture
def national2(db):
    return f.regulator(User.Role.NATIONAL_REGULATOR, username="mee2")


@pytest.fixture
def hubei2(db):
    return f.regulator(User.Role.PROVINCIAL_REGULATOR, province_code="42", username="hubei2")


@pytest.fixture
def cycle(db):
    return ComplianceCycle.objects.get(code="2021-2022")


def confirm(entity, year: int, tonnes) -> Verification:
    return Verification.objects.create(entity=entity, year=year, status=Verification.Status.CONFIRMED,
                                       verified_emissions_tco2=Decimal(str(tonnes)))


@pytest.fixture
def give(national, national2):
    """``give(entity, vintage, qty)``: issue CEAs of ``vintage`` straight into the entity's account."""

    def _give(entity, vintage, quantity):
        instrument = registry.instrument_get_or_create_cea(vintage=vintage)
        account = registry.account_for_entity(entity=entity)
        tx = registry.issuance_propose(actor=national, instrument=instrument, quantity=quantity, deliver_to=account)
        registry.transaction_approve(actor=national2, transaction=tx)
        return account

    return _give


@pytest.fixture
def obligations(cycle, entity, other_entity, national):
    """Hubei entity owes 1,000,000 t for 2021 and 1,200,000 t for 2022; Guangdong 500,000 t for 2021."""
    confirm(entity, 2021, "1000000.4")
    confirm(entity, 2022, "1199999.5")
    confirm(other_entity, 2021, "500000")
    obligations_calculate(actor=national, cycle=cycle, year=2021)
    obligations_calculate(actor=national, cycle=cycle, year=2022)
    return {(o.entity_id, o.year): o for o in cycle.obligations.all()}


@pytest.fixture
def ob2021(obligations, entity):
    return obligations[(entity.pk, 2021)]


@pytest.fixture
def ob2022(obligations, entity):
    return obligations[(entity.pk, 2022)]
