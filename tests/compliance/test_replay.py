"""A small national replay through the command: every stage runs on the real services, the ledger
and the audit chain hold, and the system's figures agree with the independent recomputation.

Sized to stay well under 30 s on SQLite (12 entities, 2021-2022); the national size is a benchmark
(bench/bench_replay.py), never a timed test.
"""

import json
import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from compliance.replay import fleet as fleet_module
from compliance.replay import stages

# Jobs run after commit, so the replay needs real transactions; the seeded plans, products, cycles and
# methodologies come back after the flush from the serialized copy of the migrated database.
pytestmark = pytest.mark.django_db(transaction=True)

ENTITIES = 12


@pytest.fixture(scope="module")
def small_fleet():
    return fleet_module.build(ENTITIES, 3)


@pytest.fixture
def replay(tmp_path):
    out = tmp_path / "replay.json"
    call_command("replay_cycle", "--entities", str(ENTITIES), "--years", "2021", "2022", "--seed", "3",
                 "--out", str(out), skip_checks=True)
    return json.loads(out.read_text())


def test_generator_is_deterministic_and_covers_the_fleet(small_fleet):
    again = fleet_module.build(ENTITIES, 3)
    assert len(small_fleet.entities) == ENTITIES
    assert small_fleet.units["code"].tolist() == again.units["code"].tolist()
    assert small_fleet.months["consumption"].sum() == again.months["consumption"].sum()
    assert len(small_fleet.months) == len(small_fleet.units) * 24
    assert set(small_fleet.units["category"]) <= {"I", "II", "III", "IV"}
    # A different seed gives a different market.
    assert fleet_module.build(ENTITIES, 4).months["consumption"].sum() != small_fleet.months["consumption"].sum()


def test_calibration_hits_the_report_on_the_national_reference(small_fleet):
    """The calibration is solved on the 2,257-entity reference: its scales stay physically plausible."""
    for year in ("2021", "2022"):
        calibration = small_fleet.calibration[year]
        assert 0.9 < calibration["efficiency_scale"] < 1.1
        assert 0.8 < calibration["hours_scale"] < 1.2


def test_the_monthly_rows_carry_the_load_factor_the_allocation_was_calibrated_on(small_fleet):
    """Verification derives the load factor from the monthly rows (generation / capacity x operating
    hours); it must be the one the generator's formula used, or allocation drifts from the calibration
    (5-6 Mt a year on the national run when operating hours were clipped at 744 h)."""
    months = small_fleet.months.merge(small_fleet.units[["code", "capacity_mw"]], left_on="unit", right_on="code")
    months["capacity_hours"] = months["operating_hours"] * months["capacity_mw"]
    seen = months.groupby(["unit", "year"]).agg(g=("generated_mwh", "sum"), ch=("capacity_hours", "sum"))
    seen = (seen["g"] / seen["ch"]).rename("seen")
    years = small_fleet.unit_years.join(seen, on=["unit", "year"])
    assert (years["seen"] - years["load"]).abs().max() < 0.0005
    assert years["load"].max() <= 1.0


def test_stragglers_leave_exactly_the_reports_uncovered_share(small_fleet):
    behaviour = fleet_module.surrender_behaviour(small_fleet)
    emissions = small_fleet.unit_years.groupby(["entity", "year"])["emissions_target"].sum().rename("e")
    behaviour = behaviour.join(emissions, on=["entity", "year"])
    for year, rows in behaviour.groupby("year"):
        covered = (rows["on_time_share"] * rows["e"]).sum() / rows["e"].sum()
        assert covered == pytest.approx(fleet_module.REPORT_COMPLIANCE[year], abs=1e-9)


def test_round_trips_return_what_they_sell_and_only_from_free_holdings():
    holdings = {1: {2021: 1_000_000, 2022: 900_000}, 2: {2021: 50_000, 2022: 40_000}, 3: {2021: 0, 2022: 0},
                4: {2021: 2_000_000, 2022: 2_100_000}}
    need = [{"buyer": 3, "seller": 1, "vintage": 2021, "quantity": 990_000}]
    lots = stages.round_trip_lots(holdings, need, {1: "11", 2: "11", 3: "42", 4: "42"}, seed=5)
    assert lots, "a quarter of four entities round-trips"
    net = {}
    for lot in lots:
        net[(lot["seller"], lot["vintage"])] = net.get((lot["seller"], lot["vintage"]), 0) - lot["quantity"]
        net[(lot["buyer"], lot["vintage"])] = net.get((lot["buyer"], lot["vintage"]), 0) + lot["quantity"]
        if lot["leg"] == "early":
            free = holdings[lot["seller"]][lot["vintage"]] - sum(
                n["quantity"] for n in need if (n["seller"], n["vintage"]) == (lot["seller"], lot["vintage"]))
            assert 0 < lot["quantity"] <= free * 0.09
    assert set(net.values()) == {0}


