"""Power categories by plan year: from the 2025 plan the S1 special cases are covered with A = E (an exemption
code); 2019-2024 keep the 2023-24 exclusions. And the unit facts those rules read, through the API."""

import pytest

from allowances.formulas import POWER_EXEMPTIONS
from entities.categories import unit_category
from entities.models import Unit

from .test_api import _unit_payload

COAL_600 = {"main_fuel": "coal", "rated_power_mw": 600}


@pytest.mark.parametrize(
    ("facts", "category", "exemption"),
    [
        ({**COAL_600, "biomass_share": "0.25"}, "I", "biomass_cofiring"),
        ({**COAL_600, "biomass_share": "0.15"}, "I", None),  # 10-20%: benchmark from 2025, excluded before
        ({**COAL_600, "biomass_share": "0.20"}, "I", None),  # "more than 20%"
        ({**COAL_600, "secondary_energy_share": "0.12"}, "I", "secondary_energy"),
        ({**COAL_600, "biomass_share": "0.15", "secondary_energy_share": "0.08"}, "I", "biomass_and_secondary"),
        ({**COAL_600, "green_hydrogen_share": "0.21"}, "I", "green_hydrogen"),
        ({**COAL_600, "green_hydrogen_share": "0.20"}, "I", None),
        ({"main_fuel": "coal", "rated_power_mw": 330, "is_emergency_backup": True}, "II", "emergency_backup"),
        ({"main_fuel": "natural_gas", "rated_power_mw": 400, "is_emergency_backup": True}, "IV", "emergency_backup"),
        ({"main_fuel": "oil", "rated_power_mw": 50}, None, "oil_igcc_ice"),
        ({**COAL_600, "technology": "igcc"}, "I", "oil_igcc_ice"),
        ({"main_fuel": "natural_gas", "rated_power_mw": 50, "technology": "internal_combustion"}, "IV",
         "oil_igcc_ice"),
        ({"main_fuel": "natural_gas", "rated_power_mw": 300, "technology": "coal_to_gas"}, "IV", "coal_to_gas"),
        ({"main_fuel": "other", "rated_power_mw": 30}, None, "special_fuels"),
        ({"main_fuel": "waste_gas", "rated_power_mw": 60}, None, "waste_gas"),
        ({**COAL_600, "technology": "heat_only"}, None, None),  # not a generating unit in any plan
        ({"main_fuel": "natural_gas", "rated_power_mw": 400, "other_fuel_share": "0.15"}, None, None),
    ],
)
def test_2025_rules(facts, category, exemption):
    for year in (2025, 2026):
        result = unit_category(**facts, plan_year=year)
        assert (result.category, result.exemption) == (category, exemption), result.reason
        assert result.is_covered == (category is not None or exemption is not None)
    if exemption:
        assert "allocation = verified emissions (plan 2025)" in unit_category(**facts, plan_year=2025).reason
        assert exemption in POWER_EXEMPTIONS  # the allocation formula knows every code the rules produce


@pytest.mark.parametrize(
    ("facts", "category"),
    [
        ({**COAL_600, "biomass_share": "0.25"}, None),
        ({**COAL_600, "biomass_share": "0.15"}, None),  # the 2023-24 rule: more than 10% excludes
        ({**COAL_600, "biomass_share": "0.08", "secondary_energy_share": "0.5", "green_hydrogen_share": "0.5"}, "I"),
        ({"main_fuel": "coal", "rated_power_mw": 330, "is_emergency_backup": True}, "II"),
        ({"main_fuel": "oil", "rated_power_mw": 50}, None),
        ({**COAL_600, "technology": "igcc"}, None),
        ({"main_fuel": "waste_gas", "rated_power_mw": 60}, None),
    ],
)
def test_2019_to_2024_keep_the_2023_24_rules(facts, category):
    for year in (None, 2019, 2021, 2023, 2024):
        result = unit_category(**facts, plan_year=year)
        assert (result.category, result.exemption) == (category, None)


def test_rules_year_reads_an_earlier_data_year_under_a_later_plan():
    facts = {**COAL_600, "biomass_share": "0.25", "commissioning_year": 2024}
    assert unit_category(**facts, plan_year=2024, rules_year=2025).category is None  # commissioned that year
    older = unit_category(**{**facts, "commissioning_year": 2010}, plan_year=2024, rules_year=2025)
    assert older.exemption == "biomass_cofiring"


