"""Monthly data of a clinker line, an aluminium process and a steel enterprise through the API: computed by the
sector module and stored with their figures, versions as for power, three-tier review, annual report,
verification, verified_unit_data; bad input refused naming the field with nothing saved; refusals."""

import datetime as dt
from decimal import Decimal

import pytest

from entities.models import AgencyAssignment
from mrv import selectors, services, verifications
from mrv.models import AnnualReport, MonthlySubmission, Verification, VerifiedFacilityValue

from .conftest import (
    ALUMINIUM_MONTH,
    CEMENT_MONTH,
    STEEL_MONTH,
    _facility_entity,
    post_report,
    signed_report,
)
from .test_adding_a_sector import glass  # noqa: F401  (the toy sector's row, a fixture)

pytestmark = pytest.mark.django_db

URL = "/api/v1/mrv/submissions/"
# Cement: fuel 12,500 t x 22.0 x 0.02618 x 0.99 x 44/12 = 26,134.185; clinker 100,000 x 0.535 = 53,500;
# carbide slag 5,000 x 0.480 = -2,400. Aluminium: anode 50,000 x 0.40 x (1 - 0.02 - 0.004) x 44/12 = 71,573.333;
# CF4 50,000 x 0.034 x 6630 / 1000 = 11,271; C2F6 50,000 x 0.0034 x 11100 / 1000 = 1,887.
EXPECTED = {"cement": ("77234.185", "100000.000", "77234.185", "100000.000", {"CO2": "77234.185"}),
            "aluminium": ("84731.333", "50000.000", "84731.333", "50000.000",
                          {"CO2": "71573.333", "CF4": "11271.000", "C2F6": "1887.000"})}


def _post(api, user, unit, body, month=3, year=2025):
    return api(user).post(URL, {"unit": unit.pk, "year": year, "month": month, **body}, format="json")


@pytest.mark.parametrize("sector", ["cement", "aluminium"])
def test_month_through_the_api_is_computed_and_stored(api, sector, cement_entity, aluminium_entity, facility_user):
    entity, body = {"cement": (cement_entity, CEMENT_MONTH), "aluminium": (aluminium_entity, ALUMINIUM_MONTH)}[sector]
    unit = entity.units.get()
    response = _post(api, facility_user(entity), unit, body)
    assert response.status_code == 201, response.json()
    data = response.json()
    emissions, output, i_emissions, i_output, gases = EXPECTED[sector]
    assert (data["sector"], data["emissions_tco2"], data["output_t"]) == (sector, emissions, output)
    assert (data["intensity_emissions_tco2"], data["intensity_output_t"], data["gases"]) == (
        i_emissions, i_output, gases)
    assert data["deadline"] == "2025-05-10" and data["fuels"] == [] and data["status"] == "national_review"
    sub = MonthlySubmission.objects.get(pk=data["id"])
    assert sub.inputs == {**body, **({"clinker_type": "portland"} if sector == "cement" else {})}
    assert sub.electricity_generated_mwh == 0 and sub.calculation[0]["formula"]
    assert str(sub.fuel_heat_gj) == ("275000.000" if sector == "cement" else "0.000")  # 12,500 t x 22.0 GJ/t
    second = _post(api, facility_user(entity), unit, body).json()  # a resubmission is the next version
    assert second["version"] == 2 and MonthlySubmission.objects.get(pk=data["id"]).status == "superseded"


def test_steel_enterprise_month_keeps_the_process_balance(api, steel_entity, facility_user):
    unit = steel_entity.units.get()
    response = _post(api, facility_user(steel_entity), unit, {"inputs": STEEL_MONTH, "note": "March"})
    assert response.status_code == 201, response.json()
    data = response.json()
    # Carbon balance: coking coal 539,983.506 + anthracite 176,563.505 + limestone 13,200 - crude steel 14,800
    # - tar 13,495 = 701,452.011 t; process balance: sintering 61,347.565 + ironmaking (460,106.735 - 171,336)
    assert (data["emissions_tco2"], data["output_t"]) == ("701452.011", "400000.000")
    assert (data["intensity_emissions_tco2"], data["intensity_output_t"]) == ("350118.300", "370000.000")
    assert MonthlySubmission.objects.get(pk=data["id"]).inputs["sinter_t"] == "500000"