def test_replay_runs_every_stage_and_the_figures_agree(replay, tmp_path):
    statuses = {s["name"]: s["status"] for s in replay["stages"]}
    assert {name for name, status in statuses.items() if status != "ok"} == set(), statuses
    assert replay["checks"]["check_ledger"]["ok"], replay["checks"]["check_ledger"]
    assert replay["checks"]["verify_audit"]["ok"], replay["checks"]["verify_audit"]
    assert replay["checks"]["disagreements"] == []
    for year in ("2021", "2022"):
        system, independent = replay["figures"]["per_year"][year], replay["recomputed"]["per_year"][year]
        # Verified emissions equal what the monthly data add up to, to the kilogram per unit-month.
        assert abs(system["verified_tco2"] - independent["verified_tco2"]) <= independent["units"] * 12 * 0.001 + 1
        assert system["verified_entities"] == ENTITIES
        # Allocated tonnes are what the registry moved to the entities (after borrowing deductions).
        registry = replay["figures"]["registry"][year]
        assert registry["net_allocated_tco2"] == system["allocated_tco2"] - system["borrowing_deducted_tco2"]
        assert 0.9 < system["allocated_tco2"] / system["verified_tco2"] < 1.1
        assert 0.5 < system["compliance_rate"] <= 1.0
    # Every traded tonne and yuan is what the trading stage asked for.
    assert replay["figures"]["traded_tco2"] == replay["recomputed"]["traded_tco2"]
    low, high = replay["figures"]["closing_price_range"]
    assert 40 <= low <= high <= 90
    assert replay["fleet"]["entities"] == ENTITIES
    # A second replay of the same seed on this database is refused before it writes anything.
    with pytest.raises(CommandError, match="master data failed"):
        call_command("replay_cycle", "--entities", str(ENTITIES), "--years", "2021", "2022", "--seed", "3",
                     "--out", str(tmp_path / "again.json"), skip_checks=True)


def test_replay_refuses_years_outside_the_cycle(tmp_path):
    with pytest.raises(CommandError, match="--years"):
        call_command("replay_cycle", "--entities", "5", "--years", "2020", "2021", "--out",
                     str(tmp_path / "x.json"), skip_checks=True)


def test_a_missing_service_is_reported_not_faked():
    with pytest.raises(stages.NotAvailable, match="registry.services:no_such_service"):
        stages.need("registry.services:issuance_propose", "registry.services:no_such_service")


# ---- any seed, both databases (issue 14 point 10) ---------------------------------------------------

SEED_ENTITIES = 20  # small enough for three seeds in well under a minute on SQLite; 3% relief = 1 entity
ENGINES = [pytest.param("sqlite", id="sqlite"),
           pytest.param("postgresql", id="postgres", marks=pytest.mark.postgres)]


def _not_on_time_from_steps(cycle) -> set[int]:
    """Entities with an obligation not covered by the deadline, from the surrender steps (not the cached
    on-time column the figure reads)."""
    from compliance.models import Obligation, SurrenderStep

    covered: dict[int, int] = {}
    for obligation_id, quantity in SurrenderStep.objects.filter(on_date__lte=cycle.deadline).values_list(
            "obligation_id", "quantity"):
        covered[obligation_id] = covered.get(obligation_id, 0) + quantity
    return {o.entity_id for o in Obligation.objects.filter(cycle=cycle) if covered.get(o.pk, 0) < o.quantity_tco2}


def _helped_from_decisions(years) -> set[int]:
    """Entities whose borrowing the province approved or whose individual relief was approved."""
    from allowances.models import BorrowingApplication
    from compliance.models import ReliefDecision

    borrowed = BorrowingApplication.objects.filter(status=BorrowingApplication.Status.APPROVED, year__in=years)
    relieved = ReliefDecision.objects.filter(status=ReliefDecision.Status.APPROVED, obligation__year__in=years)
    return (set(borrowed.values_list("entity_id", flat=True))
            | set(relieved.values_list("obligation__entity_id", flat=True)))


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("seed", [1, 7, 13])
def test_replay_completes_for_any_seed_and_prints_the_reports_entity_counts(engine, seed, tmp_path):
    from io import StringIO

    from django.db import connection

    from compliance.models import Obligation
    from compliance.selectors import cycle_get
    from registry.models import Transaction

    if connection.vendor != engine:
        pytest.skip(f"the {engine} variant")
    out, printed = tmp_path / "replay.json", StringIO()
    call_command("replay_cycle", "--entities", str(SEED_ENTITIES), "--seed", str(seed), "--out", str(out),
                 stdout=printed, skip_checks=True)
    result = json.loads(out.read_text())
    assert {s["name"]: s["status"] for s in result["stages"] if s["status"] != "ok"} == {}
    assert result["checks"]["disagreements"] == []
    cycle = cycle_get("2021-2022")
    assert cycle.status == "closed"
    assert Obligation.objects.count() == 2 * SEED_ENTITIES
    assert not Obligation.objects.filter(closed_at__isnull=True).exists()
    # Borrowed CEAs were issued: no borrowing proposal is left waiting for the Ministry.
    assert not Transaction.objects.filter(kind="issuance", status="awaiting_approval").exists()

    figures = result["figures"]
    late = _not_on_time_from_steps(cycle)
    stragglers = fleet_module.surrender_behaviour(fleet_module.build(SEED_ENTITIES, seed))
    assert figures["entities_not_compliant_on_time"] == len(late)
    # Every straggler the generator planned is among them (at least one a year: the report's shortfall).
    assert len(late) >= stragglers.loc[stragglers["on_time_share"] < 1, "entity"].nunique() >= 1
    helped = _helped_from_decisions([2021, 2022])
    assert figures["entities_helped_by_flexibility"] == len(helped) >= 1
    assert figures["flexible_mechanisms"]["individual_relief"] == round(
        fleet_module.RELIEF_SHARE * SEED_ENTITIES)
    text = printed.getvalue()
    assert re.search(rf"entities not compliant on time +{len(late)} +80 \(x", text), text
    assert re.search(rf"entities helped \(borrowing, indiv. relief\) +{len(helped)} +202 \(x", text), text
    consistency = result["checks"]["check_consistency"]
    assert consistency["ok"] is True, consistency["output"]
    assert "check_consistency: " in text
