"""/account/two-factor/: a regulator without an authenticator enrols one (QR code, confirm with a code)."""

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from cets.common.models import AuditEntry

pytestmark = pytest.mark.django_db

PASSWORD = "pass-word-123"
URL = "/account/two-factor/"


def _code(device, steps_ahead=0) -> str:
    """The device's code now (or ``steps_ahead`` time steps later; django-otp accepts one step of skew)."""
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift + steps_ahead):06d}"


@pytest.fixture
def newcomer(hubei):
    """The Hubei regulator before any authenticator was set up."""
    TOTPDevice.objects.filter(user=hubei).delete()
    return hubei


def test_regulator_gets_a_qr_code_and_the_otpauth_uri(client, newcomer):
    client.force_login(newcomer)
    response = client.get(URL, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    device = TOTPDevice.objects.get(user=newcomer)
    assert device.confirmed is False
    page = response.content.decode()
    assert '<svg width="' in page and 'class="qrline"' in page and "<script>" not in page  # no inline JS (CSP)
    assert "otpauth://totp/CETS%3Ahubei?secret=" in device.config_url
    assert device.config_url.replace("&", "&amp;") in page
    assert "no-store" in response["Cache-Control"]
    # A reload shows the same secret: a QR code already scanned stays valid.
    client.get(URL)
    assert TOTPDevice.objects.filter(user=newcomer).count() == 1
    assert AuditEntry.objects.filter(action="totp.enrol", actor=newcomer).count() == 1


def test_wrong_code_is_refused_and_the_device_stays_unconfirmed(client, newcomer):
    client.force_login(newcomer)
    client.get(URL)
    device = TOTPDevice.objects.get(user=newcomer)
    wrong = "000000" if _code(device) != "000000" else "111111"
    response = client.post(URL, {"token": wrong}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "This code is wrong or has expired" in response.content.decode()
    device.refresh_from_db()
    assert device.confirmed is False and device.throttling_failure_count == 1  # the failure was kept
    assert not AuditEntry.objects.filter(action="totp.confirm").exists()
    assert client.get("/admin/").status_code == 302


def test_malformed_code_names_the_rule(client, newcomer):
    client.force_login(newcomer)
    client.get(URL)
    response = client.post(URL, {"token": "12ab"}, HTTP_ACCEPT_LANGUAGE="en")
    assert "Enter the 6 digits your authenticator shows." in response.content.decode()
    assert TOTPDevice.objects.get(user=newcomer).confirmed is False


def test_right_code_confirms_and_opens_the_admin(client, newcomer):
    client.force_login(newcomer)
    client.get(URL)
    device = TOTPDevice.objects.get(user=newcomer)
    response = client.post(URL, {"token": _code(device)})
    assert response.status_code == 302 and response["Location"] == "/admin/"
    device.refresh_from_db()
    assert device.confirmed is True
    assert AuditEntry.objects.filter(action="totp.confirm", actor=newcomer, object_id=str(device.pk)).count() == 1
    assert client.get("/admin/").status_code == 200
    # Later sign-ins at /admin/ take the password and a later code of the same authenticator.
    client.logout()
    login = client.post("/admin/login/?next=/admin/", {"username": "hubei", "password": PASSWORD,
                                                       "otp_token": _code(device, steps_ahead=1)})
    assert login.status_code == 302 and login["Location"] == "/admin/"
    assert "Your authenticator is confirmed" in client.get(URL, HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_enrolled_regulator_cannot_add_a_second_authenticator(client, hubei):
    client.force_login(hubei)
    response = client.get(URL, HTTP_ACCEPT_LANGUAGE="en")
    assert "Your authenticator is confirmed" in response.content.decode()
    client.post(URL, {"token": "123456"})
    assert list(TOTPDevice.objects.filter(user=hubei).values_list("confirmed", flat=True)) == [True]


def test_entity_user_gets_404_and_anonymous_is_sent_to_log_in(client, entity_user):
    assert client.get(URL)["Location"].startswith("/login/")
    client.force_login(entity_user)
    assert client.get(URL).status_code == 404
    assert client.post(URL, {"token": "123456"}).status_code == 404
    assert not TOTPDevice.objects.filter(user=entity_user).exists()


def test_login_pages_link_to_enrolment(client):
    assert 'href="/account/two-factor/"' in client.get("/login/").content.decode()
    assert 'href="/account/two-factor/"' in client.get("/admin/login/").content.decode()
