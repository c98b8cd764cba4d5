"""Two factors for users with approval powers at every door: portal log-in, API tokens, API sessions.

Entity users keep logging in with a password only. Step-up at the sign-offs: tests/registry/test_step_up.py.
"""

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from cets.common.errors import Forbidden
from cets.common.models import AuditEntry
from entities import two_factor
from entities.models import ApiTokenIssue, User
from tests import factories as f
from tests.conftest import otp_login

pytestmark = pytest.mark.django_db

PASSWORD = "pass-word-123"
TOKEN_URL = "/api/v1/auth/token/"


def code_of(user, steps_ahead=0) -> str:
    device = TOTPDevice.objects.get(user=user, confirmed=True)
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift + steps_ahead):06d}"


def _login(client, username, **extra):
    return client.post("/login/", {"username": username, "password": PASSWORD, **extra}, REMOTE_ADDR="10.0.0.9")


def test_regulator_without_the_code_gets_no_session(client, hubei, entity):
    response = _login(client, "hubei")
    assert response.status_code == 200
    assert "enter the code your authenticator shows as well" in response.content.decode()
    assert client.get("/home/")["Location"].startswith("/login/")
    assert client.get("/api/v1/me/").status_code == 401  # anonymous: nothing to act with
    wrong = _login(client, "hubei", otp_token="000000" if code_of(hubei) != "000000" else "111111")
    assert wrong.status_code == 200 and "_auth_user_id" not in client.session
    assert "This authenticator code is wrong or has expired" in wrong.content.decode()


def test_regulator_with_the_code_can_act(client, hubei, entity):
    response = _login(client, "hubei", otp_token=code_of(hubei))
    assert response.status_code == 302 and response["Location"] == "/home/"
    home = client.get("/home/").content.decode()
    assert "1 key emitting entity in your jurisdiction" in home
    me = client.get("/api/v1/me/")
    assert me.status_code == 200 and me.json()["username"] == "hubei"


def test_entity_user_logs_in_with_a_password_only(client, entity_user):
    assert _login(client, "carbon-manager").status_code == 302
    assert client.get("/api/v1/me/").json()["username"] == "carbon-manager"


def test_exchange_staff_need_the_code_too(client):
    staff = f.UserFactory(role=User.Role.EXCHANGE_STAFF, username="exchange")
    TOTPDevice.objects.create(user=staff, name="authenticator", confirmed=True)
    assert _login(client, "exchange").status_code == 200
    assert _login(client, "exchange", otp_token=code_of(staff)).status_code == 302


def test_session_api_call_without_verification_is_refused(client, hubei):
    client.force_login(hubei)  # a password-only session (the portal no longer makes one; an old one, say)
    response = client.get("/api/v1/me/")
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "otp_required" and "/login/" in error["message"]
    assert client.get("/entities/")["Location"] == "/account/two-factor/"
    otp_login(client, hubei)
    assert client.get("/api/v1/me/").status_code == 200


def test_token_issuance_needs_an_otp_verified_session(client, hubei):
    client.force_login(hubei)
    refused = client.post(TOKEN_URL)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "otp_required"
    assert not Token.objects.filter(user=hubei).exists()
    otp_login(client, hubei)
    issued = client.post(TOKEN_URL)
    assert issued.status_code == 201 and issued.json()["otp_verified"] is True
    key = issued.json()["token"]
    assert ApiTokenIssue.objects.get(token_id=key).otp_verified is True
    me = APIClient().get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {key}")
    assert me.status_code == 200 and me.json()["username"] == "hubei"
    # A token cannot mint another one.
    assert APIClient().post(TOKEN_URL, HTTP_AUTHORIZATION=f"Token {key}").status_code == 403


def test_a_token_not_issued_from_an_otp_session_is_refused_for_a_regulator(hubei, entity_user):
    old = Token.objects.create(user=hubei)  # made by a shell or before two factors were required
    response = APIClient(HTTP_ACCEPT_LANGUAGE="en").get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {old.key}")
    assert response.status_code == 403 and response.json()["error"]["code"] == "token_not_otp_issued"
    # An entity user's token works however it was issued.
    plain = Token.objects.create(user=entity_user)
    assert APIClient().get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {plain.key}").status_code == 200


def test_entity_user_gets_a_token_from_a_password_session(client, entity_user):
    client.force_login(entity_user)
    issued = client.post(TOKEN_URL)
    assert issued.status_code == 201 and issued.json()["otp_verified"] is False
    assert APIClient().get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {issued.json()['token']}").status_code == 200
    again = client.post(TOKEN_URL).json()["token"]
    assert list(Token.objects.filter(user=entity_user).values_list("key", flat=True)) == [again]  # old one ended


def test_regulator_without_an_authenticator_is_told_to_enrol(client, hubei):
    TOTPDevice.objects.filter(user=hubei).delete()
    assert _login(client, "hubei").status_code == 302  # the password opens the enrolment page only
    assert client.get("/registry/")["Location"] == "/account/two-factor/"
    error = client.get("/api/v1/me/").json()["error"]
    assert error["code"] == "otp_enrolment_required"
    assert client.post(TOKEN_URL).status_code == 403 and not Token.objects.exists()


def test_a_token_is_revoked_by_its_holder_or_an_administrator(client, entity_user, other_entity_user, national):
    client.force_login(entity_user)
    key = client.post(TOKEN_URL).json()["token"]
    holder = APIClient(HTTP_AUTHORIZATION=f"Token {key}")
    assert holder.get("/api/v1/me/").status_code == 200
    assert holder.delete(TOKEN_URL).status_code == 204
    assert holder.get("/api/v1/me/").status_code == 401
    assert not Token.objects.filter(user=entity_user).exists()

    other = Token.objects.create(user=other_entity_user)
    with pytest.raises(Forbidden):
        two_factor.api_token_revoke(actor=entity_user, user=other_entity_user)
    assert Token.objects.filter(pk=other.pk).exists()
    assert two_factor.api_token_revoke(actor=national, user=other_entity_user) is True
    assert not Token.objects.filter(user=other_entity_user).exists()
    assert AuditEntry.objects.filter(action="api_token.revoke").count() == 2
