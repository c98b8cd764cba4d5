"""Pre-allocation and true-up end to end: MRV's verified data in, registry units out (four-eyes)."""

import pytest

from allowances import selectors, services
from allowances.models import AllocationRun, EntityAllocation, Obligation, UnitAllocation
from cets.common.errors import Conflict, DomainError, Forbidden, NotFound
from cets.common.models import Job
from registry import selectors as registry_selectors
from registry import services as registry
from registry.ledger import ledger_check
from registry.models import Transaction

from .conftest import verify

pytestmark = pytest.mark.django_db


def holding(entity, year):
    account = registry.account_for_entity(entity=entity)
    return registry_selectors.balance(account, registry.instrument_get_or_create_cea(vintage=year)).total


@pytest.fixture
def data_2022(entity, other_entity):
    verify(entity, 2022, {"HB-WH-01": {"emissions_tco2": 3_000_000}, "HB-WH-02": {"emissions_tco2": 1_000_000}})
    verify(other_entity, 2022, {"GD-GZ-01": {"emissions_tco2": 5_000_000}})


def start_and_approve(national, national2, year, kind, capture):
    with capture(execute=True):
        run = services.run_start(actor=national, year=year, kind=kind)
    run.refresh_from_db()
    assert run.status == AllocationRun.Status.CALCULATED
    with capture(execute=True):
        services.run_approve(actor=national2, run=run)
    run.refresh_from_db()
    return run


def test_pre_allocation_then_true_up_issue_withdraw_and_record_obligation(
        national, national2, entity, other_entity, data_2022, django_capture_on_commit_callbacks):
    # 2023-24 plan: pre-allocation = 70% of each unit's 2022 verified emissions
    pre = start_and_approve(national, national2, 2023, "pre_allocation", django_capture_on_commit_callbacks)
    assert pre.status == AllocationRun.Status.COMPLETED
    assert pre.total_tco2 == 2_100_000 + 700_000 + 3_500_000
    assert holding(entity, 2023) == 2_800_000 and holding(other_entity, 2023) == 3_500_000
    assert Job.objects.get(pk=pre.calculate_job_id).status == "succeeded"

    # the Guangdong entity parts with most of its units before the true-up
    account = registry.account_for_entity(entity=other_entity)
    cea23 = registry.instrument_get_or_create_cea(vintage=2023)
    tx = registry.deduction_propose(actor=national, account=account, instrument=cea23, quantity=3_400_000,
                                    reason="test: penalty")
    registry.transaction_approve(actor=national2, transaction=tx)

    verify(entity, 2023, {
        # I: 3,500,000 MWh generated x 0.7950 (load 0.70 >= 0.65: F_f = 1) = 2,782,500
        "HB-WH-01": {"electricity_generated_mwh": 3_500_000, "load_factor": "0.70", "emissions_tco2": 2_900_000},
        # II CHP: 1,000,000 x 0.8090 x 1.015^4 = 858,643.11 + 2,000,000 GJ x 0.1038 = 207,600 -> 1,066,243
        "HB-WH-02": {"electricity_generated_mwh": 1_000_000, "heat_supplied_gj": 2_000_000,
                     "heat_supply_ratio": "0.3", "load_factor": "0.60", "emissions_tco2": 1_100_000}})
    # 4,000,000 MWh x 0.7950 = 3,180,000 >= 80% of 3,900,000: no relief; 3,500,000 pre-allocated
    verify(other_entity, 2023, {"GD-GZ-01": {"electricity_generated_mwh": 4_000_000, "load_factor": "0.9",
                                             "emissions_tco2": 3_900_000}})
    true_up = start_and_approve(national, national2, 2023, "true_up", django_capture_on_commit_callbacks)
    assert true_up.status == AllocationRun.Status.COMPLETED

    mine = EntityAllocation.objects.get(run=true_up, entity=entity)
    assert (mine.allocation_tco2, mine.previously_issued_tco2, mine.difference_tco2) == (
        3_848_743, 2_800_000, 1_048_743)
    assert mine.status == EntityAllocation.Status.ISSUED
    assert holding(entity, 2023) == 3_848_743
    unit = UnitAllocation.objects.get(entity_allocation=mine, unit__code="HB-WH-02")
    assert unit.allocation_tco2 == 1_066_243
    assert [line["label"] for line in unit.lines] == ["B_e", "B_h", "F_f", "A_e", "A_h", "A"]

    theirs = EntityAllocation.objects.get(run=true_up, entity=other_entity)
    assert theirs.difference_tco2 == 3_180_000 - 3_500_000
    assert theirs.status == EntityAllocation.Status.OBLIGATION
    assert holding(other_entity, 2023) == 0  # withdrew the 100,000 it still had, never below zero
    obligation = Obligation.objects.get(entity=other_entity)
    assert (obligation.quantity_tco2, obligation.year) == (220_000, 2023)

    summary = selectors.allocation_for(entity.pk, 2023)
    assert summary["allocation_tco2"] == 3_848_743 and summary["pre_allocated_tco2"] == 2_800_000
    assert summary["final"] is True and summary["vintage_rule"] == "same_or_earlier"
    assert selectors.allocation_for(other_entity.pk, 2023)["open_obligation_tco2"] == 220_000
    # one four-eyes bulk withdrawal for the whole run: asked 320,000, the entity held 100,000
    (withdrawal,) = Transaction.objects.filter(kind="withdrawal", reference=f"allowances-run-{true_up.pk}-withdrawal")
    assert (withdrawal.status, withdrawal.quantity, withdrawal.proposed_by, withdrawal.approved_by) == (
        "completed", 100_000, national, national2)
    assert theirs.registry_reference == str(withdrawal.pk)
    assert [(line.account, line.requested, line.withdrawn) for line in withdrawal.bulk_lines.all()] == [
        (account, 320_000, 100_000)]
    assert ledger_check() == []


