"""Agency assignment through the API, the audit trail on the entity page, and Excel exports."""

import io

import pytest
from openpyxl import load_workbook

from cets.common.models import AuditEntry
from entities.models import AgencyAssignment, Organisation
from entities.services import agency_assign, entity_update
from tests import factories as f
from tests.conftest import otp_login

pytestmark = pytest.mark.django_db


def _assign(client, entity, agency, year=2024, **headers):
    return client.post("/api/v1/agency-assignments/", {"entity": entity.pk, "agency": agency.pk, "year": year},
                       format="json", **headers)


def test_provincial_regulator_assigns_agency(api, hubei, entity, agency):
    response = _assign(api(hubei), entity, agency)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["entity"], body["agency"], body["year"], body["assigned_by"]) == (entity.pk, agency.pk, 2024,
                                                                                   hubei.pk)
    entry = AuditEntry.objects.get(action="agency.assign")
    assert entry.actor == hubei and entry.after == {"entity": entity.pk, "agency": agency.pk, "year": 2024}
    listed = api(hubei).get("/api/v1/agency-assignments/").json()
    assert [a["id"] for a in listed["results"]] == [body["id"]]


def test_other_province_cannot_assign_or_see(api, guangdong, hubei, entity, agency):
    response = _assign(api(guangdong), entity, agency)
    assert response.status_code == 404
    assert AgencyAssignment.objects.count() == 0
    agency_assign(actor=hubei, entity=entity, agency=agency, year=2024)
    assert api(guangdong).get("/api/v1/agency-assignments/").json()["count"] == 0


@pytest.mark.parametrize("who", ["national", "wuhan", "entity_user", "verifier"])
def test_only_the_province_assigns(request, api, who, entity, agency):
    response = _assign(api(request.getfixturevalue(who)), entity, agency)
    assert response.status_code in (403, 404)
    assert AgencyAssignment.objects.count() == 0


def test_assignment_rules_name_the_field(api, hubei, entity, agency):
    owner = f.OrganisationFactory(kind=Organisation.Kind.PROJECT_OWNER)
    response = _assign(api(hubei), entity, owner)
    assert response.status_code == 400 and response.json()["error"]["field"] == "agency"
    assert _assign(api(hubei), entity, agency).status_code == 201
    again = _assign(api(hubei), entity, f.OrganisationFactory())
    assert again.status_code == 409 and again.json()["error"]["field"] == "year"
    bad_year = _assign(api(hubei), entity, agency, year=1999)
    assert bad_year.status_code == 400 and bad_year.json()["error"]["field"] == "year"
    assert AgencyAssignment.objects.count() == 1


def test_assignment_is_idempotent(api, hubei, entity, agency):
    first = _assign(api(hubei), entity, agency, HTTP_IDEMPOTENCY_KEY="assign-1")
    second = _assign(api(hubei), entity, agency, HTTP_IDEMPOTENCY_KEY="assign-1")
    assert first.status_code == second.status_code == 201
    assert second["Idempotent-Replayed"] == "true"
    assert AgencyAssignment.objects.count() == 1


def test_verifier_sees_its_assignments(api, hubei, verifier, entity, agency):
    agency_assign(actor=hubei, entity=entity, agency=agency, year=2024)
    assert [a["entity"] for a in api(verifier).get("/api/v1/agency-assignments/").json()["results"]] == [entity.pk]


def test_regulator_sees_audit_trail_on_entity_page(client, hubei, entity, agency, entity_user):
    entity_update(actor=hubei, entity=entity, name="武汉示范发电有限公司（更名）")
    agency_assign(actor=hubei, entity=entity, agency=agency, year=2024)
    otp_login(client, hubei)
    page = client.get(f"/entities/{entity.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-testid="audit"' in page
    assert "entity.update" in page and "agency.assign" in page and ">hubei<" in page
    client.force_login(entity_user)
    own = client.get(f"/entities/{entity.pk}/").content.decode()
    assert 'data-testid="audit"' not in own and "entity.update" not in own


def test_portal_excel_export(client, hubei, entity, other_entity):
    otp_login(client, hubei)
    response = client.get("/entities/?export=xlsx")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="entities.xlsx"'
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("credit_code", "name", "province", "city", "sector", "inclusion_year", "status")
    assert rows[1][:4] == (entity.credit_code, "武汉示范发电有限公司", "湖北省", "武汉市")
    assert rows[1][5] == 2019
    assert len(rows) == 2  # Guangdong's entity is not exported to Hubei


def test_portal_export_refused_to_entity_users(client, entity_user):
    client.force_login(entity_user)
    assert client.get("/entities/?export=xlsx").status_code == 404


def test_admin_excel_export_action(client, admin_login, hubei, entity, other_entity):
    admin_login(client, hubei)
    response = client.post("/admin/entities/unit/", {
        "action": "export_xlsx", "_selected_action": list(entity.units.values_list("pk", flat=True)),
    }, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200, response.content[:500]
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("unit code", "name", "entity")
    assert sorted((r[0], r[3]) for r in rows[1:]) == [("HB-WH-01", "660.00"), ("HB-WH-02", "330.00")]
    assert rows[1][7].startswith("I: conventional coal") or rows[1][7].startswith("II: conventional coal")


def test_admin_export_cannot_reach_another_province(client, admin_login, hubei, other_entity):
    admin_login(client, hubei)
    response = client.post("/admin/entities/unit/", {
        "action": "export_xlsx", "_selected_action": list(other_entity.units.values_list("pk", flat=True)),
    }, HTTP_ACCEPT_LANGUAGE="en")
    # The action runs over the scoped queryset: the Guangdong units are not in it.
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert len(rows) == 1 and rows[0][0] == "unit code"


def test_admin_shows_an_agencys_accreditations(client, admin_login, hubei, agency, entity_user):
    import datetime as dt

    from entities.models import Accreditation

    Accreditation.objects.create(organisation=agency, scope="发电行业核查", number="CNAS-V0042",
                                 valid_from=dt.date(2023, 1, 1), valid_to=dt.date(2027, 12, 31))
    admin_login(client, hubei)
    page = client.get(f"/admin/entities/organisation/{agency.pk}/change/").content.decode()
    assert "CNAS-V0042" in page and "发电行业核查" in page and "2027" in page
    client.force_login(entity_user)
    assert client.get(f"/admin/entities/organisation/{agency.pk}/change/").status_code == 302


def test_admin_entity_page_lists_units_with_category(client, admin_login, hubei, entity):
    admin_login(client, hubei)
    page = client.get(f"/admin/entities/keyentity/{entity.pk}/change/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "HB-WH-01" in page and "HB-WH-02" in page
    assert "I (conventional coal, rated power 660.00 MW &gt;= 400 MW)" in page
