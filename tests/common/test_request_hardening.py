"""Malformed requests answer 4xx in the API's one error shape, never 500: NUL characters (which
PostgreSQL cannot store) in a JSON body or a query string, and unknown paths under /api/."""

import pytest

from mrv.models import QualityControlPlan

from ..mrv.test_api_oversight import PLAN

pytestmark = pytest.mark.django_db


def test_a_nul_character_in_a_json_field_is_refused_naming_the_field(api, entity_user, entity):
    bad = {**PLAN, "parameters": [{**PLAN["parameters"][0], "source": "belt scale\x00; DROP"}]}
    response = api(entity_user).post("/api/v1/mrv/qc-plans/", bad, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "null_characters_not_allowed"
    assert response.json()["error"]["field"] == "parameters[0].source"
    assert response.json()["error"]["message"] == "Null characters are not allowed."
    assert not QualityControlPlan.objects.exists()
    # The same plan without the NUL is accepted: the refusal is about the character, not the plan.
    assert api(entity_user).post("/api/v1/mrv/qc-plans/", PLAN, format="json").status_code == 201
    assert QualityControlPlan.objects.get().parameters[0]["source"] == "belt scale + inventory"


def test_a_nul_character_in_a_json_key_or_top_level_field_is_refused(api, entity_user, entity):
    response = api(entity_user).post("/api/v1/mrv/qc-plans/", {**PLAN, "change_reason": "a\x00"}, format="json")
    assert response.status_code == 400 and response.json()["error"]["field"] == "change_reason"
    response = api(entity_user).post("/api/v1/mrv/qc-plans/", {**PLAN, "x\x00y": 1}, format="json")
    assert response.status_code == 400 and response.json()["error"]["field"] == "x\\0y"
    assert not QualityControlPlan.objects.exists()


def test_a_nul_character_in_a_query_parameter_is_refused(api, client, national, entity_user, entity):
    response = api(national).get("/api/v1/entities/", {"search": "武汉\x00"})
    assert response.status_code == 400
    assert response.json()["error"] == {"code": "null_characters_not_allowed",
                                        "message": "Null characters are not allowed.", "field": "search"}
    client.force_login(entity_user)
    response = client.get("/entities/", {"q": "\x00"})
    assert response.status_code == 400 and b"q: Null characters are not allowed." in response.content
    assert api(national).get("/api/v1/entities/", {"search": "武汉"}).json()["count"] == 1


@pytest.mark.parametrize("path", ["/api/v1/nope/", "/api/v1/trading/orders/abc/", "/api/v1/jobs/abc/", "/api/nope"])
def test_an_unknown_api_path_answers_json_404(api, national, path):
    for client in (api(), api(national)):
        response = client.get(path)
        assert response.status_code == 404
        assert response["Content-Type"] == "application/json"
        assert response.json() == {"error": {"code": "not_found", "message": "Not found.", "field": None}}


def test_an_unknown_portal_path_keeps_the_html_page(client):
    response = client.get("/nope/")
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")
