"""Portal, public and admin pages: what each user sees, and what is refused."""

import re

import pytest
from django.urls import reverse

from compliance import services
from compliance.models import SurrenderStep
from tests.conftest import otp_login

from .conftest import BEFORE_DEADLINE

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(client):
    """Pages in English, so assertions read the English messages and number format."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def test_entity_sees_own_obligations_and_surrenders_from_portal(client, entity_user, ob2021, ob2022, entity, give):
    give(entity, 2021, 100_000)
    client.force_login(entity_user)
    page = client.get(reverse("compliance:obligations"))
    assert page.status_code == 200 and "1,000,000" in page.content.decode()
    detail = reverse("compliance:obligation", args=[ob2021.pk])
    preview = client.post(detail, {"cea_vintage": 2021, "cea_quantity": 40_000})
    assert preview.status_code == 200 and "Confirm the surrender" in preview.content.decode()
    outcome = preview.context["outcome"]
    assert (outcome["total"], outcome["remaining_before"], outcome["remaining_after"]) == (40_000, 1_000_000, 960_000)
    assert [(s["instrument"], s["quantity"], len(s["serials"])) for s in outcome["steps"]] == [("CEA21", 40_000, 1)]
    ob2021.refresh_from_db()
    assert ob2021.remaining_tco2 == 1_000_000 and not SurrenderStep.objects.exists()  # asked, not done
    response = client.post(detail, {"cea_vintage": 2021, "cea_quantity": 40_000, "confirm": "1"}, follow=True)
    receipt = response.content.decode()
    assert "Surrendered 40,000 t: CEA21 40,000 t (serials " in receipt and "960,000 t remain" in receipt
    step = SurrenderStep.objects.get()
    assert f"registry transaction #{step.registry_transaction_id})" in receipt
    assert outcome["steps"][0]["serials"][0] in receipt  # the serials previewed are the serials moved
    ob2021.refresh_from_db()
    assert ob2021.remaining_tco2 == 960_000
    bad = client.post(detail, {"cea_vintage": 2022, "cea_quantity": 10})
    assert bad.status_code == 200 and "later vintage" in bad.content.decode()
    assert SurrenderStep.objects.count() == 1


def test_other_entity_and_other_province_refused(client, other_entity_user, guangdong, ob2021):
    detail = reverse("compliance:obligation", args=[ob2021.pk])
    for user in (other_entity_user, guangdong):
        otp_login(client, user)
        assert client.get(detail).status_code == 404
        assert client.post(detail, {"cea_vintage": 2021, "cea_quantity": 1}).status_code == 404
        assert client.get(reverse("compliance:certificate", args=[ob2021.pk])).status_code == 404


def test_regulator_cannot_surrender_for_entity(client, hubei, ob2021):
    otp_login(client, hubei)
    detail = reverse("compliance:obligation", args=[ob2021.pk])
    assert client.get(detail).status_code == 200
    assert client.post(detail, {"cea_vintage": 2021, "cea_quantity": 1}).status_code == 403


def test_risk_page_regulators_by_jurisdiction(client, entity_user, hubei, guangdong, cycle, obligations):
    services.risk_scan(cycle=cycle, on_date=BEFORE_DEADLINE)
    url = reverse("compliance:risk", args=["2021-2022"])
    client.force_login(entity_user)
    assert client.get(url).status_code == 403
    otp_login(client, hubei)
    assert "武汉示范发电有限公司" in client.get(url).content.decode()
    otp_login(client, guangdong)
    body = client.get(url).content.decode()
    assert "武汉示范发电有限公司" not in body and "广州测试电厂" in body
    export = client.get(url + "?export=csv")
    assert export["Content-Type"].startswith("text/csv") and "广州测试电厂" in export.content.decode("utf-8-sig")


def test_public_report_list_and_certificate_pages(client, cycle, obligations, entity, entity_user, give, national,
                                                  django_capture_on_commit_callbacks):
    give(entity, 2021, 1_000_000)
    services.surrender(actor=entity_user, obligation=obligations[(entity.pk, 2021)],
                       items=[{"kind": "cea", "vintage": 2021, "quantity": 1_000_000}], on_date=BEFORE_DEADLINE)
    listing = client.get(reverse("compliance:public-list", args=["2021-2022"])).content.decode()
    # past the deadline the list is public before closing, with the real shortfall and status
    assert "广州测试电厂" in listing and "500,000" in listing and "Non-compliant" in listing
    assert listing.count("武汉示范发电有限公司") == 1  # its 2022 row only: 2021 was met
    assert "<td>2022</td><td>1,200,000</td><td>0</td>" in listing
    with django_capture_on_commit_callbacks(execute=True):
        services.cycle_close(actor=national, cycle=cycle)
    body = client.get(reverse("compliance:public-list", args=["2021-2022"])).content.decode()
    assert "广州测试电厂" in body
    report = client.get(reverse("compliance:public-report", args=["2021-2022"]))
    text = report.content.decode()
    assert report.status_code == 200 and "<svg" in text and "Supply and demand of CEAs generally balanced" in text
    xlsx = client.get(reverse("compliance:public-report", args=["2021-2022"]) + "?export=xlsx")
    assert xlsx["Content-Type"].startswith("application/vnd.openxmlformats")
    csv = client.get(reverse("compliance:public-report", args=["2021-2022"]) + "?export=csv")
    assert "national,National,2021,0,1500000,-1500000" in csv.content.decode("utf-8-sig")
    cert = obligations[(entity.pk, 2021)].certificate
    ok = client.get(reverse("compliance:certificate-verify", args=[cert.code]))
    assert ok.status_code == 200 and "Genuine" in ok.content.decode()
    assert client.get(reverse("compliance:certificate-verify", args=["0" * 32])).status_code == 404
    client.force_login(entity_user)
    pdf = client.get(reverse("compliance:certificate", args=[obligations[(entity.pk, 2021)].pk]))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_admin_scoped_and_close_action(client, admin_login, hubei, guangdong, national, obligations, entity, cycle,
                                       django_capture_on_commit_callbacks):
    admin_login(client, guangdong)
    body = client.get("/admin/compliance/obligation/").content.decode()
    assert "广州测试电厂" in body and "武汉示范发电有限公司" not in body
    assert client.get(f"/admin/compliance/obligation/{obligations[(entity.pk, 2021)].pk}/change/").status_code in (
        302, 404)
    response = client.post("/admin/compliance/compliancecycle/", {"action": "close_cycle",
                                                                  "_selected_action": [cycle.pk]})
    assert response.status_code == 302
    cycle.refresh_from_db()
    assert cycle.status == "open"  # a provincial regulator may not close
    admin_login(client, national)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/admin/compliance/compliancecycle/", {"action": "close_cycle", "_selected_action": [cycle.pk]})
    cycle.refresh_from_db()
    assert cycle.status == "closed"
    assert client.get("/admin/compliance/compliancecycle/").status_code == 200


def test_admin_refuses_entity_users(client, entity_user):
    client.force_login(entity_user)
    assert client.get("/admin/compliance/obligation/").status_code == 302


def test_admin_sets_obligations_and_edits_cycle_national_only(client, admin_login, national, hubei, entity, cycle):
    from compliance.models import Obligation

    from .conftest import confirm

    confirm(entity, 2021, "1000")
    admin_login(client, hubei)
    client.post("/admin/compliance/compliancecycle/", {"action": "calculate_obligations",
                                                       "_selected_action": [cycle.pk]})
    assert Obligation.objects.count() == 0
    assert client.get(f"/admin/compliance/compliancecycle/{cycle.pk}/change/").status_code == 200  # view only
    admin_login(client, national)
    client.post("/admin/compliance/compliancecycle/", {"action": "calculate_obligations",
                                                       "_selected_action": [cycle.pk]})
    assert Obligation.objects.get().quantity_tco2 == 1000


def test_surrender_error_shows_the_message_next_to_its_field(client, entity_user, ob2021, entity, give):
    give(entity, 2021, 60_000)
    client.force_login(entity_user)
    detail = reverse("compliance:obligation", args=[ob2021.pk])
    response = client.post(detail, {"cea_vintage": 2021, "cea_quantity": 70_000})
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["cea_quantity"] == ["Only 60,000 CEA21 are available, 70,000 requested."]
    page = response.content.decode()
    assert "(quantity)" not in page and "(items" not in page
    # An error about the whole surrender stays with the form, its tonnes with thousands separators.
    response = client.post(detail, {"cea_vintage": 2021, "cea_quantity": 2_000_000})
    assert response.context["form"].non_field_errors() == [
        "2,000,000 t is more than the 1,000,000 t still owed for 2021."]
    assert "(items)" not in response.content.decode()
    assert SurrenderStep.objects.count() == 0


def test_obligation_page_milestone_wording_and_spacing(client, entity_user, ob2021):
    client.force_login(entity_user)
    page = client.get(reverse("compliance:obligation", args=[ob2021.pk])).content.decode()
    # 2021-22 notice: 95% of each province's entities complete by 2023-11-15 (all by 2023-12-31).
    assert re.search(r'data-testid="milestone">\s*95% of the province\S* entities complete by 2023-11-15\s*</dd>',
                     page)
    assert "95.00" not in page
    # The holdings table sits in its own card, so the surrender form below it does not touch it.
    assert re.search(r'<section class="card">\s*<p>Eligible CEA vintages.*?</table>\s*</section>\s*<form', page,
                     re.S)
