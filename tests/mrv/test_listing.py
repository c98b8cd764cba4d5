"""Lists per data year and sector with the 26,000 t threshold (issue 15, point 1): built in mrv from the verified
direct emissions of each entity's facilities of that sector, saved through the entities service; the admin
(national builds and edits, a province views its own), the API with its export, and their refusals."""

import datetime as dt
from decimal import Decimal as D

import pytest

from cets.common.errors import DomainError, Forbidden
from cets.common.models import AuditEntry
from entities.models import Sector, SectorListing, Unit
from mrv import listing
from mrv.models import Verification, VerifiedUnitValue
from tests import factories as f

pytestmark = pytest.mark.django_db
ZERO = {"electricity_generated_mwh": 0, "electricity_supplied_mwh": 0, "heat_supplied_gj": 0, "load_factor": 0,
        "heat_supply_ratio": 0}


def facility(entity, sector: str, code: str, attributes=None, **power) -> Unit:
    if sector == "power":
        return f.UnitFactory(entity=entity, code=code, **power)
    return Unit.objects.create(entity=entity, sector_id=sector, code=code, name=code, attributes=attributes or {},
                               rated_power_mw=None, main_fuel="", commissioning_date=dt.date(2012, 1, 1))


def verify(entity, year: int, emissions: dict, status="confirmed"):
    """A province-confirmed verification of ``year``: ``emissions`` maps facility code -> tCO2e."""
    verification = Verification.objects.create(entity=entity, year=year, status=status,
                                               verified_emissions_tco2=sum(D(str(v)) for v in emissions.values()))
    for code, tonnes in emissions.items():
        VerifiedUnitValue.objects.create(verification=verification, unit=entity.units.get(code=code),
                                         emissions_tco2=D(str(tonnes)), **ZERO)


@pytest.fixture
def steelworks(db):
    """Hubei long-process works with a captive plant (a facility of sector power)."""
    entity = f.EntityFactory(name="鄂钢", sector_id="steel", province=f.province("42"))
    facility(entity, "steel", "ST-1", {"processes": ["sintering", "ironmaking", "bof"]})
    facility(entity, "power", "ST-P1", rated_power_mw=135)
    verify(entity, 2025, {"ST-1": "3000000.4", "ST-P1": "50000"})
    return entity


@pytest.fixture
def eaf(db):
    """Hubei independent EAF steelmaker: reports only."""
    entity = f.EntityFactory(name="电炉钢厂", sector_id="steel", province=f.province("42"))
    facility(entity, "steel", "EAF-1", {"processes": ["eaf", "rolling"]})
    verify(entity, 2025, {"EAF-1": 80_000})
    return entity


@pytest.fixture
def small_steel(db):
    """Guangdong works under the threshold."""
    entity = f.EntityFactory(name="小钢厂", sector_id="steel", province=f.province("44"),
                             city=f.City.objects.get(code="440100"))
    facility(entity, "steel", "SS-1", {"processes": ["ironmaking", "bof"]})
    verify(entity, 2024, {"SS-1": 30_000})
    verify(entity, 2025, {"SS-1": "25999.4"})
    return entity


@pytest.fixture
def lists_2025(national, steelworks, eaf, small_steel):
    listing.sector_list_build(actor=national, sector=Sector.objects.get(code="steel"), year=2025)
    listing.sector_list_build(actor=national, sector=Sector.objects.get(code="power"), year=2025)
    return {(r.sector_id, r.entity_id): r for r in SectorListing.objects.filter(year=2025)}


def test_each_sector_list_judges_only_that_sectors_facilities(lists_2025, steelworks, eaf, small_steel):
    steel = lists_2025[("steel", steelworks.pk)]
    assert (steel.status, steel.emissions_tco2) == ("listed", 3_000_000)
    assert steel.reason == "3,000,000 t verified in 2025, at or above 26,000 t"
    power = lists_2025[("power", steelworks.pk)]  # the captive plant puts the steelworks on the power list too
    assert (power.status, power.emissions_tco2) == ("listed", 50_000)
    only = lists_2025[("steel", eaf.pk)]
    assert (only.status, only.emissions_tco2) == ("report_only", 80_000)
    assert "independent EAF" in only.reason
    below = lists_2025[("steel", small_steel.pk)]
    assert (below.status, below.emissions_tco2) == ("removed", 25_999)
    assert below.reason == "25,999 t verified in 2025 is below the threshold of 26,000 t"
    assert ("power", eaf.pk) not in lists_2025 and ("power", small_steel.pk) not in lists_2025
    assert AuditEntry.objects.filter(action="sector_listing.build").count() == 2


