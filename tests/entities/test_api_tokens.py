"""Named API tokens an integrator manages in the portal: hashed, scoped to one organisation, read or write,
expiring, revocable; and the API's getting-started page and JSON 404."""

import datetime as dt
import hashlib

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from cets.common.models import AuditEntry
from entities.models import ApiToken
from tests.conftest import otp_login

pytestmark = pytest.mark.django_db

PAGE = "/account/api-tokens/"


def create(client, user, **data):
    client.force_login(user)
    body = {"name": "ERP export", "access": "read", "expires_in_days": 90, **data}
    return client.post(PAGE, body, HTTP_ACCEPT_LANGUAGE="en", follow=True)


def secret_of(response) -> str:
    return response.context["secret"]


def with_token(key) -> APIClient:
    return APIClient(HTTP_ACCEPT_LANGUAGE="en", HTTP_AUTHORIZATION=f"Token {key}")


def test_creation_shows_the_secret_once_and_stores_only_its_hash(client, integrator, entity):
    response = create(client, integrator, name="  ERP export ", access="write", expires_in_days=30)
    key = secret_of(response)
    assert response.redirect_chain == [(PAGE, 302)]  # a reload shows the list, it creates nothing
    assert response.status_code == 200 and key.startswith("cets_") and len(key) == 45
    assert key in response.content.decode()
    assert key not in client.get(PAGE).content.decode()  # shown once
    token = ApiToken.objects.get()
    assert (token.name, token.access, token.entity_id, token.organisation_id) == ("ERP export", "write", entity.pk,
                                                                                   None)
    assert token.key_hash == hashlib.sha256(key.encode()).hexdigest() and token.prefix == key[:10]
    assert key not in str(ApiToken.objects.values().get())
    assert abs(token.expires_at - (timezone.now() + dt.timedelta(days=30))) < dt.timedelta(minutes=1)
    assert AuditEntry.objects.filter(action="api_token.create", actor=integrator).count() == 1
    listing = client.get(PAGE).content.decode()
    assert key not in listing and f"{key[:10]}…" in listing and "ERP export" in listing
    me = with_token(key).get("/api/v1/me/")
    assert me.status_code == 200 and me.json()["username"] == "integrator"
    assert ApiToken.objects.get().last_used_at is not None


def test_bad_input_names_the_field_and_creates_nothing(client, integrator):
    response = create(client, integrator, name=" ", expires_in_days=1000)
    assert response.status_code == 200 and response.context["secret"] is None
    assert set(response.context["form"].errors) == {"name", "expires_in_days"}
    assert not ApiToken.objects.exists()


def test_read_token_is_refused_on_writes_with_a_clear_403(client, integrator):
    key = secret_of(create(client, integrator, access="read"))
    assert with_token(key).get("/api/v1/me/").status_code == 200
    response = with_token(key).post("/api/v1/registry/transfers/", {"quantity": 1}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "token_read_only"
    assert "read-only" in response.json()["error"]["message"]
    writer = secret_of(create(client, integrator, name="writer", access="write"))
    refused = with_token(writer).post("/api/v1/registry/transfers/", {"quantity": 1}, format="json")
    assert refused.status_code == 400 and refused.json()["error"]["field"] == "from_account"  # past the door


def test_expired_and_revoked_tokens_are_refused(client, integrator):
    key = secret_of(create(client, integrator))
    ApiToken.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    expired = with_token(key).get("/api/v1/me/")
    assert expired.status_code == 401 and expired.json()["error"]["code"] == "token_expired"
    other = secret_of(create(client, integrator, name="second"))
    token = ApiToken.objects.get(name="second")
    confirm = client.get(f"{PAGE}{token.pk}/revoke/")
    assert confirm.status_code == 200 and "second" in confirm.content.decode()
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None  # asking is not doing
    done = client.post(f"{PAGE}{token.pk}/revoke/", follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert "is revoked" in done.content.decode()
    revoked = with_token(other).get("/api/v1/me/")
    assert revoked.status_code == 401 and revoked.json()["error"]["code"] == "token_revoked"
    assert AuditEntry.objects.filter(action="api_token.revoke", actor=integrator).count() == 1


def test_token_stops_when_its_holder_acts_for_another_organisation(client, integrator, other_entity):
    key = secret_of(create(client, integrator))
    integrator.entity = other_entity
    integrator.save()
    response = with_token(key).get("/api/v1/me/")
    assert response.status_code == 401 and response.json()["error"]["code"] == "token_scope_changed"


def test_another_organisations_token_can_be_neither_seen_nor_revoked(client, integrator, other_entity_user):
    create(client, integrator, name="ours")
    ours = ApiToken.objects.get()
    client.force_login(other_entity_user)
    assert "ours" not in client.get(PAGE).content.decode()
    assert client.get(f"{PAGE}{ours.pk}/revoke/").status_code == 404
    assert client.post(f"{PAGE}{ours.pk}/revoke/").status_code == 404
    assert ApiToken.objects.get().revoked_at is None


def test_users_without_an_organisation_get_no_token_page(client, hubei):
    otp_login(client, hubei)  # a regulator: its API token comes from /api/v1/auth/token/ with two factors
    assert client.get(PAGE).status_code == 404
    assert client.post(PAGE, {"name": "x", "access": "write", "expires_in_days": 30}).status_code == 404
    assert not ApiToken.objects.exists()


def test_a_named_token_presented_to_auth_token_delete_revokes_only_itself(client, integrator):
    key = secret_of(create(client, integrator, access="write"))
    keep = secret_of(create(client, integrator, name="keep", access="write"))
    assert with_token(key).delete("/api/v1/auth/token/").status_code == 204
    assert with_token(key).get("/api/v1/me/").status_code == 401
    assert with_token(keep).get("/api/v1/me/").status_code == 200


def test_api_docs_start_with_getting_started_and_unknown_api_paths_answer_json(client, settings):
    page = client.get("/api/docs/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    for part in ("Get a token", "Idempotency-Key", "Errors: one shape", "limit and offset (50 rows"):
        assert part in page
    assert client.get("/api/docs/reference/").status_code == 200
    settings.DEBUG = True  # the demo runs with DEBUG: still JSON, not Django's debug page
    for path, message in (("/api/v1/no-such-thing/", "Not found."), ("/api/v1/me", "end with a slash")):
        response = client.get(path, HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 404 and response["Content-Type"] == "application/json"
        assert response.json()["error"]["code"] == "not_found" and message in response.json()["error"]["message"]
