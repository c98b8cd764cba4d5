import datetime as dt

import pytest

from cets.common.models import AuditEntry
from entities.models import KeyEntity, Unit
from tests import factories as f

pytestmark = pytest.mark.django_db


def _entity_payload(**over):
    payload = {
        "name": "湖北新能发电有限公司", "credit_code": f.credit_code("420100"), "province": "42",
        "city": "420100", "inclusion_year": 2021,
    }
    payload.update(over)
    return payload


def _unit_payload(entity, **over):
    payload = {"entity": entity.pk, "code": "HB-NEW-01", "name": "#1", "rated_power_mw": "350",
               "main_fuel": "coal", "cooling": "air", "commissioning_date": "2012-05-01"}
    payload.update(over)
    return payload


def test_provincial_regulator_sees_only_own_province(api, hubei, entity, other_entity):
    body = api(hubei).get("/api/v1/entities/").json()
    assert [e["credit_code"] for e in body["results"]] == [entity.credit_code]
    assert api(hubei).get(f"/api/v1/entities/{other_entity.pk}/").status_code == 404


def test_national_regulator_sees_all(api, national, entity, other_entity):
    assert api(national).get("/api/v1/entities/").json()["count"] == 2


def test_municipal_regulator_sees_only_own_city(api, wuhan, entity):
    elsewhere = f.EntityFactory(province=f.province("42"), city=f.City.objects.create(
        code="420500", province_id="42", name="宜昌市"))
    ids = [e["id"] for e in api(wuhan).get("/api/v1/entities/").json()["results"]]
    assert ids == [entity.pk]
    assert elsewhere.pk not in ids


def test_entity_user_sees_own_entity_and_units_only(api, entity_user, entity, other_entity):
    assert [e["id"] for e in api(entity_user).get("/api/v1/entities/").json()["results"]] == [entity.pk]
    units = api(entity_user).get("/api/v1/units/").json()["results"]
    assert sorted(u["code"] for u in units) == ["HB-WH-01", "HB-WH-02"]
    assert {u["category"] for u in units} == {"I", "II"}


def test_integrator_acts_for_its_entity(api, integrator, entity, other_entity):
    assert [e["id"] for e in api(integrator).get("/api/v1/entities/").json()["results"]] == [entity.pk]


def test_anonymous_is_refused(api, entity):
    assert api().get("/api/v1/entities/").status_code in (401, 403)


def test_verifier_sees_assigned_entities_only(api, verifier, agency, hubei, entity, other_entity):
    assert api(verifier).get("/api/v1/entities/").json()["count"] == 0
    from entities.services import agency_assign

    agency_assign(actor=hubei, entity=entity, agency=agency, year=2023)
    assert [e["id"] for e in api(verifier).get("/api/v1/entities/").json()["results"]] == [entity.pk]


def test_regulator_registers_entity_with_audit(api, hubei):
    response = api(hubei).post("/api/v1/entities/", _entity_payload(), format="json")
    assert response.status_code == 201, response.json()
    entity = KeyEntity.objects.get(pk=response.json()["id"])
    assert entity.province_id == "42"
    entry = AuditEntry.objects.get(action="entity.create", object_id=str(entity.pk))
    assert entry.actor == hubei
    assert entry.after["credit_code"] == entity.credit_code


@pytest.mark.parametrize(
    ("override", "field", "text"),
    [
        ({"credit_code": "91420100000000001X"}, "credit_code", "GB 32100"),
        ({"province": "99"}, "province", "does not exist"),
        ({"city": "440100"}, "city", "not in the entity's province"),
        ({"inclusion_year": 1999}, "inclusion_year", "greater than or equal to 2013"),
    ],
)
def test_bad_entity_input_names_field_and_changes_nothing(api, hubei, override, field, text):
    response = api(hubei).post("/api/v1/entities/", _entity_payload(**override), format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["field"] == field
    assert text in error["message"]
    assert KeyEntity.objects.count() == 0
    assert AuditEntry.objects.count() == 0


def test_other_province_cannot_register_entity_there(api, guangdong):
    response = api(guangdong).post("/api/v1/entities/", _entity_payload(), format="json")
    assert response.status_code == 403
    assert KeyEntity.objects.count() == 0


def test_entity_user_cannot_register_units(api, entity_user, entity):
    response = api(entity_user).post("/api/v1/units/", _unit_payload(entity), format="json")
    assert response.status_code == 403
    assert entity.units.count() == 2


def test_unit_registration_and_category(api, hubei, entity):
    response = api(hubei).post("/api/v1/units/", _unit_payload(entity), format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["category"] == "II"
    assert "< 400 MW" in response.json()["category_reason"]


@pytest.mark.parametrize(
    ("override", "status", "field"),
    [
        ({"rated_power_mw": "-10"}, 400, "rated_power_mw"),
        ({"code": "HB-WH-01"}, 409, "code"),
        ({"main_fuel": "plutonium"}, 400, "main_fuel"),
        ({"biomass_share": "1.5"}, 400, "biomass_share"),
    ],
)
def test_bad_unit_input(api, hubei, entity, override, status, field):
    response = api(hubei).post("/api/v1/units/", _unit_payload(entity, **override), format="json")
    assert response.status_code == status, response.json()
    assert response.json()["error"]["field"] == field
    assert Unit.objects.filter(entity=entity).count() == 2


def test_unit_for_other_provinces_entity_is_not_found(api, hubei, other_entity):
    response = api(hubei).post("/api/v1/units/", _unit_payload(other_entity), format="json")
    assert response.status_code == 404
    assert other_entity.units.count() == 1


def test_me_reports_role_and_ties(api, entity_user, entity):
    body = api(entity_user).get("/api/v1/me/").json()
    assert body["role"] == "entity" and body["entity"] == entity.pk


def test_public_reference_data(api):
    provinces = api().get("/api/v1/provinces/").json()
    assert len(provinces) == 31
    assert {"code": "42", "name": "湖北省", "name_en": "Hubei"} in provinces


def test_schema_and_docs_are_served(client):
    assert b"/api/v1/entities/" in client.get("/api/schema/").content
    assert client.get("/api/docs/").status_code == 200


def test_unit_commissioned_in_plan_year_is_not_covered(entity):
    unit = entity.units.first()
    unit.commissioning_date = dt.date(2023, 3, 1)
    assert unit.category_for(2023).category is None
