"""A penalty deduction reaches the entity's next allocation run, once; uncovered units neither
receive allocation nor create an obligation."""

import pytest

from allowances import deductions, selectors, services
from allowances.models import AllocationDeduction, AllocationRun, EntityAllocation
from cets.common.errors import Conflict, DomainError
from compliance.models import ComplianceCycle
from compliance.services import obligations_calculate
from registry.ledger import ledger_check

from .conftest import verify
from .test_runs import holding, start_and_approve

pytestmark = pytest.mark.django_db


def test_deduction_is_subtracted_by_the_next_run_once(national, national2, entity, other_entity,
                                                     django_capture_on_commit_callbacks):
    verify(entity, 2022, {"HB-WH-01": {"emissions_tco2": 3_000_000}, "HB-WH-02": {"emissions_tco2": 1_000_000}})
    verify(other_entity, 2022, {"GD-GZ-01": {"emissions_tco2": 5_000_000}})
    cut = deductions.deduction_record(actor=national, entity=other_entity, quantity=500_000, reference="penalty-7",
                                      reason="Art. 24")
    with pytest.raises(Conflict):
        deductions.deduction_record(actor=national, entity=other_entity, quantity=500_000, reference="penalty-7",
                                    reason="Art. 24")
    with pytest.raises(DomainError) as bad:
        deductions.deduction_record(actor=national, entity=other_entity, quantity=0, reference="penalty-8",
                                    reason="Art. 24")
    assert bad.value.field == "quantity"
    pre = start_and_approve(national, national2, 2023, "pre_allocation", django_capture_on_commit_callbacks)
    theirs = EntityAllocation.objects.get(run=pre, entity=other_entity)
    # 70% of 5,000,000 t = 3,500,000 allocated; 500,000 deducted: 3,000,000 handed over
    assert (theirs.allocation_tco2, theirs.penalty_deduction_tco2, theirs.difference_tco2) == (
        3_500_000, 500_000, 3_000_000)
    assert holding(other_entity, 2023) == 3_000_000 and holding(entity, 2023) == 2_800_000
    cut.refresh_from_db()
    assert (cut.status, cut.applied_in) == ("applied", theirs)
    # a retried calculation skips what it committed: the deduction is applied once
    services.run_calculate(run=AllocationRun.objects.get(pk=pre.pk))
    assert AllocationDeduction.objects.filter(status="applied").count() == 1
    assert EntityAllocation.objects.filter(entity=other_entity, penalty_deduction_tco2__gt=0).count() == 1
    # the true-up compares with the pre-allocation, not with what was handed over: the cut stays
    verify(entity, 2023, {"HB-WH-01": {"electricity_generated_mwh": 3_500_000, "load_factor": "0.70",
                                       "emissions_tco2": 2_900_000}})
    verify(other_entity, 2023, {"GD-GZ-01": {"electricity_generated_mwh": 4_000_000, "load_factor": "0.9",
                                             "emissions_tco2": 3_900_000}})
    true_up = start_and_approve(national, national2, 2023, "true_up", django_capture_on_commit_callbacks)
    final = EntityAllocation.objects.get(run=true_up, entity=other_entity)
    assert (final.allocation_tco2, final.penalty_deduction_tco2, final.difference_tco2) == (3_180_000, 0, -320_000)
    assert holding(other_entity, 2023) == 3_180_000 - 500_000
    assert ledger_check() == []


def test_an_uncovered_unit_creates_no_obligation(national, entity, other_entity):
    """HB-WH-02 co-fires 20% biomass (excluded by the plan): the obligation counts HB-WH-01 only; the
    Guangdong entity's only unit is excluded: no obligation at all."""
    entity.units.filter(code="HB-WH-02").update(biomass_share="0.2")
    other_entity.units.update(biomass_share="0.2")
    verify(entity, 2022, {"HB-WH-01": {"emissions_tco2": "3000000.4"}, "HB-WH-02": {"emissions_tco2": 1_000_000}})
    verify(other_entity, 2022, {"GD-GZ-01": {"emissions_tco2": 5_000_000}})
    assert selectors.covered_emissions_by_entity(2022) == {entity.pk: 3_000_000}
    cycle = ComplianceCycle.objects.get(code="2021-2022")
    result = obligations_calculate(actor=national, cycle=cycle, year=2022)
    assert result["created"] == 1
    ob = cycle.obligations.get()
    assert (ob.entity, ob.verified_emissions_tco2, ob.quantity_tco2) == (entity, 3_000_000, 3_000_000)
