"""``surrender_bulk``: many obligations' CEA surrenders with ``surrender``'s rules, batched, idempotent (PostgreSQL)."""

import pytest
from django.apps import apps

from cets.common.errors import DomainError
from cets.common.models import AuditEntry
from compliance import services
from compliance.cycles_seed import load_cycles
from compliance.models import ComplianceCycle, Obligation, SurrenderStep
from compliance.surrender_bulk import surrender_bulk
from registry.ledger import ledger_check
from registry.models import Transaction

from .conftest import BEFORE_DEADLINE, LATE
from .test_concurrency import race

pytestmark = [pytest.mark.postgres]


def cea(vintage, quantity):
    return [{"kind": "cea", "vintage": vintage, "quantity": quantity}]


@pytest.fixture
def funded(obligations, entity, other_entity, give):
    give(entity, 2021, 1_500_000)
    give(other_entity, 2021, 300_000)
    return obligations


@pytest.mark.django_db
def test_each_request_surrenders_as_surrender_does_and_refusals_change_nothing(
        funded, entity, other_entity, entity_user, other_entity_user):
    ob, other = funded[(entity.pk, 2021)], funded[(other_entity.pk, 2021)]
    ob22 = funded[(entity.pk, 2022)]
    out = surrender_bulk(key="k1", on_date=BEFORE_DEADLINE, batch=2, requests=[
        {"actor": entity_user, "obligation": ob, "items": cea(2021, 1_000_000)},
        {"actor": entity_user, "obligation": other, "items": cea(2021, 1)},  # another entity's obligation
        {"actor": entity_user, "obligation": ob22, "items": cea(2021, 600_000)},  # only 500,000 left held
    ])
    assert out["surrendered"] == 1 and out["replayed"] == 0
    assert sorted((r["obligation"], r["code"]) for r in out["refused"]) == sorted(
        [(other.pk, "not_found"), (ob22.pk, "insufficient_units")])
    (step,) = out["steps"][ob.pk]
    assert (step.quantity, step.instrument_code, step.late) == (1_000_000, "CEA21", False)
    assert Obligation.objects.get(pk=ob.pk).remaining_tco2 == 0
    assert Obligation.objects.get(pk=ob22.pk).remaining_tco2 == 1_200_000
    assert SurrenderStep.objects.count() == 1
    tx = Transaction.objects.get(pk=step.registry_transaction_id)
    assert (tx.kind, tx.quantity, tx.reference) == ("surrender", 1_000_000, f"compliance:{ob.pk}:k1")
    # the audit entries of one ``surrender``: the registry's transaction and the obligation's surrender
    assert AuditEntry.objects.filter(action="compliance.surrender", object_id=str(ob.pk)).count() == 1
    assert AuditEntry.objects.filter(action="registry.transaction.create", object_id=str(tx.pk)).count() == 1
    assert AuditEntry.objects.filter(action="compliance.surrender").count() == 1
    # the other entity's own request goes through, late after the deadline, as ``surrender`` counts it
    out = surrender_bulk(key="k2", on_date=LATE, requests=[
        {"actor": other_entity_user, "obligation": other, "items": cea(2021, 300_000)}])
    assert out["surrendered"] == 1 and out["steps"][other.pk][0].late is True
    assert ledger_check() == []


@pytest.mark.django_db
def test_a_repeated_key_replays_instead_of_surrendering_again(funded, entity, entity_user):
    ob = funded[(entity.pk, 2021)]
    request = {"actor": entity_user, "obligation": ob, "items": cea(2021, 400_000)}
    first = surrender_bulk(key="deadline-batch", on_date=BEFORE_DEADLINE, requests=[request])
    again = surrender_bulk(key="deadline-batch", on_date=BEFORE_DEADLINE, requests=[request])
    assert (first["surrendered"], again["surrendered"], again["replayed"]) == (1, 0, 1)
    assert again["steps"][ob.pk] == first["steps"][ob.pk]
    assert Obligation.objects.get(pk=ob.pk).surrendered_tco2 == 400_000
    other_key = surrender_bulk(key="second-batch", on_date=BEFORE_DEADLINE, requests=[request])
    assert other_key["surrendered"] == 1
    assert Obligation.objects.get(pk=ob.pk).surrendered_tco2 == 800_000


@pytest.mark.django_db
def test_bad_batches_are_refused_before_anything_moves(funded, entity, entity_user):
    ob = funded[(entity.pk, 2021)]
    request = {"actor": entity_user, "obligation": ob, "items": cea(2021, 10)}
    cases = [(dict(key="", requests=[request]), "key"),
             (dict(key="k", requests=[request, request]), "requests[1].obligation"),
             (dict(key="k", requests=[{**request, "items": [{"kind": "ccer", "instrument": "X", "quantity": 1}]}]),
              "requests[0].items"),
             (dict(key="k", requests=[{"actor": entity_user, "items": []}]), "requests[0].obligation")]
    for kwargs, field in cases:
        with pytest.raises(DomainError) as exc:
            surrender_bulk(on_date=BEFORE_DEADLINE, **kwargs)
        assert exc.value.field == field
    out = surrender_bulk(key="k", on_date=BEFORE_DEADLINE, requests=[{**request, "items": cea(2023, 10)}])
    assert [r["field"] for r in out["refused"]] == ["items[0].vintage"]  # CEA23 does not settle 2021
    assert SurrenderStep.objects.count() == 0 and ledger_check() == []


@pytest.fixture
def open_cycle(transactional_db):
    load_cycles(apps)  # the flush of a transactional test removed the seeded cycles
    return ComplianceCycle.objects.get(code="2021-2022")


@pytest.mark.django_db(transaction=True)
def test_the_same_batch_twice_at_once_and_a_single_surrender_racing_it(
        open_cycle, obligations, entity, other_entity, entity_user, other_entity_user, give):
    """Two copies of one batch (a retried request) and a single ``surrender`` of one of its obligations
    run at the same moment: the batch applies once, the single surrender goes before or after it (locks
    in the same order: no deadlock); nothing covered twice, the ledger sound."""
    give(entity, 2021, 2_000_000)
    give(other_entity, 2021, 500_000)
    ob, other = obligations[(entity.pk, 2021)], obligations[(other_entity.pk, 2021)]
    requests = [{"actor": entity_user, "obligation": ob, "items": cea(2021, 700_000)},
                {"actor": other_entity_user, "obligation": other, "items": cea(2021, 500_000)}]
    work = [lambda: surrender_bulk(key="retry", on_date=BEFORE_DEADLINE, requests=requests, batch=1),
            lambda: surrender_bulk(key="retry", on_date=BEFORE_DEADLINE, requests=requests, batch=1),
            lambda: services.surrender(actor=entity_user, obligation=ob, on_date=BEFORE_DEADLINE,
                                       items=cea(2021, 300_000))]
    results = race(3, lambda i: work[i]())
    bulk, single = results[:2], results[2]
    assert all(isinstance(r, dict) and not r["refused"] for r in bulk)
    assert sum(r["surrendered"] for r in bulk) == 2 and sum(r["replayed"] for r in bulk) == 2
    assert [s.quantity for s in single] == [300_000]
    ob = Obligation.objects.get(pk=ob.pk)
    assert ob.surrendered_tco2 == 1_000_000 == sum(SurrenderStep.objects.filter(obligation=ob)
                                                   .values_list("quantity", flat=True))
    assert Obligation.objects.get(pk=other.pk).surrendered_tco2 == 500_000
    assert Transaction.objects.filter(reference=f"compliance:{ob.pk}:retry").count() == 1
    assert ledger_check() == []
