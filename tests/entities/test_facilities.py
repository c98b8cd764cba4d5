"""Facilities of every sector (issue 15, point 1): created and changed through ``unit_create`` / ``unit_update``
from the API and the admin, each sector's attributes checked (``entities.facilities``), a 400 naming the field;
the entity's portal page lists its facilities by sector; other organisations and provinces are refused."""

import pytest

from cets.common.models import AuditEntry
from entities.models import Unit
from tests import factories as f

pytestmark = pytest.mark.django_db


def line(entity, **over):
    return {"entity": entity.pk, "sector": "cement", "code": "HB-CEM-01", "name": "熟料线1",
            "attributes": {"clinker_type": "portland", "design_capacity_tpd": 5000},
            "commissioning_date": "2011-03-01", **over}


def works(entity, **over):
    return {"entity": entity.pk, "sector": "steel", "code": "HB-STL-01", "name": "长流程",
            "attributes": {"processes": ["coking", "sintering", "ironmaking", "bof", "rolling"],
                           "hydrogen_furnace": False},
            "commissioning_date": "2005-01-01", **over}


def test_api_creates_a_cement_line_and_a_steel_enterprise(api, hubei, entity):
    response = api(hubei).post("/api/v1/units/", line(entity), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["sector"], body["attributes"], body["rated_power_mw"], body["main_fuel"], body["category"]) == (
        "cement", {"clinker_type": "portland", "design_capacity_tpd": 5000}, None, "", None)
    response = api(hubei).post("/api/v1/units/", works(entity), format="json")
    assert response.status_code == 201, response.content
    assert Unit.objects.get(code="HB-STL-01").attributes["processes"] == ["coking", "sintering", "ironmaking", "bof",
                                                                            "rolling"]
    assert AuditEntry.objects.filter(action="unit.create").count() == 2
    listed = api(hubei).get("/api/v1/units/?sector=cement").json()["results"]
    assert [u["code"] for u in listed] == ["HB-CEM-01"]


