"""Public pages and the portal: content, exports, and refusals for the wrong user."""

import datetime as dt

import pytest
from django.contrib import admin
from django.contrib.messages.storage.fallback import FallbackStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory

from cets.common.errors import DomainError
from cets.common.models import AuditEntry
from registry import selectors as registry_selectors
from registry import services as registry
from tests.conftest import otp_login
from voluntary import clock, services
from voluntary.models import Comment, CreditUse, Document, Methodology, Project

from .conftest import AFTER_DISCLOSURE, APPLIED, CREATED, PDF

pytestmark = pytest.mark.django_db


def _text(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def test_public_pages_render(client, issued):
    project = issued[0].project
    assert "CCER-01-002-V01" in _text(client.get("/voluntary/public/"))
    assert "CCER-14-002-V01" in _text(client.get("/voluntary/public/methodologies/"))
    page = _text(client.get("/voluntary/public/methodologies/CCER-01-002-V01/"))
    assert "EF_grid,CM" in page and "0.8042" in page
    listing = _text(client.get("/voluntary/public/projects/?state=registered"))
    assert project.registration_number in listing
    detail = _text(client.get(f"/voluntary/public/projects/{project.pk}/"))
    assert "pdd.pdf" in detail and "32826" in detail and 'data-testid="comment-form"' not in detail
    assert issued[0].instrument_code in _text(client.get("/voluntary/public/issuances/"))
    assert client.get("/voluntary/public/methodologies/NOPE/").status_code == 404


def test_public_search_and_exports(client, registered, draft):
    assert registered.ref in _text(client.get("/voluntary/public/projects/?q=阳江"))
    assert registered.ref not in _text(client.get("/voluntary/public/projects/?q=不存在"))
    csv = client.get("/voluntary/public/projects/?export=csv").content.decode("utf-8-sig")
    assert registered.ref in csv and csv.startswith("ref,registration_number")
    xlsx = client.get("/voluntary/public/projects/?export=xlsx")
    assert xlsx["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "ccer-issuances.csv" in client.get("/voluntary/public/issuances/?export=csv")["Content-Disposition"]
    assert "ccer-cancellations.xlsx" in client.get("/voluntary/public/cancellations/?export=xlsx")[
        "Content-Disposition"]


def test_draft_has_no_public_page_or_documents(client, draft, owner):
    doc = services.document_upload(actor=owner, project=draft, kind=Document.Kind.DESIGN, upload=SimpleUploadedFile(
        "pdd.pdf", PDF))
    assert client.get(f"/voluntary/public/projects/{draft.pk}/").status_code == 404
    assert client.get(f"/voluntary/public/documents/{doc.pk}/").status_code == 404
    client.force_login(owner)
    assert client.get(f"/voluntary/public/documents/{doc.pk}/").status_code == 200


def test_public_comment_form_while_open_and_refused_after(client, disclosed):
    with clock.frozen(CREATED):
        page = _text(client.get(f"/voluntary/public/projects/{disclosed.pk}/"))
        assert 'data-testid="comment-form"' in page
        client.post(f"/voluntary/public/projects/{disclosed.pk}/comment/", {"author_name": "环保组织",
                                                                            "text": "请公开风机选址依据"})
    with clock.frozen(AFTER_DISCLOSURE):
        assert 'data-testid="comment-form"' not in _text(client.get(f"/voluntary/public/projects/{disclosed.pk}/"))
        response = client.post(f"/voluntary/public/projects/{disclosed.pk}/comment/",
                               {"author_name": "迟到", "text": "x"}, follow=True)
        assert "comments are no longer accepted" in response.content.decode() or "不再" in response.content.decode()
    assert list(Comment.objects.values_list("text", flat=True)) == ["请公开风机选址依据"]


def test_comments_shown_to_owner_and_validator_not_others(client, disclosed, owner, validator, other_owner,
                                                          outsider_vvb):
    with clock.frozen(CREATED):
        services.comment_add(project=disclosed, author_name="公众", text="鸟类迁徙通道")
    for user in (owner, validator):
        otp_login(client, user)
        assert "鸟类迁徙通道" in _text(client.get(f"/voluntary/projects/{disclosed.pk}/"))
    for user in (other_owner, outsider_vvb):
        otp_login(client, user)
        assert client.get(f"/voluntary/projects/{disclosed.pk}/").status_code == 404
    client.logout()
    assert "鸟类迁徙通道" not in _text(client.get(f"/voluntary/public/projects/{disclosed.pk}/"))


def test_portal_desk_by_role(client, draft, owner, validator, national, verifier):
    client.force_login(owner)
    assert draft.ref in _text(client.get("/voluntary/"))
    client.force_login(validator)
    assert draft.ref in _text(client.get("/voluntary/"))
    otp_login(client, national)
    assert 'data-testid="queue"' in _text(client.get("/voluntary/"))
    client.force_login(verifier)  # an ETS verification agency has no voluntary desk
    assert client.get("/voluntary/").status_code == 404
    client.logout()
    assert client.get("/voluntary/").status_code == 302


def test_portal_new_project_and_bad_input(client, owner, wind, validator_org, validator):
    client.force_login(owner)
    body = {"methodology": wind.code, "validator": validator_org.pk, "title": "如东海上风电", "site": "如东外海",
            "province": "32", "capacity": "400", "construction_start": "2012-10-01", "crediting_start": "2022-01-01",
            "crediting_end": "2031-12-31",
            "parameters": '{"grid_connected": true, "offshore_distance_km": 40, "water_depth_m": 10}'}
    with clock.frozen(CREATED):
        page = _text(client.post("/voluntary/projects/new/", body))
        assert "8 November 2012" in page or "2012" in page
        assert Project.objects.count() == 0
        response = client.post("/voluntary/projects/new/", {**body, "construction_start": "2021-01-01"})
    project = Project.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/voluntary/projects/{project.pk}/"
    client.force_login(validator)
    assert client.get("/voluntary/projects/new/").status_code == 404


def test_portal_actions_upload_publish_and_refusals(client, draft, owner, other_owner, validator):
    client.force_login(owner)
    with clock.frozen(CREATED):
        client.post(f"/voluntary/projects/{draft.pk}/upload/", {"kind": "design", "file": SimpleUploadedFile(
            "pdd.docx", b"not a zip")})
        assert Document.objects.count() == 0
        client.post(f"/voluntary/projects/{draft.pk}/upload/", {"kind": "design", "file": SimpleUploadedFile(
            "pdd.pdf", PDF)})
        client.post(f"/voluntary/projects/{draft.pk}/publish/")
    draft.refresh_from_db()
    assert draft.state == Project.State.DISCLOSURE and Document.objects.count() == 1
    client.force_login(other_owner)
    assert client.post(f"/voluntary/projects/{draft.pk}/publish/").status_code == 404
    client.force_login(validator)
    with clock.frozen(AFTER_DISCLOSURE):
        client.post(f"/voluntary/projects/{draft.pk}/upload/", {"kind": "validation", "file": SimpleUploadedFile(
            "v.pdf", PDF)})
        client.post(f"/voluntary/projects/{draft.pk}/validate/", {"positive": "1", "conclusion": "符合"})
    draft.refresh_from_db()
    assert draft.state == Project.State.VALIDATED


def test_portal_reviewer_registers_and_owner_cannot(client, validated, owner, national):
    with clock.frozen(APPLIED):
        services.project_apply(actor=owner, project=validated)
    client.force_login(owner)
    client.post(f"/voluntary/projects/{validated.pk}/register/")
    validated.refresh_from_db()
    assert validated.state == Project.State.APPLIED
    otp_login(client, national)
    client.post(f"/voluntary/projects/{validated.pk}/register/")
    validated.refresh_from_db()
    assert validated.state == Project.State.REGISTERED


def test_portal_report_pages(client, report_disclosed, owner, verifier_user, other_owner):
    client.force_login(owner)
    assert "65652" in _text(client.get(f"/voluntary/reports/{report_disclosed.pk}/"))
    client.force_login(verifier_user)
    assert _text(client.get(f"/voluntary/reports/{report_disclosed.pk}/"))
    client.force_login(other_owner)
    assert client.get(f"/voluntary/reports/{report_disclosed.pk}/").status_code == 404
    assert client.post(f"/voluntary/reports/{report_disclosed.pk}/apply/").status_code == 404


def test_retire_page_and_public_verification(client, issued, owner, verifier_user):
    client.force_login(verifier_user)
    assert client.get("/voluntary/retire/").status_code == 404
    client.force_login(owner)
    body = {"instrument": issued[0].instrument_code, "quantity": 50, "beneficiary": "绿色会议", "purpose": "event"}
    with clock.frozen(dt.date(2024, 9, 2)):
        preview = client.post("/voluntary/retire/", body)
        assert preview.status_code == 200 and not CreditUse.objects.exists()  # asked, not done
        outcome = preview.context["outcome"]
        prefix = f"CN-{issued[0].instrument_code}-"
        assert outcome["serials"] == [f"{prefix}000000000001…{prefix}000000000050"]
        assert (outcome["quantity"], outcome["before"] - outcome["after"]) == (50, 50)
        response = client.post("/voluntary/retire/", {**body, "confirm": "1"})
    use = CreditUse.objects.get()
    assert use.serials[0]["range"] == outcome["serials"][0]  # the serials shown are the serials retired
    assert response["Location"] == f"/voluntary/public/cancellations/{use.code}/"
    client.logout()
    page = _text(client.get(f"/voluntary/public/cancellations/{use.code}/"))
    assert "绿色会议" in page and f"CN-{issued[0].instrument_code}-000000000001" in page
    verify = client.get("/voluntary/public/verify/", {"code": use.code.lower()})
    assert verify["Location"] == f"/voluntary/public/cancellations/{use.code}/"
    assert "No cancellation" in client.get("/voluntary/public/verify/", {"code": "VR2024-FAKE"},
                                           HTTP_ACCEPT_LANGUAGE="en").content.decode()
    pdf = client.get(f"/voluntary/public/cancellations/{use.code}/certificate.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    assert client.get("/voluntary/public/cancellations/VR2024-FAKE/").status_code == 404


def _admin_request(user, **post):
    request = RequestFactory().post("/admin/voluntary/project/", post)
    request.user = user
    request.session = {}
    request._messages = FallbackStorage(request)
    return request


def test_admin_reviewer_registers_and_rejects_with_reason(applied, national, hubei, owner):
    project_admin = admin.site._registry[Project]
    assert project_admin.has_module_permission(_admin_request(hubei))
    assert not project_admin.has_module_permission(_admin_request(owner))
    project_admin.reject(_admin_request(hubei, reason="x"), Project.objects.filter(pk=applied.pk))
    applied.refresh_from_db()
    assert applied.state == Project.State.APPLIED  # a provincial regulator may look, not decide
    project_admin.reject(_admin_request(national, reason=""), Project.objects.filter(pk=applied.pk))
    applied.refresh_from_db()
    assert applied.state == Project.State.APPLIED  # no reason, no rejection
    project_admin.reject(_admin_request(national, reason="监测计划不可行"), Project.objects.filter(pk=applied.pk))
    applied.refresh_from_db()
    assert applied.state == Project.State.REJECTED and applied.rejection_reason == "监测计划不可行"


def test_admin_methodology_edit_is_audited(national, hubei, wind):
    methodology_admin = admin.site._registry[Methodology]
    assert methodology_admin.has_change_permission(_admin_request(national))
    assert not methodology_admin.has_change_permission(_admin_request(hubei))
    wind.parameters["w_om"] = "0.5"
    services.methodology_save(actor=national, methodology=wind, changed=["parameters"])
    entry = AuditEntry.objects.get(action="voluntary.methodology_save")
    assert entry.after["parameters"]["w_om"] == "0.5"
    wind.applicability = [[{"field": "x", "op": "about", "value": 1}]]
    with pytest.raises(DomainError) as exc:
        services.methodology_save(actor=national, methodology=wind, changed=["applicability"])
    assert exc.value.field == "applicability"


def test_public_register_of_vvbs_and_owners(client, validator_org, owner_org):
    page = _text(client.get("/voluntary/public/organisations/"))
    assert validator_org.name in page and "CCER sector 01" in page and owner_org.name in page


def test_transfer_page_for_holders_only(client, issued, owner, validator, entity):
    target = registry.account_for_entity(entity=entity)
    client.force_login(validator)
    assert client.get("/voluntary/transfer/").status_code == 404
    client.force_login(owner)
    body = {"instrument": issued[0].instrument_code, "to_account": target.number, "quantity": 7}
    preview = client.post("/voluntary/transfer/", body)
    outcome = preview.context["outcome"]
    assert preview.status_code == 200 and (outcome["quantity"], outcome["before"] - outcome["after"]) == (7, 7)
    assert registry_selectors.balance(target, registry_selectors.instrument_get(issued[0].instrument_code)).total == 0
    response = client.post("/voluntary/transfer/", {**body, "confirm": "1"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 302
    receipt = [str(m) for m in response.wsgi_request._messages]
    assert any("7 t of " + issued[0].instrument_code in m for m in receipt), receipt
    bad = client.post("/voluntary/transfer/", {"instrument": issued[0].instrument_code, "to_account": "CN-000",
                                               "quantity": 7}, HTTP_ACCEPT_LANGUAGE="en")
    assert bad.status_code == 200 and "No account with this number" in bad.content.decode()
