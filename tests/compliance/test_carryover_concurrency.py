"""Carry-over under concurrency (PostgreSQL): racing applications of one holder never pass its quota."""

import pytest

from compliance import carryover_services as services
from compliance.consistency import check_carry_over
from compliance.models import CarryOverApplication
from registry.ledger import ledger_check

from .carryover_helpers import IN_BATCH_1, IN_BATCH_2, current_scheme
from .test_concurrency import race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def scheme(transactional_db):
    """The seeded scheme (put back after a flush by tests/conftest.py), its cut-off just after now."""
    return current_scheme()


def test_racing_applications_never_pass_the_quota(notified, scheme, entity, entity_user):
    """Two applications at once, one per batch, 200,000 t each against a quota of 295,000 t: one passes."""
    moments = [IN_BATCH_1, IN_BATCH_2]
    results = race(2, lambda i: services.application_submit(actor=entity_user, entity=entity, scheme=scheme,
                                                            quantity=200_000, now=moments[i]))
    done = [r for r in results if isinstance(r, CarryOverApplication)]
    refused = [r for r in results if not isinstance(r, CarryOverApplication)]
    assert len(done) == 1 and [r.code for r in refused] in (["above_quota"], ["busy"])
    assert list(CarryOverApplication.objects.values_list("quantity_tco2", flat=True)) == [200_000]


def test_racing_applications_in_one_batch_leave_one(notified, scheme, entity, entity_user):
    results = race(3, lambda i: services.application_submit(actor=entity_user, entity=entity, scheme=scheme,
                                                            quantity=1_000 + i, now=IN_BATCH_1))
    assert sum(isinstance(r, CarryOverApplication) for r in results) == 1
    assert {r.code for r in results if not isinstance(r, CarryOverApplication)} <= {"once_per_batch", "busy"}
    assert CarryOverApplication.objects.count() == 1


def test_two_regulators_approving_at_once_carry_over_once(notified, scheme, entity, entity_user, national,
                                                          national2, hubei2):
    from entities.models import User
    from tests import factories as f

    national3 = f.regulator(User.Role.NATIONAL_REGULATOR, username="mee3")
    application = services.application_submit(actor=entity_user, entity=entity, scheme=scheme, quantity=150_000,
                                              now=IN_BATCH_1)
    services.application_propose(actor=national, application=application)
    deciders = [national2, national3]
    results = race(2, lambda i: services.application_decide(actor=deciders[i], application=application,
                                                            approve=True))
    assert sum(isinstance(r, CarryOverApplication) for r in results) == 1
    assert {r.code for r in results if not isinstance(r, CarryOverApplication)} <= {"wrong_status", "busy"}
    assert ledger_check() == [] and check_carry_over() == []