def test_unit_api_takes_and_shows_the_2025_facts(api, hubei, entity):
    payload = _unit_payload(entity, rated_power_mw="660", main_fuel="coal", biomass_share="0.15",
                            secondary_energy_share="0.08", green_hydrogen_share="0", is_emergency_backup=False)
    response = api(hubei).post("/api/v1/units/", payload, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["secondary_energy_share"], body["is_emergency_backup"]) == ("0.080", False)
    assert body["category"] is None  # 2023-24 rules: biomass 15% excludes
    assert body["category_2025"]["category"] == "I"
    assert body["category_2025"]["exemption"] == "biomass_and_secondary"

    unit = Unit.objects.get(code="HB-NEW-01")
    response = api(hubei).patch(f"/api/v1/units/{unit.pk}/", {"is_emergency_backup": True}, format="json")
    assert response.status_code == 200, response.json()
    unit.refresh_from_db()
    assert unit.is_emergency_backup is True
    assert response.json()["category_2025"]["exemption"] == "emergency_backup"


@pytest.mark.parametrize("field", ["secondary_energy_share", "green_hydrogen_share"])
@pytest.mark.parametrize("value", ["1.2", "-0.1"])
def test_fractions_outside_0_1_are_refused_naming_the_field(api, hubei, entity, field, value):
    response = api(hubei).post("/api/v1/units/", _unit_payload(entity, **{field: value}), format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["error"]["field"] == field
    assert entity.units.count() == 2

    unit = entity.units.get(code="HB-WH-01")
    response = api(hubei).patch(f"/api/v1/units/{unit.pk}/", {field: value}, format="json")
    assert response.status_code == 400 and response.json()["error"]["field"] == field
    unit.refresh_from_db()
    assert getattr(unit, field) == 0


def test_model_validation_refuses_a_share_above_one(entity):
    from django.core.exceptions import ValidationError

    unit = entity.units.get(code="HB-WH-01")
    unit.green_hydrogen_share = "1.5"
    with pytest.raises(ValidationError) as exc:
        unit.full_clean()
    assert "green_hydrogen_share" in exc.value.message_dict


def test_another_province_cannot_change_the_2025_facts(api, hubei, other_entity, entity_user, entity):
    theirs = other_entity.units.get()
    response = api(hubei).patch(f"/api/v1/units/{theirs.pk}/", {"is_emergency_backup": True,
                                                                "green_hydrogen_share": "0.5"}, format="json")
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert (theirs.is_emergency_backup, theirs.green_hydrogen_share) == (False, 0)
    mine = entity.units.get(code="HB-WH-01")
    response = api(entity_user).patch(f"/api/v1/units/{mine.pk}/", {"is_emergency_backup": True}, format="json")
    assert response.status_code == 403
    mine.refresh_from_db()
    assert mine.is_emergency_backup is False


def test_admin_registers_an_emergency_backup_unit(client, admin_login, hubei, entity):
    from tests.entities.test_facilities import admin_form

    admin_login(client, hubei)
    form = admin_form(entity, sector="power", code="HB-BAK-01", attributes="{}", rated_power_mw="330",
                      main_fuel="coal", is_emergency_backup="on", green_hydrogen_share="1.5")
    response = client.post("/admin/entities/unit/add/", form)
    assert response.status_code == 200 and not Unit.objects.filter(code="HB-BAK-01").exists()
    assert "green_hydrogen_share" in response.context["adminform"].form.errors
    form.pop("green_hydrogen_share")
    response = client.post("/admin/entities/unit/add/", form)
    assert response.status_code == 302
    unit = Unit.objects.get(code="HB-BAK-01")
    assert (unit.is_emergency_backup, unit.green_hydrogen_share, unit.secondary_energy_share) == (True, 0, 0)
    assert unit.category_for(2025).exemption == "emergency_backup"
    assert unit.category_for(2024).category == "II"
    listing = client.get("/admin/entities/unit/").content.decode()
    assert "emergency_backup: emergency-backup unit: allocation = verified emissions (plan 2025)" in listing
