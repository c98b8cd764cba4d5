"""The 2025-26 power plan's A = E cases through the allocation runs (S1 draft; sectors-2025.md section 6):
biomass co-firing above 20% and emergency-backup units get their verified emissions, a 15% co-firing unit
the benchmark; the same units under the 2023-24 plan (2024) keep its rules (co-firing above 10% excluded,
a backup unit benchmarked). Pre-allocation 2025 = 50% of each covered unit's 2024 verified emissions."""

import pytest

from allowances.models import EntityAllocation, UnitAllocation
from tests import factories as f

from .conftest import verify
from .test_runs import holding, start_and_approve

pytestmark = pytest.mark.django_db


@pytest.fixture
def plant(db):
    """A Hubei plant: a 660 MW unit co-firing 25% biomass, one co-firing 15%, a 330 MW emergency-backup unit."""
    ent = f.EntityFactory(name="襄阳生物质掺烧电厂", province=f.province("42"), city=f.city("420100"),
                          inclusion_year=2021)
    f.UnitFactory(entity=ent, code="BIO25", rated_power_mw=660, biomass_share="0.25")
    f.UnitFactory(entity=ent, code="BIO15", rated_power_mw=660, biomass_share="0.15")
    f.UnitFactory(entity=ent, code="BACKUP", rated_power_mw=330, is_emergency_backup=True)
    verify(ent, 2024, {
        "BIO25": {"electricity_generated_mwh": 1_500_000, "load_factor": "0.8", "emissions_tco2": "1200000.4"},
        "BIO15": {"electricity_generated_mwh": 2_000_000, "load_factor": "0.8", "emissions_tco2": 1_600_000},
        "BACKUP": {"electricity_generated_mwh": 100_000, "load_factor": "0.3", "emissions_tco2": "90000.5"}})
    return ent


def units_of(ea):
    return {u.unit.code: u for u in UnitAllocation.objects.filter(entity_allocation=ea).select_related("unit")}


def test_2024_plan_keeps_the_2023_24_rules(national, national2, plant, django_capture_on_commit_callbacks):
    run = start_and_approve(national, national2, 2024, "true_up", django_capture_on_commit_callbacks)
    ea = EntityAllocation.objects.get(run=run, entity=plant)
    # BIO25 and BIO15 co-fire more than 10% biomass: not covered. BACKUP is category II (330 MW), load 0.30 < 0.65:
    # 100,000 MWh x 0.8049 x 1.015^(16 - 6) = 93,411.93 -> 93,412; >= 80% of 90,001 (its verified emissions)
    assert set(units_of(ea)) == {"BACKUP"}
    backup = units_of(ea)["BACKUP"]
    assert (backup.category, backup.allocation_tco2) == ("II", 93_412)
    assert [line["label"] for line in backup.lines] == ["B_e", "B_h", "F_f", "A_e", "A_h", "A"]
    assert (ea.allocation_tco2, ea.relief_tco2, ea.verified_emissions_tco2) == (93_412, 0, 90_001)
    excluded = {line["inputs"]["unit"]: line["value"] for line in ea.lines if line["label"] == "excluded"}
    assert set(excluded) == {"BIO25", "BIO15"}
    assert "more than 10% excludes" in excluded["BIO15"]
    assert holding(plant, 2024) == 93_412


