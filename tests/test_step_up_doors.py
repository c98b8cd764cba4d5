"""Every four-eyes sign-off door asks for a fresh authenticator code (cets.common.stepup), whichever door:
the API actions, the admin actions and the portal forms. The registry's doors are tested end to end in
tests/registry/test_step_up.py; here each door is walked once, before and after a step-up."""

import pytest
from django.contrib import admin
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.db import SessionStore
from django.test import RequestFactory

from cets.common import stepup
from tests.conftest import otp_login

pytestmark = pytest.mark.django_db

SIGN_OFF_ENDPOINTS = [
    "/api/v1/registry/transactions/999999/approve/",        # issuance, withdrawal, freeze, reversal, deduction
    "/api/v1/allowances/runs/999999/approve/",              # allocation
    "/api/v1/compliance/reliefs/999999/decide/",            # relief
    "/api/v1/compliance/penalties/999999/decide/",          # penalty
    "/api/v1/mrv/verifications/999999/approve-determination/",  # determination
    "/api/v1/voluntary/reports/999999/register/",           # CCER issuance
]

SIGN_OFF_ADMIN_ACTIONS = [
    ("registry", "transaction", "approve"),
    ("registry", "pendingapproval", "approve"),
    ("allowances", "allocationrun", "approve"),
    ("allowances", "allocationplan", "publish"),
    ("compliance", "reliefdecision", "approve"),
    ("compliance", "reliefdecision", "reject"),
    ("compliance", "penalty", "decide"),
    ("voluntary", "monitoringreport", "register"),
    ("entities", "user", "issue_enrolment_code"),
]


@pytest.mark.parametrize("url", SIGN_OFF_ENDPOINTS)
def test_each_api_sign_off_asks_for_the_code_first(api, national, entity_user, url):
    refused = api(national).post(url, {"approve": True}, format="json")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "step_up_required" and refused.json()["error"]["field"] == "otp_code"
    # With a fresh code the request reaches the door's own checks (here: no such object).
    assert api(national, otp=True).post(url, {"approve": True}, format="json").status_code == 404
    # A password-only user is never asked for a code: the door's rules answer.
    assert api(entity_user).post(url, {"approve": True}, format="json").json()["error"]["code"] != "step_up_required"


def _admin_request(user, fresh: bool):
    request = RequestFactory().post("/admin/", {"otp_code": ""})
    request.user = user
    request.session = SessionStore()
    if fresh:
        stepup.step_up_record(request, user)
    request._messages = FallbackStorage(request)
    return request


@pytest.mark.parametrize(("app", "model", "name"), SIGN_OFF_ADMIN_ACTIONS)
def test_each_admin_sign_off_asks_for_the_code(national, app, model, name):
    model_admin = next(ma for m, ma in admin.site._registry.items()
                       if m._meta.app_label == app and m._meta.model_name == model)
    assert isinstance(model_admin.action_form(), stepup.StepUpActionForm)
    stale = _admin_request(national, fresh=False)
    action = model_admin.get_actions(stale)[name][0]
    action(model_admin, stale, model_admin.model.objects.none())
    assert [str(m) for m in get_messages(stale)] == [
        "Enter a current code from your authenticator to sign this off: a code is valid for a sign-off for 5 "
        "minutes. (otp_code)"]
    fresh = _admin_request(national, fresh=True)
    action(model_admin, fresh, model_admin.model.objects.none())
    assert not any("authenticator" in str(m) for m in get_messages(fresh))


def test_portal_run_approval_asks_for_the_code(client, national):
    otp_login(client, national)
    session = client.session
    del session[stepup.SESSION_KEY]
    session.save()
    page = client.post("/allowances/runs/", {"approve": "999999"}, follow=True).content.decode()
    assert "Enter a current code from your authenticator" in page
    otp_login(client, national)
    page = client.post("/allowances/runs/", {"approve": "999999"}, follow=True).content.decode()
    assert "Enter a current code from your authenticator" not in page and "does not exist" in page
