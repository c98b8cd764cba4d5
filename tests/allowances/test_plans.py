"""Plans as data: the seeded figures with their confidence marks, draft editing and four-eyes publication."""

from decimal import Decimal as D

import pytest

from allowances import selectors, services
from allowances.models import AllocationPlan, BenchmarkRow
from cets.common.errors import Conflict, DomainError, Forbidden, NotFound
from cets.common.models import AuditEntry

pytestmark = pytest.mark.django_db


def test_seeded_plans_and_benchmarks_follow_domain_md():
    plans = {p.code: p for p in AllocationPlan.objects.filter(sector="power", first_year__lt=2025)}
    assert set(plans) == {"2019-20", "2021", "2022", "2023", "2024"}
    assert all(p.status == "published" for p in plans.values())
    assert plans["2019-20"].activity_basis == "supply" and plans["2023"].activity_basis == "generation"
    assert plans["2019-20"].load_factor_for_chp is False and plans["2021"].load_factor_for_chp is True
    assert plans["2021"].borrowing_allowed and not plans["2023"].borrowing_allowed
    assert plans["2024"].vintage_rule == "same_or_earlier"
    assert plans["2023"].pre_allocation_basis == "previous_emissions"
    assert plans["2022"].pre_allocation_share == D("0.700")
    row = BenchmarkRow.objects.get(plan__code="2021", year=2021, category="III")
    assert (row.electricity_t_per_mwh, row.heat_t_per_gj, row.confidence) == (D("0.9350"), D("0.1111"), "C")
    assert "[C]" in row.note
    gas_2024 = BenchmarkRow.objects.get(plan__code="2024", category="IV")
    assert (gas_2024.electricity_t_per_mwh, gas_2024.heat_t_per_gj, gas_2024.confidence) == (
        D("0.3288"), D("0.0533"), "A")
    balance_2023 = BenchmarkRow.objects.get(plan__code="2023", category="I", kind="balance_value")
    assert balance_2023.electricity_t_per_mwh == D("0.7982")
    # the 2021 balance values are unknown: no row, not a derived figure
    assert not BenchmarkRow.objects.filter(plan__code="2021", kind="balance_value").exists()
    assert BenchmarkRow.objects.filter(plan__code="2019-20").count() == 8  # 2019 and 2020


def test_benchmark_for_and_electricity_benchmark_for_mrv():
    assert selectors.benchmark_for(2024, "I")["electricity_t_per_mwh"] == D("0.7910")
    assert selectors.benchmark_for(2020, "IV")["heat_t_per_gj"] == D("0.0590")
    assert selectors.electricity_benchmark(category="II", year=2022) == D("0.8729")
    with pytest.raises(NotFound):
        selectors.benchmark_for(2030, "I")


def test_draft_edit_and_four_eyes_publication(national, national2):
    draft = services.plan_draft_create(actor=national, source=AllocationPlan.objects.get(code="2024"), code="2027",
                                       first_year=2027, last_year=2027)
    assert draft.status == "draft" and draft.benchmarks.count() == 4
    row = draft.benchmarks.get(category="I")
    services.benchmark_row_update(actor=national, row=row, electricity_t_per_mwh="0.7870")
    with pytest.raises(DomainError) as exc:
        services.benchmark_row_update(actor=national, row=row, heat_t_per_gj="-1")
    assert exc.value.field == "heat_t_per_gj"
    services.plan_submit(actor=national, plan=draft)
    with pytest.raises(Forbidden):
        services.plan_publish(actor=national, plan=draft)  # the submitter may not publish
    with pytest.raises(Conflict):
        services.benchmark_row_update(actor=national, row=row, electricity_t_per_mwh="0.7")  # frozen once submitted
    plan = services.plan_publish(actor=national2, plan=draft)
    assert plan.status == "published" and plan.published_by == national2
    assert selectors.benchmark_for(2027, "I")["electricity_t_per_mwh"] == D("0.7870")
    assert AuditEntry.objects.filter(action="allocation_plan.publish", object_id=str(plan.pk)).exists()


def test_published_plan_cannot_be_edited_and_only_national_drafts(national, hubei):
    row = BenchmarkRow.objects.get(plan__code="2024", category="I")
    with pytest.raises(Conflict):
        services.benchmark_row_update(actor=national, row=row, electricity_t_per_mwh="0.5")
    with pytest.raises(Forbidden):
        services.plan_draft_create(actor=hubei, source=row.plan, code="2026", first_year=2026, last_year=2026)
    row.refresh_from_db()
    assert row.electricity_t_per_mwh == D("0.7910")


