"""/account/two-factor/: a regulator enrols an authenticator (QR code, confirm with a code), only with an
administrator's one-time enrolment code or from a session their current authenticator verified."""

import datetime as dt

import pytest
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from cets.common.models import AuditEntry
from entities.models import EnrolmentCode
from entities.two_factor import enrolment_code_issue
from tests.conftest import otp_login

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


@pytest.fixture
def admitted(client, newcomer, national):
    """The newcomer logged in (password only) who entered the enrolment code the national regulator issued."""
    code = enrolment_code_issue(actor=national, user=newcomer)
    client.force_login(newcomer)
    assert client.post(URL, {"enrolment_code": code.lower().replace("-", " ")}).status_code == 302
    newcomer.enrolment_code = code  # the letter, for tests that present it again
    return newcomer


def test_regulator_gets_a_qr_code_and_the_otpauth_uri(client, admitted):
    newcomer = admitted
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


def test_wrong_code_is_refused_and_the_device_stays_unconfirmed(client, admitted):
    newcomer = admitted
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


def test_malformed_code_names_the_rule(client, admitted):
    newcomer = admitted
    client.get(URL)
    response = client.post(URL, {"token": "12ab"}, HTTP_ACCEPT_LANGUAGE="en")
    assert "Enter the 6 digits your authenticator shows." in response.content.decode()
    assert TOTPDevice.objects.get(user=newcomer).confirmed is False


def test_right_code_confirms_and_opens_the_admin(client, admitted):
    newcomer = admitted
    client.get(URL)
    device = TOTPDevice.objects.get(user=newcomer)
    response = client.post(URL, {"token": _code(device)})
    assert response.status_code == 302 and response["Location"] == "/admin/"
    device.refresh_from_db()
    assert device.confirmed is True
    assert AuditEntry.objects.filter(action="totp.confirm", actor=newcomer, object_id=str(device.pk)).count() == 1
    assert EnrolmentCode.objects.get(user=newcomer).used_at is not None  # the code served once
    assert client.get("/admin/").status_code == 200
    # Later sign-ins at /admin/ take the password and a later code of the same authenticator.
    client.logout()
    login = client.post("/admin/login/?next=/admin/", {"username": "hubei", "password": PASSWORD,
                                                       "otp_token": _code(device, steps_ahead=1)})
    assert login.status_code == 302 and login["Location"] == "/admin/"
    assert "Your authenticator is confirmed" in client.get(URL, HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_enrolment_is_refused_without_a_code_and_nothing_is_created(client, newcomer):
    client.force_login(newcomer)  # password only: the portal lets a regulator without an authenticator that far
    page = client.get(URL, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "enter the one-time enrolment code your administrator issued you" in page
    assert 'data-testid="totp-qr"' not in page
    client.post(URL, {"token": "123456"})
    assert not TOTPDevice.objects.filter(user=newcomer).exists()
    # Every other page sends the unverified regulator here; the API says what to do.
    assert client.get("/home/")["Location"] == URL
    answer = client.get("/api/v1/me/").json()["error"]
    assert answer["code"] == "otp_enrolment_required" and "/account/two-factor/" in answer["message"]


def test_a_wrong_code_and_another_users_code_are_refused(client, newcomer, national, wuhan):
    others = enrolment_code_issue(actor=national, user=wuhan)
    client.force_login(newcomer)
    for wrong in ("AAAA-BBBB-CCCC", others):
        response = client.post(URL, {"enrolment_code": wrong}, HTTP_ACCEPT_LANGUAGE="en")
        assert "This enrolment code is wrong, already used or expired" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=newcomer).exists()


def test_an_enrolment_code_serves_once(client, admitted):
    client.get(URL)
    device = TOTPDevice.objects.get(user=admitted)
    assert client.post(URL, {"token": _code(device)}).status_code == 302
    code = EnrolmentCode.objects.get(user=admitted)
    # The same code presented again (another browser, the code leaked) is refused.
    other = type(client)(HTTP_ACCEPT_LANGUAGE="en")
    other.force_login(admitted)
    used = other.post(URL, {"enrolment_code": admitted.enrolment_code})
    assert "This enrolment code is wrong" in used.content.decode()
    assert code.used_at is not None and TOTPDevice.objects.filter(user=admitted).count() == 1


def test_an_expired_code_is_refused(client, newcomer, national):
    code = enrolment_code_issue(actor=national, user=newcomer)
    EnrolmentCode.objects.filter(user=newcomer).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    client.force_login(newcomer)
    response = client.post(URL, {"enrolment_code": code}, HTTP_ACCEPT_LANGUAGE="en")
    assert "This enrolment code is wrong, already used or expired" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=newcomer).exists()