def test_the_latest_confirmed_year_decides_and_a_rebuild_updates(national, small_steel):
    steel = Sector.objects.get(code="steel")
    (row,) = listing.sector_list_build(actor=national, sector=steel, year=2024)
    assert (row.status, row.emissions_tco2) == ("listed", 30_000)
    unconfirmed = f.EntityFactory(sector_id="steel")
    facility(unconfirmed, "steel", "UC-1", {"processes": ["ironmaking"]})
    verify(unconfirmed, 2025, {"UC-1": 900_000}, status="submitted")
    rows = {r.entity_id: r for r in listing.sector_list_build(actor=national, sector=steel, year=2025)}
    assert (rows[small_steel.pk].status, rows[small_steel.pk].emissions_tco2) == ("removed", 25_999)
    assert (rows[unconfirmed.pk].status, rows[unconfirmed.pk].emissions_tco2) == ("removed", None)
    assert rows[unconfirmed.pk].reason.startswith("no confirmed verified emissions")
    # the 2024 list is untouched by the 2025 build
    assert SectorListing.objects.get(year=2024, entity=small_steel).status == "listed"


def test_cement_non_silicate_lines_report_only_until_the_2027_list(national):
    cement = Sector.objects.get(code="cement")
    mixed = f.EntityFactory(sector_id="cement")
    facility(mixed, "cement", "CM-1", {"clinker_type": "portland"})
    facility(mixed, "cement", "CM-2", {"clinker_type": "aluminate"})
    special = f.EntityFactory(sector_id="cement")
    facility(special, "cement", "CS-1", {"clinker_type": "sulphoaluminate"})
    for year in (2026, 2027):
        verify(mixed, year, {"CM-1": 500_000, "CM-2": 40_000})
        verify(special, year, {"CS-1": 60_000})
    status = {(r.year, r.entity_id): r.status for year in (2026, 2027)
              for r in listing.sector_list_build(actor=national, sector=cement, year=year)}
    assert status == {(2026, mixed.pk): "listed", (2026, special.pk): "report_only",
                      (2027, mixed.pk): "listed", (2027, special.pk): "listed"}


def test_only_the_national_regulator_builds_and_edits(hubei, national, steelworks, lists_2025):
    steel = Sector.objects.get(code="steel")
    before = list(SectorListing.objects.values_list("pk", "status", "reason"))
    with pytest.raises(Forbidden):
        listing.sector_list_build(actor=hubei, sector=steel, year=2025)
    with pytest.raises(DomainError) as exc:
        listing.sector_list_build(actor=national, sector=steel, year=2023)  # before the sector's first year
    assert (exc.value.code, exc.value.field) == ("out_of_range", "year")
    row = lists_2025[("steel", steelworks.pk)]
    with pytest.raises(Forbidden):
        from entities import services
        services.sector_listing_update(actor=hubei, listing=row, status="removed", reason="closed")
    with pytest.raises(DomainError) as exc:
        services.sector_listing_update(actor=national, listing=row, status="removed", reason=" ")
    assert exc.value.field == "reason"
    assert list(SectorListing.objects.values_list("pk", "status", "reason")) == before


# ---- admin ------------------------------------------------------------------------------------------------

def test_national_builds_a_list_in_the_admin(client, admin_login, national, steelworks, eaf):
    admin_login(client, national)
    response = client.post("/admin/mrv/sectorlist/", {"action": "build_list", "_selected_action": ["steel"],
                                                      "year": "2025"}, follow=True)
    assert response.status_code == 200
    assert dict(SectorListing.objects.filter(year=2025, sector="steel").values_list("entity_id", "status")) == {
        steelworks.pk: "listed", eaf.pk: "report_only"}