@pytest.mark.parametrize("body, field, code", [
    ({**CEMENT_MONTH, "fuels": [{"fuel": "peat", "consumption": "1"}]}, "fuels[0].fuel", "invalid_choice"),
    ({**CEMENT_MONTH, "substitutes": [{"material": "unobtainium", "consumption": "1"}]}, "substitutes[0].material",
     "invalid_choice"),
    ({**CEMENT_MONTH, "clinker_t": "-5"}, "clinker_t", "negative"),
    ({**CEMENT_MONTH, "clinker_t": "0"}, "clinker_t", "not_positive"),
    ({**CEMENT_MONTH, "aluminium_t": "100"}, "aluminium_t", "not_in_sector"),
    ({**CEMENT_MONTH, "electricity_generated_mwh": "100"}, "electricity_generated_mwh", "not_in_sector"),
    ({**CEMENT_MONTH, "colour": "grey"}, "colour", "unknown_field"),
    ({"fuels": CEMENT_MONTH["fuels"]}, "clinker_t", "required"),
])
def test_bad_cement_month_is_refused_naming_the_field(api, cement_entity, facility_user, body, field, code):
    response = _post(api, facility_user(cement_entity), cement_entity.units.get(), body)
    assert response.status_code == 400
    assert (response.json()["error"]["field"], response.json()["error"]["code"]) == (field, code)
    assert not MonthlySubmission.objects.exists()


@pytest.mark.parametrize("body, field, code", [
    ({**ALUMINIUM_MONTH, "anode_sulphur": "1.5"}, "anode_sulphur", "out_of_range"),
    ({**ALUMINIUM_MONTH, "net_anode_consumption": "-0.4"}, "net_anode_consumption", "negative"),
    ({**ALUMINIUM_MONTH, "clinker_t": "10"}, "clinker_t", "not_in_sector"),
    ({**ALUMINIUM_MONTH, "fuels": [{"fuel": "bituminous", "consumption": "1"}]}, "fuels", "not_in_sector"),
])
def test_bad_aluminium_month_is_refused(api, aluminium_entity, facility_user, body, field, code):
    response = _post(api, facility_user(aluminium_entity), aluminium_entity.units.get(), body)
    assert response.status_code == 400
    assert (response.json()["error"]["field"], response.json()["error"]["code"]) == (field, code)
    assert not MonthlySubmission.objects.exists()


def test_bad_steel_month_names_the_material(api, steel_entity, facility_user):
    body = {**STEEL_MONTH, "materials": [{"material": "kryptonite", "consumption": "1"}]}
    response = _post(api, facility_user(steel_entity), steel_entity.units.get(), body)
    assert response.status_code == 400 and response.json()["error"]["field"] == "materials[0].material"
    assert not MonthlySubmission.objects.exists()


def test_other_organisation_cannot_submit_or_see_a_facility_month(api, cement_entity, facility_user,
                                                                  other_entity_user, guangdong, hubei):
    unit = cement_entity.units.get()
    assert _post(api, other_entity_user, unit, CEMENT_MONTH).status_code == 404
    sub_id = _post(api, facility_user(cement_entity), unit, CEMENT_MONTH).json()["id"]
    assert api(other_entity_user).get(f"{URL}{sub_id}/").status_code == 404
    assert api(guangdong).get(f"{URL}{sub_id}/").status_code == 404  # another province
    assert api(hubei).get(f"{URL}{sub_id}/").json()["emissions_tco2"] == "77234.185"
    response = api(guangdong, otp=True).post(f"{URL}{sub_id}/review/", {"accept": True}, format="json")
    assert response.status_code in (403, 404)


@pytest.mark.parametrize("sector", ["cement", "aluminium", "steel"])
def test_three_tiers_review_a_facility_month(api, sector, cement_entity, aluminium_entity, steel_entity,
                                             facility_user, wuhan, hubei, national, guangdong):
    entity, body = {"cement": (cement_entity, CEMENT_MONTH), "aluminium": (aluminium_entity, ALUMINIUM_MONTH),
                    "steel": (steel_entity, STEEL_MONTH)}[sector]
    sub_id = _post(api, facility_user(entity), entity.units.get(), body).json()["id"]
    assert MonthlySubmission.objects.get(pk=sub_id).status == "municipal_review"  # Wuhan has a municipal tier
    for user in (hubei, national, guangdong):  # not their turn, or not their jurisdiction
        response = api(user, otp=True).post(f"{URL}{sub_id}/review/", {"accept": True}, format="json")
        assert response.status_code in (403, 404)
    for user, after in ((wuhan, "provincial_review"), (hubei, "national_review"), (national, "accepted")):
        response = api(user, otp=True).post(f"{URL}{sub_id}/review/", {"accept": True}, format="json")
        assert response.status_code == 200 and response.json()["status"] == after


