"""Carry-over pages: the entity's quota and application form, public batch totals, the regulators' admin."""

import re

import pytest
from django.urls import reverse

from compliance.models import CarryOverApplication, CarryOverNotice
from tests.conftest import otp_login

from .carryover_helpers import held

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def page(code="2025"):
    return reverse("compliance:carry-over", args=[code])


def test_entity_sees_its_quota_and_applies(client, open_now, entity_user):
    client.force_login(entity_user)
    body = client.get(page()).content.decode()
    assert "295,000" in body and "190,000" in body and "5,000" not in body.split("Applications")[0].split("Quota")[-1]
    assert client.post(page(), {"quantity": 100_000}).status_code == 302
    bad = client.post(page(), {"quantity": 1_000})
    assert bad.status_code == 200 and "already has an application in batch 2" in bad.content.decode()
    assert list(CarryOverApplication.objects.values_list("quantity_tco2", "status")) == [(100_000, "submitted")]


def test_after_the_deadline_the_form_names_the_rule(client, notified, entity_user):
    client.force_login(entity_user)
    response = client.post(page(), {"quantity": 1_000})
    assert response.status_code == 200 and "Carry-over applications closed on" in response.content.decode()
    assert not CarryOverApplication.objects.exists()


def test_other_entity_regulators_and_others(client, open_now, entity_user, other_entity_user, guangdong, verifier):
    client.force_login(entity_user)
    client.post(page(), {"quantity": 1_000})
    client.force_login(other_entity_user)
    body = client.get(page()).content.decode()
    assert "武汉示范发电有限公司" not in body and "5,000" in body
    otp_login(client, guangdong)
    regulator_page = client.get(page())
    assert regulator_page.status_code == 200 and "武汉示范发电有限公司" not in regulator_page.content.decode()
    assert client.post(page(), {"quantity": 1_000}).status_code == 403  # regulators do not apply
    client.force_login(verifier)
    assert client.get(page()).status_code == 403
    client.logout()
    assert client.get(page()).status_code == 302  # to the log-in
    assert client.get(page("1999")).status_code == 302
    assert CarryOverApplication.objects.count() == 1


def test_public_page_shows_totals_per_batch(client, open_now, entity, entity_user, national, national2):
    from compliance import carryover_services as services

    client.force_login(entity_user)
    client.post(page(), {"quantity": 50_000})
    application = CarryOverApplication.objects.get()
    services.application_propose(actor=national, application=application)
    services.application_decide(actor=national2, application=application, approve=True)
    client.logout()
    body = client.get(reverse("compliance:carry-over-public", args=["2025"])).content.decode()
    rows = re.findall(r"<tr><td>(\d)</td><td>[\d-]+</td><td>[\d-]+</td>((?:<td>[\d,]+</td>)+)</tr>", body)
    assert rows == [("1", "<td>0</td><td>0</td><td>0</td><td>0</td>"),
                    ("2", "<td>1</td><td>1</td><td>50,000</td><td>0</td>")]
    assert client.get(reverse("compliance:carry-over-public", args=["1999"])).status_code == 404
    index = client.get(reverse("compliance:public")).content.decode()
    assert reverse("compliance:carry-over-public", args=["2025"]) in index


def test_admin_two_regulators_decide_a_batch(client, admin_login, open_now, entity, entity_user, national,
                                             national2, hubei):
    client.force_login(entity_user)
    client.post(page(), {"quantity": 80_000})
    application = CarryOverApplication.objects.get()
    url = "/admin/compliance/carryoverapplication/"
    admin_login(client, hubei)
    client.post(url, {"action": "propose", "_selected_action": [application.pk]})
    application.refresh_from_db()
    assert application.status == "submitted"  # national regulators only
    admin_login(client, national)
    client.post(url, {"action": "propose", "_selected_action": [application.pk]})
    client.post(url, {"action": "approve", "_selected_action": [application.pk]})  # own proposal: refused
    application.refresh_from_db()
    assert application.status == "proposed"
    admin_login(client, national2)
    client.post(url, {"action": "approve", "_selected_action": [application.pk]})
    application.refresh_from_db()
    assert application.status == "approved" and held(entity, 2025) == 80_000
    assert client.get(url).status_code == 200
    assert client.get("/admin/compliance/carryoverscheme/").status_code == 200
    assert client.get("/admin/compliance/carryovernotice/").status_code == 200


def test_admin_issues_notices_national_only(client, admin_login, market, hubei, national):
    from compliance.models import CarryOverScheme

    url = "/admin/compliance/carryoverscheme/"
    admin_login(client, hubei)
    client.post(url, {"action": "issue_notices", "_selected_action": [market.pk]})
    assert not CarryOverNotice.objects.exists()
    admin_login(client, national)
    client.post(url, {"action": "issue_notices", "_selected_action": [CarryOverScheme.objects.get(code="2025").pk]})
    assert CarryOverNotice.objects.count() == 2


def test_admin_refuses_entity_users(client, entity_user):
    client.force_login(entity_user)
    assert client.get("/admin/compliance/carryoverapplication/").status_code == 302
