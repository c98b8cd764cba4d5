"""Two regulators close the same cycle at the same moment; entities race to surrender (PostgreSQL)."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.apps import apps
from django.db import connection

from cets.common.errors import DomainError
from cets.common.models import Job
from compliance import services
from compliance.cycles_seed import load_cycles
from compliance.models import ComplianceCycle, Obligation, SurrenderStep
from registry.ledger import ledger_check

from .conftest import BEFORE_DEADLINE

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def race(n: int, work) -> list:
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
def cycle(transactional_db):
    load_cycles(apps)  # the flush of a transactional test removed the seeded cycles
    return ComplianceCycle.objects.get(code="2021-2022")


def test_second_concurrent_close_is_refused(cycle, obligations, national, national2):
    results = race(2, lambda i: services.cycle_close(actor=[national, national2][i], cycle=cycle))
    jobs = [r for r in results if isinstance(r, Job)]
    refused = [r for r in results if isinstance(r, DomainError)]
    assert len(jobs) == 1 and len(refused) == 1
    assert refused[0].code in ("cycle_closing", "cycle_closed")
    assert Job.objects.filter(kind=services.CLOSE_JOB).count() == 1
    cycle.refresh_from_db()
    assert cycle.status == "closed"
    assert Obligation.objects.filter(closed_at__isnull=False).count() == 3
    assert Job.objects.get().status == "succeeded"


def test_racing_surrenders_never_exceed_the_obligation(cycle, obligations, entity, entity_user, give):
    ob = obligations[(entity.pk, 2021)]
    give(entity, 2021, 2_000_000)
    results = race(4, lambda i: services.surrender(actor=entity_user, obligation=ob, on_date=BEFORE_DEADLINE,
                                                   items=[{"kind": "cea", "vintage": 2021, "quantity": 400_000}]))
    done = [r for r in results if isinstance(r, list)]
    assert len(done) == 2  # 2 x 400,000 fit in 1,000,000; a third would exceed it
    assert all(r.code in ("more_than_owed", "busy") for r in results if isinstance(r, DomainError))
    ob.refresh_from_db()
    assert ob.surrendered_tco2 == 800_000 == sum(SurrenderStep.objects.values_list("quantity", flat=True))
    assert ledger_check() == []


def test_a_reversal_racing_a_surrender_leaves_one_story(cycle, obligations, entity, entity_user, give, national,
                                                       national2):
    """A four-eyes reversal of a surrender and a new surrender of the same obligation at the same moment.

    The surrender reads what remains from the ledger after locking the obligation; the reversal moves
    the units back without touching the obligation. Whichever commits first, the obligation, the
    ledger and the national accounts agree afterwards and nothing is covered twice.
    """
    from compliance.consistency import consistency_check
    from registry import services as registry
    from registry.models import Transaction

    ob = obligations[(entity.pk, 2021)]
    give(entity, 2021, 1_000_000)
    (first,) = services.surrender(actor=entity_user, obligation=ob, on_date=BEFORE_DEADLINE,
                                  items=[{"kind": "cea", "vintage": 2021, "quantity": 600_000}])
    proposal = registry.reversal_propose(actor=national, reason="surrendered by mistake",
                                         transaction=Transaction.objects.get(pk=first.registry_transaction_id))
    work = [lambda: registry.transaction_approve(actor=national2, transaction=proposal),
            lambda: services.surrender(actor=entity_user, obligation=ob, on_date=BEFORE_DEADLINE,
                                       items=[{"kind": "cea", "vintage": 2021, "quantity": 700_000}])]
    results = race(2, lambda i: work[i]())
    assert isinstance(results[0], Transaction) and results[0].status == "completed"
    surrendered = isinstance(results[1], list)  # only when the reversal had committed before it read the ledger
    if not surrendered:
        assert results[1].code in ("more_than_owed", "busy")
    ob = Obligation.objects.get(pk=ob.pk)
    assert ob.surrendered_tco2 == (700_000 if surrendered else 0)
    assert ob.remaining_tco2 == ob.quantity_tco2 - ob.surrendered_tco2
    assert consistency_check() == {"obligations": [], "allocations": [], "cash": [], "ccer_uses": [],
                                   "carry_over": []}
    assert ledger_check() == []