def test_a_code_expiring_between_scan_and_confirmation_enrols_nothing(client, admitted):
    client.get(URL)
    device = TOTPDevice.objects.get(user=admitted)
    EnrolmentCode.objects.filter(user=admitted).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    response = client.post(URL, {"token": _code(device)}, HTTP_ACCEPT_LANGUAGE="en")
    assert "This enrolment code is wrong, already used or expired" in response.content.decode()
    device.refresh_from_db()
    assert device.confirmed is False


def test_a_new_code_ends_the_earlier_one(newcomer, national):
    first = enrolment_code_issue(actor=national, user=newcomer)
    enrolment_code_issue(actor=national, user=newcomer)
    from entities.two_factor import enrolment_code_find

    with pytest.raises(Exception, match="wrong, already used or expired"):
        enrolment_code_find(actor=newcomer, code=first)
    assert AuditEntry.objects.filter(action="totp.enrolment_code_issue", actor=national).count() == 2


def test_only_an_administrator_issues_codes_and_only_for_two_factor_users(hubei, wuhan, national, entity_user):
    from cets.common.errors import DomainError, Forbidden

    with pytest.raises(Forbidden):
        enrolment_code_issue(actor=hubei, user=wuhan)
    with pytest.raises(DomainError, match="password only"):
        enrolment_code_issue(actor=national, user=entity_user)
    assert not EnrolmentCode.objects.exists()


def test_admin_issues_a_code_with_a_fresh_authenticator_code(client, national, newcomer):
    otp_login(client, national)
    response = client.post("/admin/entities/user/", {"action": "issue_enrolment_code",
                                                      "_selected_action": [newcomer.pk]}, follow=True)
    page = response.content.decode()
    assert "enrolment code" in page and EnrolmentCode.objects.filter(user=newcomer, issued_by=national).count() == 1
    code = EnrolmentCode.objects.get(user=newcomer)
    assert len(code.code_hash) == 64 and code.code_hash not in page  # only the hash is kept


def test_enrolled_regulator_cannot_add_a_second_authenticator_with_a_password_alone(client, hubei):
    client.force_login(hubei)
    response = client.get(URL, HTTP_ACCEPT_LANGUAGE="en")
    assert "Your authenticator is confirmed" in response.content.decode()
    client.post(URL, {"token": "123456"})
    assert list(TOTPDevice.objects.filter(user=hubei).values_list("confirmed", flat=True)) == [True]


def test_a_verified_session_replaces_its_authenticator(client, hubei):
    old = TOTPDevice.objects.get(user=hubei)
    otp_login(client, hubei)
    assert "Replace my authenticator" in client.get(URL, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    client.get(URL + "?replace=1")
    new = TOTPDevice.objects.get(user=hubei, confirmed=False)
    assert client.post(URL, {"token": _code(new)}).status_code == 302
    assert list(TOTPDevice.objects.filter(user=hubei).values_list("pk", "confirmed")) == [(new.pk, True)]
    assert not TOTPDevice.objects.filter(pk=old.pk).exists()


def test_entity_user_gets_404_and_anonymous_is_sent_to_log_in(client, entity_user):
    assert client.get(URL)["Location"].startswith("/login/")
    client.force_login(entity_user)
    assert client.get(URL).status_code == 404
    assert client.post(URL, {"token": "123456"}).status_code == 404
    assert not TOTPDevice.objects.filter(user=entity_user).exists()


def test_login_pages_link_to_enrolment(client):
    assert 'href="/account/two-factor/"' in client.get("/login/").content.decode()
    assert 'href="/account/two-factor/"' in client.get("/admin/login/").content.decode()