def test_true_up_refused_before_verification_is_confirmed(national, entity, other_entity, data_2022):
    verify(entity, 2023, {"HB-WH-01": {"emissions_tco2": 1}})
    verify(other_entity, 2023, {"GD-GZ-01": {"emissions_tco2": 1}}, status="submitted")
    with pytest.raises(DomainError) as exc:
        services.run_start(actor=national, year=2023, kind="true_up")
    assert exc.value.code == "verification_not_confirmed" and exc.value.field == "year"
    assert AllocationRun.objects.count() == 0 and Job.objects.count() == 0


def test_true_up_waits_only_for_entities_covered_that_year(
        national, national2, entity, other_entity, data_2022, django_capture_on_commit_callbacks):
    """An entity included in a later year owes no verification of this one and does not block its true-up."""
    verify(entity, 2023, {"HB-WH-01": {"emissions_tco2": 1}})
    verify(other_entity, 2023, {"GD-GZ-01": {"emissions_tco2": 1}}, status="submitted")
    other_entity.inclusion_year = 2024
    other_entity.save(update_fields=["inclusion_year"])
    start_and_approve(national, national2, 2023, "pre_allocation", django_capture_on_commit_callbacks)
    run = start_and_approve(national, national2, 2023, "true_up", django_capture_on_commit_callbacks)
    assert run.status == AllocationRun.Status.COMPLETED
    assert set(EntityAllocation.objects.filter(run=run).values_list("entity_id", flat=True)) == {entity.pk}


def test_run_refused_for_a_year_without_published_plan_and_for_non_national(national, hubei, data_2022):
    with pytest.raises(NotFound) as exc:
        services.run_start(actor=national, year=2031, kind="pre_allocation")
    assert exc.value.field == "year"
    with pytest.raises(Forbidden):
        services.run_start(actor=hubei, year=2023, kind="pre_allocation")
    assert AllocationRun.objects.count() == 0


def test_run_four_eyes_and_high_risk_goes_to_provincial_account(
        national, national2, hubei, entity, data_2022, django_capture_on_commit_callbacks):
    services.high_risk_designate(actor=hubei, entity=entity, year=2023, reason="judicial_freeze")
    with django_capture_on_commit_callbacks(execute=True):
        run = services.run_start(actor=national, year=2023, kind="pre_allocation")
    with pytest.raises(Forbidden):
        services.run_approve(actor=national, run=run)  # the starter may not approve
    with pytest.raises(Conflict):
        services.run_start(actor=national, year=2023, kind="pre_allocation")
    with django_capture_on_commit_callbacks(execute=True):
        services.run_approve(actor=national2, run=run)
    ea = EntityAllocation.objects.get(run=run, entity=entity)
    assert ea.destination == "provincial" and ea.status == "issued"
    assert holding(entity, 2023) == 0
    provincial = registry.provincial_account(province=entity.province)
    assert registry_selectors.balance(provincial, registry.instrument_get_or_create_cea(vintage=2023)).total \
        == 2_800_000


def test_rerun_of_calculation_skips_committed_entities(national, entity, other_entity, data_2022,
                                                       django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run = services.run_start(actor=national, year=2023, kind="pre_allocation")
    AllocationRun.objects.filter(pk=run.pk).update(status="calculating")
    services.run_calculate(run=AllocationRun.objects.get(pk=run.pk))
    assert EntityAllocation.objects.filter(run=run).count() == 2
    assert UnitAllocation.objects.filter(entity_allocation__run=run).count() == 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_issue_jobs_never_double(national, national2, entity, other_entity, data_2022):
    """Two workers running the same run's issue job at once: the units are issued exactly once."""
    import threading

    from django.db import connection

    run = services.run_start(actor=national, year=2023, kind="pre_allocation")
    services.run_calculate(run=AllocationRun.objects.get(pk=run.pk))
    AllocationRun.objects.filter(pk=run.pk).update(status="issuing", approved_by=national2)
    errors = []

    def work():
        try:
            services.run_issue(run=AllocationRun.objects.get(pk=run.pk))
        except Exception as exc:  # a loser may be refused as busy; it must not double anything
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert holding(entity, 2023) == 2_800_000 and holding(other_entity, 2023) == 3_500_000
    cea = registry.instrument_get_or_create_cea(vintage=2023)
    assert cea.issued == 6_300_000
    assert all(isinstance(e, (Conflict, DomainError)) for e in errors)
    assert ledger_check() == []