def test_plans_api_lists_published_plans_with_rows(api, entity_user):
    body = api(entity_user).get("/api/v1/allowances/plans/?sector=power").json()
    assert [p["code"] for p in body] == ["2019-20", "2021", "2022", "2023", "2024", "2025", "2026"]
    plan_2021 = api(entity_user).get("/api/v1/allowances/plans/2021/").json()
    assert plan_2021["confidence"] == "C" and len(plan_2021["benchmarks"]) == 4


def test_sector_plans_seeded_as_data():
    plans = {p.code: p for p in AllocationPlan.objects.select_related("sector")}
    power_2025, power_2026 = plans["2025"], plans["2026"]
    assert power_2025.consultation_draft and power_2026.consultation_draft
    assert (power_2025.pre_allocation_share, power_2025.peak_threshold, power_2025.peak_formula) == (
        D("0.500"), D("0.500"), "gb21258_2024")
    assert {"biomass_cofiring", "green_hydrogen", "emergency_backup"} <= set(power_2025.exemptions)
    assert power_2025.gas_relief and power_2025.entity_relief_floor == D("0.800")
    rows = {r.category: r for r in power_2026.benchmarks.all()}
    assert [rows[c].electricity_t_per_mwh for c in "I II III IV".split()] == [
        D("0.7894"), D("0.7985"), D("0.8080"), D("0.3288")]
    assert (rows["I"].heat_t_per_gj, rows["IV"].heat_t_per_gj) == (D("0.1021"), D("0.0533"))
    assert plans["2025"].benchmarks.get(category="III").electricity_t_per_mwh == D("0.8162")
    for sector in ("steel", "cement", "aluminium"):
        first, second, draft = plans[f"{sector}-2024"], plans[f"{sector}-2025"], plans[f"{sector}-2026"]
        assert first.sector_id == sector and first.method == "verified_emissions"
        assert first.pre_allocation_share == 0
        assert second.method == draft.method == "intensity" and draft.consultation_draft
        assert not second.consultation_draft and second.pre_allocation_share == D("0.500")
        assert (draft.intensity_band, draft.intensity_slope) == (D("0.2000"), D("0.1500"))
        assert not second.balance_values.exists()  # unknown balance values: no row
    cement = plans["cement-2025"]
    assert cement.carbide_slag_threshold == D("0.300") and cement.confidence == "C" and "[C]" in cement.note
    assert plans["cement-2026"].carbide_slag_threshold == D("0.300")
    assert "white_clinker" in cement.exemptions and "hydrogen_furnace" in plans["steel-2025"].exemptions
    assert plans["steel-2025"].carbide_slag_threshold is None


def test_power_paths_keep_working_with_sector_plans():
    assert selectors.plan_for_year(2024).code == "2024"
    assert selectors.plan_for_year(2025).code == "2025"
    assert selectors.plan_for_year(2025, "cement").code == "cement-2025"
    assert selectors.plan_for_year(2019).code == "2019-20"
    assert selectors.benchmark_for(2026, "I")["electricity_t_per_mwh"] == D("0.7894")
    rules = selectors.plan_rules(selectors.plan_for_year(2024), 2024)
    assert rules.peak_formula == "power_2023" and rules.exemptions == ()
    assert selectors.sector_plan("steel", "2026").code == "steel-2026"


def test_next_industrial_plan_is_a_copied_row(national, national2):
    from django.core.exceptions import ValidationError

    draft = services.plan_draft_create(actor=national, source=AllocationPlan.objects.get(code="cement-2026"),
                                       code="cement-2027", first_year=2027, last_year=2027)
    assert (draft.sector_id, draft.method, draft.carbide_slag_threshold) == ("cement", "intensity", D("0.300"))
    assert not draft.benchmarks.exists()
    with pytest.raises(ValidationError):
        services.plan_update(actor=national, plan=draft, exemptions=["sunny"])
    services.plan_update(actor=national, plan=draft, carbide_slag_threshold=D("0.25"), consultation_draft=False)
    services.plan_submit(actor=national, plan=draft)
    plan = services.plan_publish(actor=national2, plan=draft)
    assert selectors.plan_for_year(2027, "cement") == plan
    assert selectors.industry_plans(2027)["cement"].carbide_slag_threshold == D("0.250")