@pytest.mark.parametrize(("payload", "field"), [
    ({"attributes": {"clinker_type": "grey"}}, "attributes.clinker_type"),
    ({"attributes": {"clinker_type": "portland", "design_capacity_tpd": -5}}, "attributes.design_capacity_tpd"),
    ({"attributes": {"clinker_type": "portland", "kiln_colour": "red"}}, "attributes.kiln_colour"),
    ({"attributes": {}}, "attributes.clinker_type"),
    ({"rated_power_mw": "300"}, "rated_power_mw"),
    ({"sector": "glass"}, "sector"),
])
def test_api_refuses_bad_cement_input_naming_the_field(api, hubei, entity, payload, field):
    response = api(hubei).post("/api/v1/units/", line(entity, **payload), format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["field"] == field
    assert not Unit.objects.filter(code="HB-CEM-01").exists()


def test_api_refuses_an_unknown_steel_process(api, hubei, entity):
    response = api(hubei).post("/api/v1/units/", works(entity, attributes={"processes": ["smelting"]}),
                               format="json")
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "attributes.processes"
    assert "smelting" in response.json()["error"]["message"]


def test_api_updates_a_facility_and_refuses_bad_changes(api, hubei, national, entity):
    pk = api(hubei).post("/api/v1/units/", line(entity), format="json").json()["id"]
    response = api(hubei).patch(f"/api/v1/units/{pk}/", {"attributes": {"clinker_type": "white_portland"}},
                                format="json")
    assert response.status_code == 200, response.content
    assert Unit.objects.get(pk=pk).attributes == {"clinker_type": "white_portland"}
    bad = api(hubei).patch(f"/api/v1/units/{pk}/", {"attributes": {"clinker_type": "blue"}}, format="json")
    assert (bad.status_code, bad.json()["error"]["field"]) == (400, "attributes.clinker_type")
    moved = api(national).patch(f"/api/v1/units/{pk}/", {"entity": f.EntityFactory().pk}, format="json")
    assert (moved.status_code, moved.json()["error"]["field"]) == (400, "entity")
    assert Unit.objects.get(pk=pk).attributes == {"clinker_type": "white_portland"}


def test_api_refuses_other_provinces_and_organisations(api, guangdong, entity_user, other_entity_user, hubei,
                                                        entity):
    assert api(guangdong).post("/api/v1/units/", line(entity), format="json").status_code == 404
    assert api(entity_user).post("/api/v1/units/", line(entity), format="json").status_code == 403
    pk = api(hubei).post("/api/v1/units/", line(entity), format="json").json()["id"]
    for user, status in ((guangdong, 404), (other_entity_user, 404), (entity_user, 403)):
        response = api(user).patch(f"/api/v1/units/{pk}/", {"name": "renamed"}, format="json")
        assert response.status_code == status
    assert Unit.objects.get(pk=pk).name == "熟料线1"
    assert api(other_entity_user).get(f"/api/v1/units/{pk}/").status_code == 404


# ---- admin ------------------------------------------------------------------------------------------------

def admin_form(entity, **over):
    return {"entity": entity.pk, "sector": "cement", "code": "HB-CEM-09", "name": "熟料线9",
            "attributes": '{"clinker_type": "portland"}', "cooling": "water", "technology": "conventional",
            "biomass_share": "0", "other_fuel_share": "0", "commissioning_date": "2015-06-01",
            "status": "operating", **over}


def test_admin_registers_a_clinker_line_through_the_service(client, admin_login, hubei, entity):
    admin_login(client, hubei)
    response = client.post("/admin/entities/unit/add/", admin_form(entity))
    assert response.status_code == 302, response.content.decode()[:2000]
    unit = Unit.objects.get(code="HB-CEM-09")
    assert (unit.sector_id, unit.attributes, unit.entity_id) == ("cement", {"clinker_type": "portland"}, entity.pk)
    assert AuditEntry.objects.filter(action="unit.create", object_id=str(unit.pk)).exists()
    page = client.get("/admin/entities/unit/?sector__code__exact=cement").content.decode()
    assert "HB-CEM-09" in page and "clinker_type: portland" in page


def test_admin_shows_an_attribute_problem_on_the_form(client, admin_login, hubei, entity):
    admin_login(client, hubei)
    response = client.post("/admin/entities/unit/add/", admin_form(entity, attributes='{"clinker_type": "grey"}'))
    assert response.status_code == 200
    assert "attributes.clinker_type" in response.content.decode()
    assert not Unit.objects.filter(code="HB-CEM-09").exists()


def test_admin_refuses_another_provinces_facility(client, admin_login, guangdong, hubei, entity):
    admin_login(client, hubei)
    client.post("/admin/entities/unit/add/", admin_form(entity))
    unit = Unit.objects.get(code="HB-CEM-09")
    admin_login(client, guangdong)
    assert client.get(f"/admin/entities/unit/{unit.pk}/change/").status_code in (302, 404)
    client.post(f"/admin/entities/unit/{unit.pk}/change/", admin_form(entity, name="taken"))
    client.post("/admin/entities/unit/add/", admin_form(entity, code="HB-CEM-10"))
    assert Unit.objects.get(pk=unit.pk).name == "熟料线9" and not Unit.objects.filter(code="HB-CEM-10").exists()


# ---- portal ---------------------------------------------------------------------------------------------------

def test_portal_lists_the_entitys_facilities_by_sector(client, entity_user, entity, other_entity_user):
    Unit.objects.create(entity=entity, sector_id="steel", code="HB-STL-01", name="长流程", rated_power_mw=None,
                        attributes={"processes": ["ironmaking", "bof"]}, commissioning_date="2005-01-01")
    client.force_login(entity_user)
    page = client.get(f"/entities/{entity.pk}/").content.decode()
    assert 'data-testid="units-power"' in page and 'data-testid="units-steel"' in page
    assert "HB-WH-01" in page and "processes: ironmaking, bof" in page
    client.force_login(other_entity_user)
    assert client.get(f"/entities/{entity.pk}/").status_code == 404
