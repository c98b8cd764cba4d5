"""One record: every door that moves units into a national account obeys the same rules, and what an
obligation has covered is read from the ledger (a reversal reopens it; report, registry and certificate agree).
"""

import io
import re
from decimal import Decimal

import pytest
from django.core.management import call_command

from cets.common.errors import Conflict, DomainError
from compliance import selectors, services
from compliance.consistency import consistency_check
from compliance.models import Certificate, Obligation, SurrenderStep
from registry import selectors as registry_selectors
from registry import services as registry
from registry.models import Account, Holding, Transaction
from voluntary.models import CreditUse

from .conftest import BEFORE_DEADLINE
from .test_services import close, entity_ccers  # noqa: F401  (closing as a worker would; CCERs in the entity account)

pytestmark = pytest.mark.django_db


def snapshot():
    """Everything a refused request must leave as it was: holdings, transactions, steps, uses, coverage."""
    return (sorted(Holding.objects.values_list("account_id", "instrument_id", "total", "reserved", "frozen")),
            Transaction.objects.count(), SurrenderStep.objects.count(), CreditUse.objects.count(),
            [(o.pk, o.surrendered_tco2, o.offsets_tco2, o.on_time_tco2) for o in Obligation.objects.order_by("pk")])


@pytest.fixture
def holder(ob2021, entity, give, entity_ccers):  # noqa: F811
    """The Hubei entity owes 1,000,000 t for 2021 and holds CEA21, CEA22 and 2 x 32,826 t of CCERs."""
    give(entity, 2021, 1_000_000)
    give(entity, 2022, 10)
    return registry.account_for_entity(entity=entity)


def _refused(response, status, code, field):
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert (error["code"], error["field"]) == (code, field), error
    assert error["message"]


# ---- the registry refuses what needs only registry data, for every caller -------------------------------

def test_registry_surrender_takes_ceas_of_the_year_or_earlier_only(holder, entity_user, entity_ccers):  # noqa: F811
    before = snapshot()
    ccer = registry_selectors.instrument_get(entity_ccers[2022])
    for instrument, code in ((ccer, "ccer_not_allowed"), (registry.instrument_get_or_create_cea(vintage=2022),
                                                          "later_vintage")):
        with pytest.raises(DomainError) as exc:
            registry.surrender_execute(actor=entity_user, account=holder, instrument=instrument, quantity=5,
                                       compliance_year=2021)
        assert (exc.value.code, exc.value.field) == (code, "instrument")
    assert snapshot() == before


def test_allocation_and_withdrawal_never_take_ccers(holder, national, entity_ccers):  # noqa: F811
    ccer = registry_selectors.instrument_get(entity_ccers[2022])
    before = snapshot()
    with pytest.raises(DomainError) as exc:
        registry.allocation_execute(actor=national, instrument=ccer, allocations={holder.pk: 5}, reference="r-1")
    assert (exc.value.code, exc.value.field) == ("ccer_not_allowed", "instrument")
    with pytest.raises(DomainError) as exc:
        registry.deduction_propose(actor=national, account=holder, instrument=ccer, quantity=5, reason="x",
                                   kind="withdrawal")
    assert (exc.value.code, exc.value.field) == ("ccer_not_allowed", "instrument")
    with pytest.raises(DomainError) as exc:
        registry.withdrawal_bulk_propose(actor=national, instrument=ccer, withdrawals={holder.pk: 5}, reason="x")
    assert (exc.value.code, exc.value.field) == ("ccer_not_allowed", "instrument")
    assert snapshot() == before


@pytest.mark.parametrize("kind", Account.NATIONAL_KINDS)
def test_plain_transfer_into_a_national_account_refused(holder, entity_user, kind):
    target = registry.national_account(kind=kind)
    before = snapshot()
    for actor in (entity_user, None):  # a person and the system alike
        with pytest.raises(DomainError) as exc:
            registry.transfer_create(actor=actor, from_account=holder, to_account=target,
                                     instrument=registry.instrument_get_or_create_cea(vintage=2021), quantity=5)
        assert (exc.value.code, exc.value.field) == ("national_account", "to_account")
    assert snapshot() == before


# ---- every unit-moving endpoint of the OpenAPI schema -----------------------------------------------------

