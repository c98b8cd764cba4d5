"""Issue 5 point 4: a body that helped any entity of a province prepare its report may not verify there that year."""

import pytest

from cets.common.errors import Conflict, DomainError, Forbidden
from entities.models import AgencyAssignment, ConsultingEngagement
from entities.services import agency_assign, consulting_register
from tests import factories as f

pytestmark = pytest.mark.django_db


def test_agency_that_consulted_in_the_province_is_refused(entity, entity_user, hubei, agency):
    neighbour = f.EntityFactory(name="宜昌测试电厂", province=entity.province)
    consulting_register(actor=hubei, entity=neighbour, organisation=agency, year=2024)
    with pytest.raises(DomainError) as exc:
        agency_assign(actor=hubei, entity=entity, agency=agency, year=2024)
    assert (exc.value.code, exc.value.field) == ("consulted_in_province", "agency")
    assert "宜昌测试电厂" in exc.value.message and "2024" in exc.value.message
    assert AgencyAssignment.objects.count() == 0
    # Another year, or another agency, is fine.
    assert agency_assign(actor=hubei, entity=entity, agency=agency, year=2025).agency == agency
    other = f.OrganisationFactory()
    assert agency_assign(actor=hubei, entity=entity, agency=other, year=2024).agency == other


def test_consulting_in_another_province_does_not_block(entity, other_entity, other_entity_user, hubei, agency):
    consulting_register(actor=other_entity_user, entity=other_entity, organisation=agency, year=2024)
    assert agency_assign(actor=hubei, entity=entity, agency=agency, year=2024).year == 2024


def test_assignment_api_names_the_field(api, entity, entity_user, hubei, agency):
    consulting_register(actor=entity_user, entity=entity, organisation=agency, year=2024)
    response = api(hubei).post("/api/v1/agency-assignments/", {"entity": entity.pk, "agency": agency.pk,
                                                               "year": 2024}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "agency"
    assert response.json()["error"]["code"] == "consulted_in_province"
    assert AgencyAssignment.objects.count() == 0


def test_who_may_register_and_bad_input(entity, entity_user, other_entity_user, guangdong, verifier, agency):
    for outsider in (other_entity_user, guangdong, verifier):
        with pytest.raises(Forbidden):
            consulting_register(actor=outsider, entity=entity, organisation=agency, year=2024)
    with pytest.raises(DomainError) as exc:
        consulting_register(actor=entity_user, entity=entity, organisation=agency, year=1999)
    assert exc.value.field == "year"
    consulting_register(actor=entity_user, entity=entity, organisation=agency, year=2024)
    with pytest.raises(Conflict) as exc:
        consulting_register(actor=entity_user, entity=entity, organisation=agency, year=2024)
    assert exc.value.field == "organisation"
    assert ConsultingEngagement.objects.count() == 1


def test_entity_registers_through_the_api(api, entity, entity_user, other_entity, other_entity_user, agency):
    url = "/api/v1/mrv/consulting-engagements/"
    response = api(entity_user).post(url, {"organisation": agency.pk, "year": 2024}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["entity"] == entity.pk and response.json()["organisation"] == agency.pk
    listed = api(entity_user).get(url).json()
    assert [r["year"] for r in listed["results"]] == [2024]
    assert api(other_entity_user).get(url).json()["count"] == 0
    bad = api(entity_user).post(url, {"organisation": 999999, "year": 2024}, format="json")
    assert bad.status_code == 404 and bad.json()["error"]["field"] == "organisation"
    refused = api(other_entity_user).post(url, {"entity": entity.pk, "organisation": agency.pk, "year": 2025},
                                          format="json")
    assert refused.status_code in (403, 404)
    assert ConsultingEngagement.objects.count() == 1
