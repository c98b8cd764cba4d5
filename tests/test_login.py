"""Portal log-in: each role lands on its home page; password guessing is locked out."""

import pytest

from tests.conftest import otp_login

pytestmark = pytest.mark.django_db

PASSWORD = "pass-word-123"


def _login(client, username, password, address="10.0.0.1"):
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=address,
                       HTTP_ACCEPT_LANGUAGE="en")


def test_entity_user_logs_in_and_sees_its_home(client, entity_user, entity):
    response = _login(client, entity_user.username, PASSWORD)
    assert response.status_code == 302 and response["Location"] == "/home/"
    home = client.get("/home/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert entity.name in home and entity.credit_code in home and "Profile and units" in home


def test_regulator_home_counts_its_jurisdiction(client, hubei, entity, other_entity):
    otp_login(client, hubei)
    home = client.get("/home/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "1 key emitting entity in your jurisdiction" in home and "湖北省" in home


def test_wrong_password_shows_the_reason(client, entity_user):
    response = _login(client, entity_user.username, "wrong-password")
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert client.get("/home/").status_code == 302


def test_repeated_failures_lock_the_username_out(client, entity_user, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    for _ in range(3):
        _login(client, entity_user.username, "wrong-password")
    locked = _login(client, entity_user.username, PASSWORD)
    assert locked.status_code == 200
    assert "Too many failed log-in attempts. Please wait 15 minutes" in locked.content.decode()
    assert client.get("/home/").status_code == 302
    # The same user from another address is not locked out.
    assert _login(client, entity_user.username, PASSWORD, address="10.0.0.2").status_code == 302


def test_success_resets_the_failure_count(client, entity_user, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    for _ in range(2):
        _login(client, entity_user.username, "wrong-password")
    assert _login(client, entity_user.username, PASSWORD).status_code == 302
    client.logout()
    for _ in range(2):
        _login(client, entity_user.username, "wrong-password")
    assert _login(client, entity_user.username, PASSWORD).status_code == 302


def test_admin_login_is_locked_out_too(client, hubei, settings):
    settings.LOGIN_FAILURE_LIMIT = 2
    for _ in range(2):
        client.post("/admin/login/", {"username": "hubei", "password": "wrong", "otp_token": "123456"})
    response = client.post("/admin/login/", {"username": "hubei", "password": PASSWORD, "otp_token": "123456"},
                           HTTP_ACCEPT_LANGUAGE="en")
    assert "Too many failed log-in attempts" in response.content.decode()


def test_logout_needs_post_and_ends_the_session(client, entity_user):
    client.force_login(entity_user)
    assert client.post("/logout/").status_code == 302
    assert client.get("/home/").status_code == 302
