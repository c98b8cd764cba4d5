"""The 2024 and 2025 compliance years of four sectors: years as data, vintage usability at the ledger's door,
CCERs registered after the market's launch only, and what the pages, the risk scan and the holdings view count.

Bad input (issue 16): a 2024 allowance offered for a 2025 obligation and a CCER registered before 2024-01-22
offered for 2025 are refused with the rule named, and nothing changes.
"""

import datetime as dt

import pytest

from cets.common.errors import DomainError
from compliance import selectors, services
from compliance.models import ComplianceCycle, Obligation, RiskSnapshot, SurrenderStep
from entities.models import Sector
from registry import services as registry
from registry.ledger import ledger_check
from registry.models import Holding, Transaction
from voluntary.models import CreditUse, Methodology, Project

from .test_services import entity_ccers  # noqa: F401  (CCERs of the offshore wind farm in the entity's account)

pytestmark = pytest.mark.django_db

IN_2026 = dt.date(2026, 11, 2)


def snapshot():
    """What a refused surrender must leave as it was: holdings, transactions, steps, uses, coverage."""
    return (sorted(Holding.objects.values_list("account_id", "instrument_id", "total", "reserved", "frozen")),
            Transaction.objects.count(), SurrenderStep.objects.count(), CreditUse.objects.count(),
            [(o.pk, o.surrendered_tco2, o.offsets_tco2, o.remaining_tco2) for o in Obligation.objects.order_by("pk")])


def owe(entity, year: int, tonnes: int, allocation: int = 0) -> Obligation:
    """An obligation as ``obligations_calculate`` writes it from a confirmed verification."""
    return Obligation.objects.create(cycle=ComplianceCycle.objects.get(code=str(year)), entity=entity, year=year,
                                     verified_emissions_tco2=tonnes, quantity_tco2=tonnes, allocation_tco2=allocation)


@pytest.fixture
def steel(entity):
    """The Hubei entity as a steel enterprise (its allocation unit is the enterprise)."""
    entity.sector = Sector.objects.get(code="steel")
    entity.save(update_fields=["sector"])
    return entity


@pytest.fixture
def ob2025(steel):
    return owe(steel, 2025, 1_000_000)


# ---- years as data -----------------------------------------------------------------------------------------

def test_years_with_sectors_vintages_and_milestones():
    by_code = {c.code: c for c in selectors.cycles_overview()}
    c2024, c2025, c2026 = by_code["2024"], by_code["2025"], by_code["2026"]
    assert {s.sector_id: s.allocation_basis for s in c2024.sectors.all()} == {
        "power": "plan", "steel": "verified", "cement": "verified", "aluminium": "verified"}
    assert not c2024.milestones.filter(kind="pre_allocation").exists()  # no pre-allocation in 2024
    assert c2024.milestones.get(kind="surrender").due_on == c2024.deadline == dt.date(2025, 12, 31)
    assert {s.sector_id for s in c2025.sectors.all()} == {"power", "steel", "cement", "aluminium"}
    assert {(m.sector_id, m.due_on) for m in c2025.milestones.filter(kind="pre_allocation")} == {
        ("steel", dt.date(2026, 4, 10)), ("cement", dt.date(2026, 4, 10)), ("aluminium", dt.date(2026, 4, 10)),
        ("power", dt.date(2026, 6, 30))}
    assert (c2025.milestones.get(kind="final_allocation").due_on, c2025.milestones.get(kind="surrender").due_on,
            c2025.deadline) == (dt.date(2026, 9, 20), dt.date(2026, 12, 31), dt.date(2026, 12, 31))
    assert (c2024.draft, c2025.draft, c2026.draft) == (False, False, True)
    assert c2024.eligible == [(2024, ["CEA19-20", "CEA21", "CEA22", "CEA23", "CEA24"])]
    assert c2025.eligible == [(2025, ["CEA25"])]
    assert c2026.eligible == [(2026, ["CEA25", "CEA26"])]
    assert {s.sector_id for s in by_code["2021-2022"].sectors.all()} == {"power"}