def _year_of_months(entity, user, body, year=2025):
    unit = entity.units.get()
    services.submissions_bulk_load(actor=user, rows=[{"unit": unit, "year": year, "month": m, "inputs": body}
                                                     for m in range(1, 13)], today=dt.date(year + 1, 2, 1))
    return unit


def test_annual_report_verification_and_verified_unit_data(api, cement_entity, aluminium_entity, steel_entity,
                                                           facility_user, agency, verifier, hubei, guangdong,
                                                           other_entity_user):
    users = {e.pk: facility_user(e) for e in (cement_entity, aluminium_entity, steel_entity)}
    line = _year_of_months(cement_entity, users[cement_entity.pk], CEMENT_MONTH)
    pot = _year_of_months(aluminium_entity, users[aluminium_entity.pk], ALUMINIUM_MONTH)
    works = _year_of_months(steel_entity, users[steel_entity.pk], STEEL_MONTH)
    response = api(users[cement_entity.pk]).post("/api/v1/mrv/annual-reports/", {"year": 2025}, format="json")
    assert response.status_code == 201, response.json()
    report = response.json()
    assert report["emissions_tco2"] == "926810.220" and report["months_missing"] == []  # 12 x 77,234.185
    assert report["units"] == [{"unit": "HB-CEM-L1", "sector": "cement", "emissions": "926810.220",
                                "generated": "0.000", "supplied": "0.000", "heat": "0.000", "months": "12",
                                "output_t": "1200000.000", "intensity_emissions_tco2": "926810.220",
                                "intensity_output_t": "1200000.000"}]
    assert api(other_entity_user).get(f"/api/v1/mrv/annual-reports/{report['id']}/").status_code == 404
    assert api(users[cement_entity.pk]).post(f"/api/v1/mrv/annual-reports/{report['id']}/submit/").json()[
        "status"] == "submitted"
    steel = services.annual_report_compile(actor=users[steel_entity.pk], entity=steel_entity, year=2025)
    assert steel.units[0]["intensity_emissions_tco2"] == "4201419.600"  # 12 x 350,118.3: enterprise level
    for entity in (cement_entity, aluminium_entity, steel_entity):
        AgencyAssignment.objects.create(year=2025, entity=entity, agency=agency, assigned_by=hubei)
    body = {"entity": cement_entity.pk, "year": 2025, "unit_values": [
        {"unit": "HB-CEM-L1", "emissions_tco2": "926810.22", "output_t": "1200000", "carbide_slag_rate": "0.0449"}]}
    bad = {**body, "unit_values": [{**body["unit_values"][0], "load_factor": "0.8"}]}
    response = post_report(api(verifier), bad)
    assert response.status_code == 400 and response.json()["error"]["field"] == "unit_values[0].load_factor"
    assert not Verification.objects.exists()
    response = post_report(api(verifier), body)
    assert response.status_code == 201, response.json()
    verification = response.json()
    assert verification["verified_emissions_tco2"] == "926810.220"
    assert verification["facility_values"][0]["intensity_output_t"] == "1200000.000"
    assert api(guangdong, otp=True).post(f"/api/v1/mrv/verifications/{verification['id']}/confirm/").status_code \
        in (403, 404)
    assert api(hubei, otp=True).post(f"/api/v1/mrv/verifications/{verification['id']}/confirm/").json()[
        "status"] == "confirmed"
    verifications.verification_submit(**signed_report(),
                                      actor=verifier, entity=aluminium_entity, year=2025, unit_values=[
        {"unit": "HB-AL-P1", "emissions_tco2": "1016776", "output_t": "600000"}])
    verifications.verification_submit(**signed_report(), actor=verifier, entity=steel_entity, year=2025, unit_values=[
        {"unit": "HB-ST-01", "emissions_tco2": "8417424.13", "output_t": "4800000",
         "intensity_emissions_tco2": "4200000", "intensity_output_t": "4440000"}])
    for v in Verification.objects.exclude(status="confirmed"):
        verifications.verification_confirm(actor=hubei, verification=v)
    rows = {r["unit_id"]: r for r in selectors.verified_unit_data(2025)}
    assert rows[line.pk] | {"attributes": None} == {
        "unit_id": line.pk, "unit_code": "HB-CEM-L1", "entity_id": cement_entity.pk, "sector": "cement",
        "emissions_tco2": Decimal("926810.220"), "verified_emissions_tco2": Decimal("926810.220"),
        "output_t": Decimal("1200000.000"), "intensity_emissions_tco2": Decimal("926810.220"),
        "intensity_output_t": Decimal("1200000.000"), "carbide_slag_rate": Decimal("0.0449"), "attributes": None,
        "commissioned_in_year": False, "status": "operating", "is_conservative": False,
        "gases": {"CO2": Decimal("926810.220")}}
    assert rows[line.pk]["attributes"]["clinker_type"] == "portland"
    assert rows[pot.pk]["intensity_emissions_tco2"] == Decimal("1016775.996")  # left blank: 12 x 84,731.333
    assert rows[pot.pk]["gases"]["CF4"] == Decimal("135252.000")  # 12 x 11,271
    assert rows[pot.pk]["carbide_slag_rate"] is None
    assert (rows[works.pk]["intensity_emissions_tco2"], rows[works.pk]["intensity_output_t"]) == (
        Decimal("4200000.000"), Decimal("4440000.000"))
    assert [r["sector"] for r in selectors.verified_unit_data(2025, sectors=["steel"])] == ["steel"]
    assert VerifiedFacilityValue.objects.count() == 3 and AnnualReport.objects.count() == 2