def test_a_province_cannot_build_and_sees_only_its_own_rows(client, admin_login, hubei, guangdong, lists_2025,
                                                             steelworks, small_steel):
    admin_login(client, hubei)
    before = SectorListing.objects.count()
    client.post("/admin/mrv/sectorlist/", {"action": "build_list", "_selected_action": ["cement"], "year": "2025"})
    assert SectorListing.objects.count() == before
    page = client.get("/admin/entities/sectorlisting/").content.decode()
    assert steelworks.name in page and small_steel.name not in page
    other = lists_2025[("steel", small_steel.pk)]
    assert client.get(f"/admin/entities/sectorlisting/{other.pk}/change/").status_code in (302, 404)
    mine = lists_2025[("steel", steelworks.pk)]
    client.post(f"/admin/entities/sectorlisting/{mine.pk}/change/", {"status": "removed", "reason": "x"})
    assert SectorListing.objects.get(pk=mine.pk).status == "listed"
    admin_login(client, guangdong)
    assert steelworks.name not in client.get("/admin/entities/sectorlisting/").content.decode()


def test_national_edits_a_listing_with_a_reason(client, admin_login, national, lists_2025, small_steel):
    admin_login(client, national)
    row = lists_2025[("steel", small_steel.pk)]
    response = client.post(f"/admin/entities/sectorlisting/{row.pk}/change/",
                           {"status": "listed", "reason": "appeal upheld: 2024 verified 30,000 t"})
    assert response.status_code == 302
    row.refresh_from_db()
    assert (row.status, row.reason) == ("listed", "appeal upheld: 2024 verified 30,000 t")
    assert AuditEntry.objects.get(action="sector_listing.update").before == {
        "status": "removed", "reason": "25,999 t verified in 2025 is below the threshold of 26,000 t"}


# ---- API --------------------------------------------------------------------------------------------------

def test_api_lists_are_scoped_and_filterable(api, national, hubei, guangdong, lists_2025, steelworks, eaf,
                                             small_steel):
    body = api(national).get("/api/v1/sector-listings/?year=2025&sector=steel").json()
    assert {(r["entity"], r["status"], r["emissions_tco2"]) for r in body["results"]} == {
        (steelworks.pk, "listed", 3_000_000), (eaf.pk, "report_only", 80_000), (small_steel.pk, "removed", 25_999)}
    assert {r["entity"] for r in api(national).get("/api/v1/sector-listings/?province=44").json()["results"]} == {
        small_steel.pk}
    assert {(r["sector"], r["entity"]) for r in api(hubei).get("/api/v1/sector-listings/").json()["results"]} == {
        ("steel", steelworks.pk), ("power", steelworks.pk), ("steel", eaf.pk)}
    assert [r["entity"] for r in api(guangdong).get("/api/v1/sector-listings/").json()["results"]] == [
        small_steel.pk]
    hidden = lists_2025[("steel", steelworks.pk)]
    assert api(guangdong).get(f"/api/v1/sector-listings/{hidden.pk}/").status_code == 404


def test_api_lists_refuse_other_organisations(api, lists_2025, steelworks, eaf):
    user = f.UserFactory(role="entity", entity=steelworks)
    rows = api(user).get("/api/v1/sector-listings/").json()["results"]
    assert {r["entity"] for r in rows} == {steelworks.pk}
    assert api(user).get(f"/api/v1/sector-listings/{lists_2025[('steel', eaf.pk)].pk}/").status_code == 404
    assert api().get("/api/v1/sector-listings/").status_code in (401, 403)


def test_api_export_csv_and_excel(api, hubei, lists_2025, steelworks, small_steel):
    response = api(hubei).get("/api/v1/sector-listings/export/?year=2025&sector=steel&export=csv")
    text = response.content.decode("utf-8-sig")
    assert response["Content-Type"].startswith("text/csv")
    assert text.splitlines()[0] == "year,sector,credit_code,entity_name,province,status,emissions_tco2,reason"
    assert f"2025,steel,{steelworks.credit_code},鄂钢,42,listed,3000000," in text
    assert small_steel.credit_code not in text
    xlsx = api(hubei).get("/api/v1/sector-listings/export/?export=xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
