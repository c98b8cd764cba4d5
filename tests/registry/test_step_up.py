"""Step-up at the four-eyes sign-offs (cets.common.stepup), through the registry's approval doors.

Without a code, or with one older than 5 minutes, an approval is refused naming ``otp_code`` and nothing
changes; with a fresh code it proceeds. Sessions remember a code for 5 minutes; token calls never do.
"""

import pytest
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from cets.common import stepup
from registry import services
from registry.models import Transaction
from tests.conftest import otp_login

pytestmark = pytest.mark.django_db

BASE = "/api/v1/registry/transactions"


def code_of(user, steps=0) -> str:
    device = TOTPDevice.objects.get(user=user, confirmed=True)
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift + steps):06d}"


@pytest.fixture
def proposal(national, cea21):
    return services.issuance_propose(actor=national, instrument=cea21, quantity=5_000)


def _unchanged(tx, cea21):
    tx.refresh_from_db()
    cea21.refresh_from_db()
    assert tx.status == "awaiting_approval" and tx.approved_by is None and cea21.issued == 0
    assert not Transaction.objects.filter(kind="issuance", status="completed").exists()


def _refused(response, code="step_up_required"):
    assert response.status_code == 403, response.content
    error = response.json()["error"]
    assert error["code"] == code and error["field"] == "otp_code"


def test_approval_without_a_code_is_refused(api, national2, proposal, cea21):
    _refused(api(national2).post(f"{BASE}/{proposal.pk}/approve/"))
    _unchanged(proposal, cea21)


def test_a_code_older_than_five_minutes_is_refused(api, national2, proposal, cea21):
    client = api(national2)
    _refused(client.post(f"{BASE}/{proposal.pk}/approve/", HTTP_X_OTP_CODE=code_of(national2, steps=-11)),
             "invalid_otp_code")  # the code shown 5.5 minutes ago
    _unchanged(proposal, cea21)


def test_a_session_step_up_lasts_five_minutes(api, national2, proposal, cea21, monkeypatch):
    client = api(national2, otp=True)  # a code given just now
    now = stepup._clock()
    monkeypatch.setattr(stepup, "_clock", lambda: now + 301)
    _refused(client.post(f"{BASE}/{proposal.pk}/approve/"))
    _unchanged(proposal, cea21)
    monkeypatch.setattr(stepup, "_clock", lambda: now + 299)
    done = client.post(f"{BASE}/{proposal.pk}/approve/")
    assert done.status_code == 200 and done.json()["status"] == "completed"
    cea21.refresh_from_db()
    assert cea21.issued == 5_000


def test_a_fresh_code_approves_and_is_remembered_by_the_session(api, national, national2, proposal, cea21):
    client = api(national2)
    done = client.post(f"{BASE}/{proposal.pk}/approve/", {"otp_code": code_of(national2)}, format="json")
    assert done.status_code == 200 and done.json()["status"] == "completed"
    assert Transaction.objects.get(pk=proposal.pk).approved_by == national2
    # Within 5 minutes the same session signs the next one off without typing again.
    second = services.issuance_propose(actor=national, instrument=cea21, quantity=10)
    assert client.post(f"{BASE}/{second.pk}/approve/").json()["status"] == "completed"
    cea21.refresh_from_db()
    assert cea21.issued == 5_010


def test_an_idempotent_retry_with_a_new_code_replays_the_approval(api, national2, proposal, cea21):
    client = api(national2)
    first = client.post(f"{BASE}/{proposal.pk}/approve/", {"otp_code": code_of(national2)}, format="json",
                        HTTP_IDEMPOTENCY_KEY="approve-1")
    assert first.status_code == 200
    retry = client.post(f"{BASE}/{proposal.pk}/approve/", {"otp_code": code_of(national2, steps=1)}, format="json",
                        HTTP_IDEMPOTENCY_KEY="approve-1")
    assert retry.status_code == 200 and retry["Idempotent-Replayed"] == "true"
    cea21.refresh_from_db()
    assert cea21.issued == 5_000


def test_a_code_serves_once(api, national, national2, proposal, cea21):
    code = code_of(national2)
    assert api(national2).post(f"{BASE}/{proposal.pk}/approve/", HTTP_X_OTP_CODE=code).status_code == 200
    second = services.issuance_propose(actor=national, instrument=cea21, quantity=10)
    _refused(api(national2).post(f"{BASE}/{second.pk}/approve/", HTTP_X_OTP_CODE=code), "invalid_otp_code")
    second.refresh_from_db()
    assert second.status == "awaiting_approval"


def test_token_calls_carry_their_own_code(national, national2, proposal, cea21):
    session = otp_login(Client(), national2)
    key = session.post("/api/v1/auth/token/").json()["token"]
    token = APIClient(HTTP_ACCEPT_LANGUAGE="en", HTTP_AUTHORIZATION=f"Token {key}")
    _refused(token.post(f"{BASE}/{proposal.pk}/approve/"))
    _unchanged(proposal, cea21)
    assert token.post(f"{BASE}/{proposal.pk}/approve/", HTTP_X_OTP_CODE=code_of(national2, steps=1)).status_code == 200
    second = services.issuance_propose(actor=national, instrument=cea21, quantity=10)
    _refused(token.post(f"{BASE}/{second.pk}/approve/"))  # a token session remembers nothing


def test_admin_approval_asks_for_the_code(client, national2, proposal, cea21):
    otp_login(client, national2)
    session = client.session
    del session[stepup.SESSION_KEY]  # logged in a while ago: the code typed then is no longer fresh
    session.save()
    url = "/admin/registry/pendingapproval/"
    page = client.post(url, {"action": "approve", "_selected_action": [proposal.pk]}, follow=True).content.decode()
    assert "Enter a current code from your authenticator" in page and "(otp_code)" in page
    _unchanged(proposal, cea21)
    assert 'name="otp_code"' in client.get(url).content.decode()
    client.post(url, {"action": "approve", "_selected_action": [proposal.pk], "otp_code": code_of(national2)})
    proposal.refresh_from_db()
    assert proposal.status == "completed" and proposal.approved_by == national2