def test_power_units_keep_their_verified_keys(entity, agency, verifier, hubei):
    from .test_oversight import VALUES

    AgencyAssignment.objects.create(year=2024, entity=entity, agency=agency, assigned_by=hubei)
    response = verifications.verification_submit
    with pytest.raises(Exception) as refused:
        response(**signed_report(),
                 actor=verifier, entity=entity, year=2024, unit_values=[{**VALUES[0], "output_t": "5"}])
    assert refused.value.field == "unit_values[0].output_t"
    v = response(**signed_report(), actor=verifier, entity=entity, year=2024, unit_values=VALUES)
    verifications.verification_confirm(actor=hubei, verification=v)
    row = selectors.verified_unit_data(2024)[0]
    assert (row["sector"], row["category"], row["verified_emissions_tco2"], row["output_t"]) == (
        "power", "I", Decimal("2900000.400"), None)
    assert row["electricity_supplied_mwh"] == Decimal("3400000.000")


def test_a_large_batch_of_facility_months_is_copied(on_postgres, cement_entity, facility_user):
    """500 rows and more go through COPY on PostgreSQL: the inputs, gases and figures land as bulk_create's."""
    import datetime as dt

    from entities.models import Unit

    lines = [Unit.objects.create(entity=cement_entity, sector_id="cement", code=f"HB-CEM-B{i:02d}", name=str(i),
                                 attributes={"clinker_type": "portland"}, main_fuel="",
                                 commissioning_date=dt.date(2015, 1, 1)) for i in range(45)]
    rows = [{"unit": u, "year": 2025, "month": m, "inputs": CEMENT_MONTH} for u in lines for m in range(1, 13)]
    result = services.submissions_bulk_load(actor=facility_user(cement_entity), rows=rows,
                                            today=dt.date(2026, 2, 1))
    assert result["created"] == 540 and result["emissions_tco2"] == Decimal("77234.185") * 540
    sub = MonthlySubmission.objects.get(unit=lines[7], month=5)
    assert (sub.output_t, sub.gases, sub.inputs["clinker_type"]) == (
        Decimal("100000.000"), {"CO2": "77234.185"}, "portland")
    assert sub.calculation[2]["material"] == "carbide_slag" and sub.fuel_heat_gj == Decimal("275000.000")


@pytest.mark.usefixtures("glass")
def test_a_sector_added_as_data_takes_monthly_data(api, facility_user):
    """docs/adding-a-sector.md: a Sector row (its monthly parameters list every input) and a module; monthly
    data, template and storage follow."""
    from entities.models import Sector

    from .test_adding_a_sector import BODY

    Sector.objects.filter(code="flat_glass").update(monthly_parameters=[
        {"code": "glass_t", "type": "quantity", "unit": "t", "required": True},
        {"code": "carbonates", "type": "material_list", "unit": "t", "required": False}])

    entity = _facility_entity("示范玻璃有限公司", "HB-GL-F1", "flat_glass", {})
    response = _post(api, facility_user(entity), entity.units.get(), BODY)
    assert response.status_code == 201, response.json()
    assert (response.json()["emissions_tco2"], response.json()["output_t"]) == ("11180.000", "100000.000")
    response = _post(api, facility_user(entity), entity.units.get(), {**BODY, "clinker_t": "5"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "not_in_sector"
    template = api(facility_user(entity)).get("/api/v1/mrv/submissions/template/?year=2025")
    assert template.status_code == 200 and template["Content-Disposition"].endswith('-flat_glass.xlsx"')
