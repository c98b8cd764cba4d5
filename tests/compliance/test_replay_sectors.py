"""The four-sector replay of 2024-2025 through the command, small: every sector generated, monthly data,
verification, allocation over every sector, obligations, surrender, closing; ledger, audit and consistency
clean. The national size (3,378 entities) is a benchmark, never a timed test."""

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from compliance.replay import industry

pytestmark = pytest.mark.django_db(transaction=True)

ENTITIES = 16


@pytest.fixture
def replay(tmp_path):
    out = tmp_path / "replay.json"
    call_command("replay_cycle", "--years", "2024", "2025", "--sectors", "power", "steel", "cement", "aluminium",
                 "--entities", str(ENTITIES), "--seed", "3", "--out", str(out), skip_checks=True)
    return json.loads(out.read_text())


def test_counts_keep_the_published_proportions():
    assert industry.counts_for(3378) == {"power": 2087, "steel": 232, "cement": 962, "aluminium": 97}
    assert industry.counts_for(ENTITIES) == {"power": 9, "steel": 1, "cement": 5, "aluminium": 1}


def test_the_generator_reaches_each_sectors_share_of_its_target():
    fleet = industry.build(industry.counts_for(ENTITIES), 3, ["Shandong", "Hebei"], first_key=100)
    assert fleet.entities["sector"].value_counts().to_dict() == {"cement": 5, "steel": 1, "aluminium": 1}
    assert set(fleet.units["code"]) == set(fleet.months["unit"])
    assert len(fleet.months) == len(fleet.units) * 24
    again = industry.build(industry.counts_for(ENTITIES), 3, ["Shandong", "Hebei"], first_key=100)
    assert again.months["output"].sum() == fleet.months["output"].sum()


def test_four_sector_replay_allocates_every_sector_and_closes_both_years(replay):
    failed = [s for s in replay["stages"] if s["status"] != "ok"]
    assert not failed, failed
    figures = replay["figures"]
    assert figures["entities"] == {"power": 9, "steel": 1, "cement": 5, "aluminium": 1, "total": 16}
    for year in ("2024", "2025"):
        y = figures[year]
        assert set(y["allocated_tco2"]) == {"power", "steel", "cement", "aluminium"}
        assert all(t > 0 for t in y["allocated_tco2"].values())
        assert y["obligations"] == 16
        # The obligation is the verified emissions of every sector's covered units, whole tonnes rounded up per
        # entity (the verified totals summed here are truncated: at most one tonne apart per entity).
        assert 0 <= y["obligation_tco2"] - sum(y["verified_tco2"].values()) <= 16
        assert 0.99 <= y["surrender_rate"] <= 1
    # 2024: industry is allocated its verified emissions (no pre-allocation, no balance value), whole tonnes
    # rounded up per facility.
    for sector in ("steel", "cement", "aluminium"):
        assert 0 <= figures["2024"]["allocated_tco2"][sector] - figures["2024"]["verified_tco2"][sector] <= 5
    stage = {s["name"]: s for s in replay["stages"]}
    assert set(stage["balance values 2025"]["details"]) == {"steel", "cement", "aluminium"}
    assert stage["closing 2024"]["status"] == stage["closing 2025"]["status"] == "ok"
    for year in (2024, 2025):  # every shortfall found a seller; auctions closed and settled
        trading = stage[f"trading {year}"]["details"]
        assert trading["unmatched_need_tco2"] == 0
        assert all(a["status"] == "closed" for a in trading["auctions"])
    assert stage["carry-over"]["details"]["notices"]["holders"] == 16
    assert all(check["ok"] for check in replay["checks"].values()), replay["checks"]
    offsets_trading_and_carry_over(replay)  # the same run (a replay per test would double the suite's time)


def offsets_trading_and_carry_over(replay):
    """CCERs of projects registered after 2024-01-22 offset at most 5% of each 2025 obligation; the pre-relaunch
    CCERs offered for 2025 are refused by the registry; 2025's trading has round trips and up to 8 auctions
    closing at the published close; the carry-over quotas of sellers are real (holdings at the cut-off and net
    sales read from the business-dated history)."""
    from compliance.models import CarryOverNotice, Obligation

    stage = {s["name"]: s for s in replay["stages"]}
    ccer = stage["CCER 2025"]["details"]
    assert ccer["issued_by_end_2025_tco2"] > 0 and ccer["transferred_tco2"] == ccer["issued_by_end_2025_tco2"]
    assert stage["surrender 2025"]["details"]["stale_ccer_offered"] == "ccer_registered_too_early"
    used = [(o.offsets_tco2, o.quantity_tco2) for o in Obligation.objects.filter(year=2025) if o.offsets_tco2]
    assert used and sum(u for u, _q in used) == replay["figures"]["ccer"]["used_2025_tco2"] == ccer["transferred_tco2"]
    assert all(u <= q * 0.05 for u, q in used)
    assert not [o for o in Obligation.objects.filter(year=2024) if o.offsets_tco2]
    trading = stage["trading 2024"]["details"]
    assert trading["round_trip_tco2"] > 0 and trading["close"]["CEA24"] == 74.63
    assert trading["auction_count"] == min(8, trading["lots"])
    sellers = CarryOverNotice.objects.filter(net_sales_tco2__gt=0)
    assert sellers.exists()
    for notice in sellers:
        assert notice.quota_tco2 == min(10_000 + notice.net_sales_tco2 * 3 // 2, notice.holdings_tco2)
    assert sellers.filter(quota_tco2__gt=10_000).exists()


def test_four_sectors_need_their_years_and_all_sectors(tmp_path):
    with pytest.raises(CommandError, match="--sectors"):
        call_command("replay_cycle", "--years", "2024", "2025", "--sectors", "power", "steel", "--out",
                     str(tmp_path / "x.json"), skip_checks=True)
    with pytest.raises(CommandError, match="--sectors"):
        call_command("replay_cycle", "--years", "2021", "2022", "--sectors", "cement", "--out",
                     str(tmp_path / "x.json"), skip_checks=True)