def test_public_page_shows_draft_sectors_and_vintages(client):
    page = client.get("/compliance/public/").content.decode()
    assert 'data-testid="cycle-2026"' in page and 'data-testid="draft"' in page
    assert "2025: CEA25" in page and "2026: CEA25, CEA26" in page
    assert "Iron and steel (Verified emissions" in page


# ---- vintage usability at the ledger's door ----------------------------------------------------------------

def test_2024_allowance_refused_for_a_2025_obligation_nothing_changed(ob2025, steel, entity_user, give, api):
    account = give(steel, 2024, 600_000)
    before = snapshot()
    with pytest.raises(DomainError) as exc:
        services.surrender(actor=entity_user, obligation=ob2025, on_date=IN_2026,
                           items=[{"kind": "cea", "vintage": 2024, "quantity": 500_000}])
    assert (exc.value.code, exc.value.field) == ("vintage_expired", "items[0].vintage")
    assert "2019-2024 allowances settle 2019-2024 obligations only" in exc.value.message
    assert "carried over into CEA25" in exc.value.message
    with pytest.raises(DomainError) as door:  # the registry refuses it for every caller
        registry.surrender_execute(actor=entity_user, account=account, quantity=5, compliance_year=2025,
                                   instrument=registry.instrument_get_or_create_cea(vintage=2024))
    assert (door.value.code, door.value.field) == ("vintage_expired", "instrument")
    response = api(entity_user).post("/api/v1/registry/surrenders/", {
        "account": account.pk, "instrument": "CEA24", "quantity": 5, "compliance_year": 2025}, format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "vintage_expired"
    assert snapshot() == before
    ob2025.refresh_from_db()
    assert (ob2025.surrendered_tco2, ob2025.remaining_tco2) == (0, 1_000_000)
    assert Holding.objects.get(account=account, instrument__code="CEA24").total == 600_000


def test_cea25_settles_a_steel_2025_obligation_and_cea26_is_never_borrowed(ob2025, steel, entity_user, give):
    give(steel, 2025, 700_000)
    give(steel, 2026, 10)
    before = snapshot()
    with pytest.raises(DomainError) as exc:
        services.surrender(actor=entity_user, obligation=ob2025, on_date=IN_2026,
                           items=[{"kind": "cea", "vintage": 2026, "quantity": 10}])
    assert (exc.value.code, exc.value.field) == ("later_vintage", "items[0].vintage")
    assert snapshot() == before
    (step,) = services.surrender(actor=entity_user, obligation=ob2025, on_date=IN_2026,
                                 items=[{"kind": "cea", "vintage": 2025, "quantity": 700_000}])
    ob2025.refresh_from_db()
    assert (step.instrument_code, step.late, ob2025.surrendered_tco2, ob2025.remaining_tco2) == (
        "CEA25", False, 700_000, 300_000)
    assert ledger_check() == []


def test_old_vintages_still_settle_2024_arrears(steel, entity_user, give):
    ob2024 = owe(steel, 2024, 400_000)
    give(steel, 2022, 150_000)
    give(steel, 2024, 250_000)
    steps = services.surrender(actor=entity_user, obligation=ob2024, on_date=dt.date(2026, 3, 2),
                               items=[{"kind": "cea", "vintage": 2022, "quantity": 150_000},
                                      {"kind": "cea", "vintage": 2024, "quantity": 250_000}])
    ob2024.refresh_from_db()
    assert ([s.late for s in steps], ob2024.remaining_tco2) == ([True, True], 0)


def test_holdings_say_which_year_they_settle(ob2025, steel, entity_user, give, client):
    account = give(steel, 2024, 600_000)
    give(steel, 2025, 100)
    options = {o["instrument"]: o for o in selectors.surrender_options(ob2025)}
    assert (options["CEA24"]["eligible"], options["CEA25"]["eligible"]) == (False, True)
    assert "2019-2024 allowances settle 2019-2024 obligations only" in options["CEA24"]["reason"]
    client.force_login(entity_user)
    page = client.get(f"/registry/accounts/{account.pk}/").content.decode()
    cea24 = page[page.index('data-testid="holding-CEA24"'):page.index('data-testid="holding-CEA25"')]
    cea25 = page[page.index('data-testid="holding-CEA25"'):]
    assert "Settles obligations of\n     2024" in cea24
    assert "Settles obligations of\n     2025, 2026" in cea25


def test_holdings_page_of_another_entity_refused(steel, other_entity_user, give, client):
    account = give(steel, 2024, 10)
    client.force_login(other_entity_user)
    assert client.get(f"/registry/accounts/{account.pk}/").status_code == 404


def test_risk_scan_counts_only_holdings_that_settle_2025(ob2025, steel, give):
    give(steel, 2024, 900_000)  # does not count for 2025
    give(steel, 2025, 300_000)
    cycle = ComplianceCycle.objects.get(code="2025")
    services.risk_scan(cycle=cycle, on_date=dt.date(2026, 10, 1), entity_ids=[steel.pk])
    snap = RiskSnapshot.objects.get(cycle=cycle, entity=steel)
    assert (snap.expected_tco2, snap.holdings_tco2, snap.gap_tco2) == (1_000_000, 300_000, 700_000)


# ---- CCERs for 2025 ----------------------------------------------------------------------------------------

def test_ccer_registered_before_the_launch_refused_for_2025(ob2025, steel, entity_user, entity_ccers):  # noqa: F811
    Project.objects.update(registered_on=dt.date(2023, 12, 1))  # a project registered before 2024-01-22
    before = snapshot()
    with pytest.raises(DomainError) as exc:
        services.surrender(actor=entity_user, obligation=ob2025, on_date=IN_2026,
                           items=[{"kind": "ccer", "instrument": entity_ccers[2023], "quantity": 1_000}])
    assert (exc.value.code, exc.value.field) == ("ccer_registered_too_early", "instrument")
    assert "only CCERs registered after 2024-01-22 count" in exc.value.message
    assert snapshot() == before
    ob2025.refresh_from_db()
    assert (ob2025.offsets_tco2, ob2025.remaining_tco2) == (0, 1_000_000)
    options = {o["instrument"]: o for o in selectors.surrender_options(ob2025)}
    assert options[entity_ccers[2023]]["eligible"] is False


def test_ccer_registered_after_the_launch_counts_for_2025_within_5_percent(ob2025, entity_user,
                                                                           entity_ccers):  # noqa: F811
    before = snapshot()
    with pytest.raises(DomainError) as exc:  # 5% of 1,000,000 t
        services.surrender(actor=entity_user, obligation=ob2025, on_date=IN_2026,
                           items=[{"kind": "ccer", "instrument": entity_ccers[2022], "quantity": 32_826},
                                  {"kind": "ccer", "instrument": entity_ccers[2023], "quantity": 17_175}])
    assert exc.value.code == "offset_cap_exceeded"
    assert snapshot() == before
    services.surrender(actor=entity_user, obligation=ob2025, on_date=IN_2026,
                       items=[{"kind": "ccer", "instrument": entity_ccers[2022], "quantity": 32_826}])
    ob2025.refresh_from_db()
    assert (ob2025.offsets_tco2, ob2025.remaining_tco2) == (32_826, 967_174)


def test_methodologies_of_2025_seeded_with_what_is_unconfirmed():
    new = Methodology.objects.filter(published_on__year=2025)
    assert new.count() == 11  # the twelfth issued in 2025 is not named in the sources
    assert Methodology.objects.count() == 15
    coal = Methodology.objects.get(code="CCER-10-001-V01")
    assert (coal.published_on, coal.confidence, coal.capacity_unit) == (dt.date(2025, 1, 3), "A", "t")
    provisional = new.filter(code__startswith="TBC-")
    assert provisional.count() == 8
    assert all("code not seen" in m.note for m in provisional)
    assert Methodology.objects.get(code="CCER-14-003-V01").crediting_years_max == 40
