"""An integrator onboards alone, in the browser: creates a read-only API token (its secret shown once), calls
the API with it, is refused on a write, then revokes it after a confirmation page; the token stops at once."""

import pytest
from rest_framework.test import APIClient

from entities.models import ApiToken, User
from tests import factories as f
from tests.test_browser import PASSWORD, browser  # noqa: F401  (module-scoped launch)
from tests.test_browser_flows import _portal_login, page  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_integrator_creates_uses_and_revokes_a_token(page, live_server, entity):  # noqa: F811
    integrator = f.UserFactory(role=User.Role.INTEGRATOR, entity=entity, username="integrator")
    integrator.set_password(PASSWORD)
    integrator.save()
    _portal_login(page, live_server, integrator)
    page.click("[data-testid=nav-api-tokens]")
    page.fill("input[name=name]", "ERP export")
    page.check("input[name=access][value=read]")
    page.select_option("select[name=expires_in_days]", "30")
    page.click("[data-testid=token-form] button[type=submit]")
    secret = page.inner_text("[data-testid=token-secret]").removeprefix("Authorization: Token ").strip()
    assert secret.startswith("cets_") and len(secret) == 45
    row = page.inner_text("[data-testid=tokens] tbody")
    assert "ERP export" in row and "Read only" in row and "Active" in row and secret not in row
    api = APIClient(HTTP_ACCEPT_LANGUAGE="en", HTTP_AUTHORIZATION=f"Token {secret}")
    assert api.get("/api/v1/me/").json()["username"] == "integrator"
    assert api.post("/api/v1/registry/transfers/", {}, format="json").json()["error"]["code"] == "token_read_only"

    page.reload()  # the secret is not shown again
    assert page.locator("[data-testid=token-secret]").count() == 0
    page.get_by_role("link", name="Revoke").click()
    assert "ERP export" in page.inner_text("[data-testid=revoke-summary]")
    page.click("[data-testid=confirm-revoke]")
    page.wait_for_selector("text=is revoked")
    assert "Revoked" in page.inner_text("[data-testid=tokens] tbody")
    assert ApiToken.objects.get().revoked_at is not None
    assert api.get("/api/v1/me/").json()["error"]["code"] == "token_revoked"