#: POST paths of the schema that move units; each with the refusals it must give (body, code, field).
#: ``{ob}`` is the obligation's id, ``{account}`` the entity's holding account, ``{entity}`` the entity.
UNIT_MOVING = {
    "/api/v1/compliance/obligations/{id}/surrender/": [
        ({"items": [{"kind": "cea", "vintage": 2022, "quantity": 5}]}, "later_vintage", "items[0].vintage"),
        ({"items": [{"kind": "ccer", "instrument": "{ccer}", "quantity": 10_001}]}, "offset_cap_exceeded",
         "items"),
    ],
    "/api/v1/registry/surrenders/": [
        ({"account": "{account}", "instrument": "CEA22", "quantity": 5, "compliance_year": 2021}, "later_vintage",
         "instrument"),
        ({"account": "{account}", "instrument": "{ccer}", "quantity": 5, "compliance_year": 2021},
         "ccer_not_allowed", "instrument"),
        ({"account": "{account}", "instrument": "CEA21", "quantity": 5, "compliance_year": 2023}, "no_obligation",
         "compliance_year"),
    ],
    "/api/v1/voluntary/offsets/": [
        ({"entity": "{entity}", "instrument": "{ccer}", "quantity": 10_001, "compliance_year": 2021},
         "offset_cap_exceeded", "quantity"),
        ({"entity": "{entity}", "instrument": "CEA21", "quantity": 5, "compliance_year": 2021}, "not_ccer",
         "instrument"),
        ({"entity": "{entity}", "instrument": "{ccer}", "quantity": 5, "compliance_year": 2024}, "no_obligation",
         "compliance_year"),
    ],
    "/api/v1/voluntary/retirements/": [
        ({"instrument": "CEA21", "quantity": 5, "beneficiary": "x", "purpose": "event"}, "not_ccer", "instrument"),
    ],
    "/api/v1/registry/transfers/": [
        ({"from_account": "{account}", "to_account": "{surrender_account}", "instrument": "CEA21", "quantity": 5,
          "reference": ""}, "national_account", "to_account"),
    ],
    "/api/v1/voluntary/transfers/": [
        ({"instrument": "{ccer}", "to_account": "{cancellation_account}", "quantity": 5}, "national_account",
         "to_account"),
    ],
}
#: POST paths the pattern below matches that move no units (with why).
NOT_UNIT_MOVING = {
    "/api/v1/trading/cash/withdrawals/": "cash, not units",
    "/api/v1/trading/bulk-proposals/{id}/withdraw/": "withdraws a trading proposal",
}
MOVES_UNITS = re.compile(r"surrender|offset|retire|transfer|deduct|withdraw|cancell?ation")


def test_every_unit_moving_endpoint_refuses_with_a_clear_error_and_changes_nothing(
        api, holder, ob2021, cycle, entity, entity_user, entity_ccers):  # noqa: F811
    schema = api().get("/api/schema/?format=json").json()
    posts = {path for path, ops in schema["paths"].items() if "post" in ops and MOVES_UNITS.search(path)}
    assert posts == set(UNIT_MOVING) | set(NOT_UNIT_MOVING), "a new unit-moving endpoint needs its refusals here"
    type(cycle).objects.filter(pk=cycle.pk).update(offset_cap_pct=1)  # cap: 10,000 t of 1,000,000 t
    values = {"{ccer}": entity_ccers[2022], "{account}": holder.pk, "{entity}": entity.pk,
              "{surrender_account}": registry.national_account(kind="national_surrender").number,
              "{cancellation_account}": registry.national_account(kind="national_ccer_cancellation").number}

    def fill(value):
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        if isinstance(value, list):
            return [fill(v) for v in value]
        return values.get(value, value) if isinstance(value, str) else value

    before = snapshot()
    for path, cases in UNIT_MOVING.items():
        for body, code, field in cases:
            response = api(entity_user).post(path.replace("{id}", str(ob2021.pk)), fill(body), format="json")
            _refused(response, 400, code, field)
    assert snapshot() == before


