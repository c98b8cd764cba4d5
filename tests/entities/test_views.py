import pytest

from tests.conftest import otp_login

pytestmark = pytest.mark.django_db


def test_entity_user_sees_own_profile_page(client, entity_user, entity):
    client.force_login(entity_user)
    response = client.get("/entities/mine/", follow=True)
    assert response.status_code == 200
    assert entity.name in response.content.decode()
    assert "HB-WH-01" in response.content.decode()


def test_entity_user_refused_other_entity_page(client, entity_user, other_entity):
    client.force_login(entity_user)
    assert client.get(f"/entities/{other_entity.pk}/").status_code == 404
    assert client.get("/entities/").status_code == 404


def test_regulator_list_is_scoped_and_exports(client, hubei, entity, other_entity):
    otp_login(client, hubei)
    page = client.get("/entities/").content.decode()
    assert entity.name in page and other_entity.name not in page
    csv = client.get("/entities/?export=csv").content.decode("utf-8-sig")
    assert entity.credit_code in csv and other_entity.credit_code not in csv


def test_anonymous_redirected_to_login(client, entity):
    response = client.get(f"/entities/{entity.pk}/")
    assert response.status_code == 302 and "/login/" in response["Location"]
