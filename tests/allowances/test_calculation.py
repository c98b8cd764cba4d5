"""From MRV's verified rows to the formula: basis, exclusions, pre-allocation bases (pure)."""

from decimal import Decimal as D

from allowances import calculation
from allowances import formulas as fm
from allowances.plans_seed import benchmark_rows


def rules(column, scheme):
    rows = list(benchmark_rows(column))
    return fm.PlanRules(code=column, correction_scheme=scheme,
                        electricity_benchmark={c: D(e) for c, e, _, _, _ in rows},
                        heat_benchmark={c: D(h) for c, _, h, _, _ in rows})


def row(unit_id, category, **over):
    base = {"unit_id": unit_id, "unit_code": f"U{unit_id}", "entity_id": 1, "category": category,
            "category_reason": "", "cooling": "water", "is_chp": False, "electricity_supplied_mwh": D(900),
            "electricity_generated_mwh": D(1000), "heat_supplied_gj": D(0), "load_factor": D("0.9"),
            "heat_supply_ratio": D(0), "emissions_tco2": D(850)}
    base.update(over)
    return base


def test_true_up_uses_the_plan_basis_and_excludes_uncovered_units():
    rows = [row(1, "I"), row(2, None, category_reason="main fuel oil is not covered")]
    supply, covered, excluded = calculation.true_up(rules("2021", fm.SUPPLY_CORRECTIONS), rows, basis="supply")
    assert supply.base_tco2 == 740  # 900 MWh supplied x 0.8218 = 739.62
    assert [r["unit_id"] for r in covered] == [1]
    assert excluded[0].label == "excluded" and excluded[0].value == "main fuel oil is not covered"
    generation, _, _ = calculation.true_up(rules("2023", fm.PEAK_FACTOR), rows, basis="generation")
    assert generation.base_tco2 == 795  # 1,000 MWh generated x 0.7950
    assert generation.verified_emissions_tco2 == 850  # only covered units count


def test_pre_allocation_bases():
    rows = [row(1, "I", emissions_tco2=D("1000.5")), row(2, None)]
    by_emissions, excluded = calculation.pre_allocation(
        rules("2023", fm.PEAK_FACTOR), rows, basis="generation", pre_basis="previous_emissions", share=D("0.7"))
    assert [amount for _row, amount, _lines in by_emissions] == [700]  # 0.7 x 1,000.5 = 700.35
    assert len(excluded) == 1
    by_output, _ = calculation.pre_allocation(
        rules("2021", fm.SUPPLY_CORRECTIONS), rows, basis="supply", pre_basis="previous_output", share=D("0.7"))
    assert [amount for _row, amount, _lines in by_output] == [518]  # 0.7 x 739.62 = 517.73