def test_2025_pre_allocation_and_true_up_give_a_equals_e(national, national2, plant,
                                                         django_capture_on_commit_callbacks):
    # pre-allocation 2025: 50% of each unit's 2024 verified emissions, the A = E units included (rounded half up)
    pre = start_and_approve(national, national2, 2025, "pre_allocation", django_capture_on_commit_callbacks)
    ea = EntityAllocation.objects.get(run=pre, entity=plant)
    units = units_of(ea)
    assert {code: u.allocation_tco2 for code, u in units.items()} == {
        "BIO25": 600_000, "BIO15": 800_000, "BACKUP": 45_000}
    assert ea.allocation_tco2 == 1_445_000 and holding(plant, 2025) == 1_445_000
    bio25 = units["BIO25"].lines
    assert [line["label"] for line in bio25] == ["exemption", "pre-allocation"]
    assert bio25[0]["inputs"]["exemption"] == "biomass_cofiring" and "more than 20%" in bio25[0]["value"]
    assert bio25[1]["inputs"] == {"share": "0.500", "verified_emissions_tco2": "1200000.400"}
    assert [line["label"] for line in units["BIO15"].lines] == ["pre-allocation"]

    verify(plant, 2025, {
        "BIO25": {"electricity_generated_mwh": 1_600_000, "load_factor": "0.8", "emissions_tco2": "1234567.4"},
        "BIO15": {"electricity_generated_mwh": 2_000_000, "load_factor": "0.8", "emissions_tco2": 1_650_000},
        "BACKUP": {"electricity_generated_mwh": 80_000, "load_factor": "0.2", "emissions_tco2": "70000.5"}})
    run = start_and_approve(national, national2, 2025, "true_up", django_capture_on_commit_callbacks)
    ea = EntityAllocation.objects.get(run=run, entity=plant)
    units = units_of(ea)
    # BIO25: A = E = 1,234,567 (half up); BIO15: 2,000,000 MWh x 0.7902 (category I, load 0.80 >= 0.50: F_f = 1)
    # = 1,580,400; BACKUP: A = E = 70,001 (70,000.5 half up); total 2,884,968 >= 80% of 2,954,568
    assert {code: (u.category, u.allocation_tco2) for code, u in units.items()} == {
        "BIO25": ("I", 1_234_567), "BIO15": ("I", 1_580_400), "BACKUP": ("II", 70_001)}
    assert [line["label"] for line in units["BIO25"].lines] == ["exemption", "A"]
    assert units["BACKUP"].lines[0]["inputs"]["exemption"] == "emergency_backup"
    assert "emergency-backup unit" in units["BACKUP"].lines[0]["value"]
    assert units["BACKUP"].lines[1]["formula"] == "exempt unit: allocation = verified emissions, rounded half up"
    assert [line["label"] for line in units["BIO15"].lines] == ["B_e", "B_h", "F_f", "A_e", "A_h", "A"]
    assert units["BIO15"].lines[0]["value"] == "0.7902"
    assert (ea.allocation_tco2, ea.relief_tco2, ea.verified_emissions_tco2) == (2_884_968, 0, 2_954_568)
    assert (ea.previously_issued_tco2, ea.difference_tco2) == (1_445_000, 1_439_968)
    assert not [line for line in ea.lines if line["label"] == "excluded"]
    assert holding(plant, 2025) == 2_884_968


def test_sandbox_leaves_a_equals_e_units_out_of_the_balance_value(national, plant):
    from allowances import sandbox
    from allowances.models import AllocationPlan

    verify(plant, 2025, {
        "BIO25": {"electricity_generated_mwh": 1_600_000, "load_factor": "0.8", "emissions_tco2": "1234567.4"},
        "BIO15": {"electricity_generated_mwh": 2_000_000, "load_factor": "0.8", "emissions_tco2": 1_650_000},
        "BACKUP": {"electricity_generated_mwh": 80_000, "load_factor": "0.2", "emissions_tco2": "70000.5"}})
    plan = AllocationPlan.objects.get(code="2025")
    categories = sandbox.balance_values_for(plan=plan, data_year=2025)["categories"]
    # only BIO15 is benchmarked: 1,650,000 t / 2,000,000 MWh = 0.8250 (BIO25 and BACKUP are allocated E)
    assert (categories["I"]["balance_value"], categories["I"]["units"]) == ("0.8250", 1)
    assert categories["II"]["units"] == 0
    result = sandbox.scenario_evaluate(plan=plan, data_year=2025, overrides={})
    assert result["plan"] == "2025"
    # under the 2024 plan the same 2024 data exclude both co-firing units and benchmark the backup unit
    plan_2024 = AllocationPlan.objects.get(code="2024")
    categories = sandbox.balance_values_for(plan=plan_2024, data_year=2024)["categories"]
    assert (categories["I"]["units"], categories["II"]["units"]) == (0, 1)