def test_the_doors_served_by_compliance_surrender_and_offset(api, holder, ob2021, entity, entity_user,
                                                             entity_ccers):  # noqa: F811
    body = {"account": holder.pk, "instrument": "CEA21", "quantity": 600_000, "compliance_year": 2021}
    response = api(entity_user).post("/api/v1/registry/surrenders/", body, format="json")
    assert response.status_code == 201, response.content
    assert (response.json()["kind"], response.json()["quantity"], response.json()["compliance_year"]) == (
        "surrender", 600_000, 2021)
    body = {"entity": entity.pk, "instrument": entity_ccers[2022], "quantity": 30_000, "compliance_year": 2021}
    response = api(entity_user).post("/api/v1/voluntary/offsets/", body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["quantity"] == 30_000
    ob2021.refresh_from_db()
    assert (ob2021.surrendered_tco2, ob2021.offsets_tco2, ob2021.remaining_tco2) == (600_000, 30_000, 370_000)
    assert [s.kind for s in SurrenderStep.objects.order_by("pk")] == ["cea", "ccer"]
    assert consistency_check() == {"obligations": [], "allocations": [], "cash": [], "ccer_uses": [],
                                   "carry_over": []}


# ---- coverage read from the ledger: a reversal reopens the obligation ------------------------------------

def _reverse(tx, national, national2):
    proposal = registry.reversal_propose(actor=national, transaction=tx, reason="surrendered by mistake")
    return registry.transaction_approve(actor=national2, transaction=proposal)


def _figures(ob, cycle):
    """The obligation, the public report, the registry's public totals: each one's view of CEA21 surrendered."""
    ob = Obligation.objects.get(pk=ob.pk)
    report = selectors.cycle_report(cycle)["years"][2021]
    totals = {row["instrument"]: row for row in registry_selectors.vintage_totals()}
    return (ob.surrendered_tco2, report["cea_surrendered_tco2"], totals["CEA21"]["surrendered"],
            ob.remaining_tco2, ob.completed_on)


def test_a_reversal_reopens_the_obligation_and_everyone_agrees(holder, ob2021, cycle, entity_user, national,
                                                               national2, close):  # noqa: F811
    (step,) = services.surrender(actor=entity_user, obligation=ob2021, on_date=BEFORE_DEADLINE,
                                 items=[{"kind": "cea", "vintage": 2021, "quantity": 1_000_000}])
    assert _figures(ob2021, cycle) == (1_000_000, 1_000_000, 1_000_000, 0, BEFORE_DEADLINE)
    _reverse(Transaction.objects.get(pk=step.registry_transaction_id), national, national2)
    assert _figures(ob2021, cycle) == (0, 0, 0, 1_000_000, None)
    assert registry_selectors.balance(holder, registry.instrument_get_or_create_cea(vintage=2021)).total == 1_000_000
    assert selectors.compliance_rates(cycle)[2021] == 0
    assert consistency_check()["obligations"] == []
    # surrendered again, then closed: the outcome and the certificate state what the registry shows
    services.surrender(actor=entity_user, obligation=ob2021, on_date=BEFORE_DEADLINE,
                       items=[{"kind": "cea", "vintage": 2021, "quantity": 1_000_000}])
    close(cycle, national)
    ob = Obligation.objects.get(pk=ob2021.pk)
    assert (ob.status, ob.shortfall_tco2) == ("compliant", 0)
    cert = Certificate.objects.get(obligation=ob)
    assert (cert.content["cea_tco2"], cert.content["ccer_tco2"]) == (1_000_000, 0)
    assert _figures(ob2021, cycle)[:3] == (1_000_000, 1_000_000, 1_000_000)
    # once closing started the year's surrenders are final: no reversal can part the record again
    before = snapshot()
    last = Transaction.objects.filter(kind="surrender", status="completed").get()
    with pytest.raises(Conflict) as exc:
        registry.reversal_propose(actor=national, transaction=last, reason="too late")
    assert (exc.value.code, exc.value.field) == ("compliance_year_closed", "transaction")
    with pytest.raises(Conflict) as exc:
        registry.surrender_execute(actor=entity_user, account=holder, quantity=1, compliance_year=2021,
                                   instrument=registry.instrument_get_or_create_cea(vintage=2021))
    assert exc.value.code == "compliance_year_closed"
    assert snapshot() == before


def test_a_reversal_proposed_before_closing_cannot_execute_after_it(holder, ob2021, cycle, entity_user, national,
                                                                    national2, close):  # noqa: F811
    (step,) = services.surrender(actor=entity_user, obligation=ob2021, on_date=BEFORE_DEADLINE,
                                 items=[{"kind": "cea", "vintage": 2021, "quantity": 1_000_000}])
    proposal = registry.reversal_propose(actor=national, reason="surrendered by mistake",
                                         transaction=Transaction.objects.get(pk=step.registry_transaction_id))
    close(cycle, national)
    before = snapshot()
    with pytest.raises(Conflict) as exc:
        registry.transaction_approve(actor=national2, transaction=proposal)
    assert exc.value.code == "compliance_year_closed"
    assert snapshot() == before
    cert = Certificate.objects.get(obligation=ob2021)
    assert selectors.certificate_verify(cert.code)["valid"] is True
    assert (cert.content["cea_tco2"], Obligation.objects.get(pk=ob2021.pk).surrendered_tco2) == (1_000_000,
                                                                                                1_000_000)


def test_a_reversed_surrender_closes_as_not_covered(holder, ob2021, cycle, entity_user, national, national2,
                                                     close):  # noqa: F811
    (step,) = services.surrender(actor=entity_user, obligation=ob2021, on_date=BEFORE_DEADLINE,
                                 items=[{"kind": "cea", "vintage": 2021, "quantity": 400_000}])
    _reverse(Transaction.objects.get(pk=step.registry_transaction_id), national, national2)
    job = close(cycle, national)
    assert job.status == "succeeded", job.message
    ob = Obligation.objects.get(pk=ob2021.pk)
    assert (ob.status, ob.shortfall_tco2, ob.covered_tco2) == ("non_compliant", 1_000_000, 0)
    assert not Certificate.objects.filter(obligation=ob).exists()


def test_obligation_list_reads_coverage_in_a_constant_number_of_queries(holder, obligations, entity_user,
                                                                        django_assert_max_num_queries):
    services.surrender(actor=entity_user, obligation=list(obligations.values())[0], on_date=BEFORE_DEADLINE,
                       items=[{"kind": "cea", "vintage": 2021, "quantity": 10}])
    with django_assert_max_num_queries(3):  # the obligations, the ledger's totals, the live steps
        rows = [(o.pk, o.covered_tco2, o.on_time_tco2, o.completed_on) for o in Obligation.objects.all()]
    assert sorted(r[1] for r in rows) == [0, 0, 10]


# ---- check_consistency ----------------------------------------------------------------------------------

def _run_check():
    """(exit code, stdout, stderr) of ``manage.py check_consistency``."""
    import io

    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("check_consistency", stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def consistent(holder, ob2021, entity, entity_user, entity_ccers):  # noqa: F811
    services.surrender(actor=entity_user, obligation=ob2021, on_date=BEFORE_DEADLINE,
                       items=[{"kind": "cea", "vintage": 2021, "quantity": 500_000},
                              {"kind": "ccer", "instrument": entity_ccers[2022], "quantity": 20_000}])
    code, out, err = _run_check()
    assert (code, err) == (0, "") and "Consistent" in out
    return ob2021


def test_check_consistency_names_a_surrender_without_its_compliance_step(consistent, holder, entity_user):
    registry.surrender_execute(actor=entity_user, account=holder, instrument=registry.instrument_get_or_create_cea(
        vintage=2021), quantity=7, compliance_year=2021)  # around compliance: the registry alone
    code, _out, err = _run_check()
    assert code == 1
    assert "obligations:" in err and "CEA21: registry 500,007 t, compliance steps 500,000 t" in err


def test_check_consistency_names_a_transaction_its_legs_disagree_with(consistent):
    tx = Transaction.objects.filter(kind="surrender").get()
    Transaction.objects.filter(pk=tx.pk).update(quantity=tx.quantity + 1)
    code, _out, err = _run_check()
    assert code == 1 and "transactions 500,001 t, national account legs 500,000 t" in err


def test_check_consistency_names_a_ccer_use_without_its_cancellation(consistent):
    CreditUse.objects.filter(kind="offset").update(registry_ref="TX999999")
    code, _out, err = _run_check()
    assert code == 1 and "ccer_uses:" in err and "no registry transaction (TX999999)" in err
    assert "without a use record" in err


def test_check_consistency_names_an_unbalanced_cash_journal(consistent):
    from trading.models import CashAccount, CashJournal, CashPosting

    fees = CashAccount.objects.get_or_create(kind=CashAccount.Kind.FEES)[0]
    journal = CashJournal.objects.create(kind=CashJournal.Kind.SETTLEMENT, memo="one leg only")
    CashPosting.objects.create(journal=journal, cash_account=fees, bucket="available", amount=Decimal("10.00"))
    code, _out, err = _run_check()
    assert code == 1 and "cash:" in err and f"journal #{journal.pk} does not balance" in err


def test_check_consistency_names_an_allocation_run_the_registry_disagrees_with(consistent, holder, entity, national,
                                                                              national2):
    from allowances.models import AllocationPlan, AllocationRun, EntityAllocation

    cea21 = registry.instrument_get_or_create_cea(vintage=2021)
    registry.transaction_approve(actor=national2, transaction=registry.issuance_propose(
        actor=national, instrument=cea21, quantity=1_000))
    run = AllocationRun.objects.create(plan=AllocationPlan.objects.filter(first_year__lte=2021).first(), year=2021,
                                       kind=AllocationRun.Kind.TRUE_UP, status=AllocationRun.Status.COMPLETED,
                                       created_by=national, approved_by=national2)
    registry.allocation_execute(actor=national2, instrument=cea21, allocations={holder.pk: 1_000},
                                reference=f"allowances-run-{run.pk}")
    result = EntityAllocation.objects.create(run=run, entity=entity, base_tco2=1_000, allocation_tco2=1_000,
                                             difference_tco2=1_000, status=EntityAllocation.Status.ISSUED)
    assert _run_check()[0] == 0
    EntityAllocation.objects.filter(pk=result.pk).update(difference_tco2=1_200)
    code, _out, err = _run_check()
    assert code == 1 and "allocations:" in err
    assert f"allocation run #{run.pk} (true_up 2021): results issued 1,200 t, registry allowances-run-{run.pk} " \
           "1,000 t" in err


def test_verify_audit_runs_check_consistency(consistent):
    from django.core.management.base import CommandError

    CreditUse.objects.filter(kind="offset").update(quantity=1)
    with pytest.raises(CommandError, match="consistency"):
        call_command("verify_audit", stdout=io.StringIO(), stderr=io.StringIO())

