"""Qualified verifiers (issue 17 point 3): assignment within accreditation and while active, cancel or replace
before submission, the report's conclusion and file, returns to the entity and to the agency, recall."""

import datetime as dt

import pytest

from cets.common.errors import Conflict, DomainError, Forbidden, NotFound
from cets.common.models import AuditEntry
from entities.models import Accreditation, AgencyAssignment, Organisation, User
from entities.services import agency_assign
from mrv import agencies, services, verifications
from mrv.models import AnnualReport, Verification
from tests import factories as f

from .conftest import month_row, signed_report
from .test_oversight import VALUES

pytestmark = pytest.mark.django_db


@pytest.fixture
def assigned(entity, agency, hubei):
    return agency_assign(actor=hubei, entity=entity, agency=agency, year=2023)


@pytest.fixture
def hubei2(db):
    return f.regulator(User.Role.PROVINCIAL_REGULATOR, province_code="42", username="hubei-2")


def _agency(name, **accreditation):
    agency = f.OrganisationFactory(name=name, accredited=False)
    if accreditation:
        Accreditation.objects.create(organisation=agency, scope="ETS power", number=f"N-{name}",
                                     **{"valid_from": dt.date(2020, 1, 1), "valid_to": dt.date(2099, 1, 1),
                                        **accreditation})
    return agency


def test_an_agency_is_assigned_only_within_its_accreditation_and_while_active(entity, hubei):
    refusals = [
        (_agency("none"), "not_accredited"),
        (_agency("cement only", sector_id="cement"), "not_accredited"),
        (_agency("guangdong only", sector_id="power", province=f.province("44")), "not_accredited"),
        (_agency("expired", sector_id="power", valid_to=dt.date(2021, 1, 1)), "not_accredited"),
    ]
    inactive = _agency("inactive", sector_id="power")
    Organisation.objects.filter(pk=inactive.pk).update(is_active=False)
    banned = _agency("banned", sector_id="power")
    Organisation.objects.filter(pk=banned.pk).update(banned_until=dt.date(2030, 1, 1))
    refusals += [(Organisation.objects.get(pk=inactive.pk), "agency_inactive"),
                 (Organisation.objects.get(pk=banned.pk), "agency_banned")]
    for agency, code in refusals:
        with pytest.raises(DomainError) as exc:
            agency_assign(actor=hubei, entity=entity, agency=agency, year=2023)
        assert (agency.name, exc.value.code, exc.value.field) == (agency.name, code, "agency")
    assert not AgencyAssignment.objects.exists()
    hubei_power = _agency("hubei power", sector_id="power", province=f.province("42"))
    assignment = agency_assign(actor=hubei, entity=entity, agency=hubei_power, year=2023)
    assert (assignment.agency, assignment.status) == (hubei_power, AgencyAssignment.Status.ACTIVE)


@pytest.mark.parametrize("change", [{"is_active": False}, {"banned_until": dt.date(2099, 1, 1)}])
def test_an_inactive_or_banned_agency_cannot_submit_or_start(entity, agency, verifier, assigned, change):
    Organisation.objects.filter(pk=agency.pk).update(**change)
    verifier.refresh_from_db()
    with pytest.raises(Forbidden) as exc:
        verifications.verification_submit(**signed_report(), actor=verifier, entity=entity, year=2023,
                                          unit_values=VALUES)
    assert exc.value.field == "agency"
    assert not Verification.objects.exists()


def test_the_report_needs_a_listed_conclusion_reasons_unless_unqualified_and_its_file(entity, verifier, assigned):
    def submit(**over):
        return verifications.verification_submit(**{**signed_report(), **over}, actor=verifier, entity=entity,
                                                 year=2023, unit_values=VALUES)

    for over, field, code in [({"conclusion": "fine"}, "conclusion", "invalid_choice"),
                              ({"conclusion": "qualified"}, "conclusion_reasons", "required"),
                              ({"conclusion": "adverse", "conclusion_reasons": " "}, "conclusion_reasons", "required"),
                              ({"report_file": None}, "report_file", "required")]:
        with pytest.raises(DomainError) as exc:
            submit(**over)
        assert (exc.value.field, exc.value.code) == (field, code)
    assert not Verification.objects.exists()
    v = submit(conclusion="qualified", conclusion_reasons="Unit 2 heat meter uncalibrated; heat taken x 0.98.")
    assert (v.status, v.conclusion, v.conclusion_reasons) == (
        "submitted", "qualified", "Unit 2 heat meter uncalibrated; heat taken x 0.98.")
    assert v.report_file.name.startswith("mrv/verification/") and v.started_at == v.submitted_at


def test_the_province_cancels_or_replaces_an_assignment_before_submission_with_a_reason(
        entity, agency, verifier, hubei, wuhan, guangdong, national, assigned):
    for actor in (wuhan, guangdong, national, verifier):
        with pytest.raises(Forbidden):
            agencies.assignment_cancel(actor=actor, assignment=assigned, reason="conflict of interest")
    with pytest.raises(DomainError) as exc:
        agencies.assignment_replace(actor=hubei, assignment=assigned, agency=agency, reason="x")
    assert exc.value.code == "same_agency"
    other = f.OrganisationFactory(name="湖北核查中心")
    with pytest.raises(DomainError) as exc:
        agencies.assignment_replace(actor=hubei, assignment=assigned, agency=other, reason="  ")
    assert (exc.value.field, exc.value.code) == ("reason", "required")
    with pytest.raises(DomainError) as exc:
        agencies.assignment_replace(actor=hubei, assignment=assigned, agency=_agency("unaccredited"), reason="x")
    assert exc.value.code == "not_accredited"
    assigned.refresh_from_db()
    assert assigned.status == AgencyAssignment.Status.ACTIVE  # the refused replacement changed nothing

    new = agencies.assignment_replace(actor=hubei, assignment=assigned, agency=other,
                                      reason="The agency's lead verifier audited the entity in 2022.")
    assigned.refresh_from_db()
    assert (assigned.status, assigned.replaced_by, assigned.ended_by) == ("replaced", new, hubei)
    assert (new.agency, new.status) == (other, "active")
    with pytest.raises(NotFound):  # the replaced agency no longer sees the work
        verifications.verification_submit(**signed_report(), actor=verifier, entity=entity, year=2023,
                                          unit_values=VALUES)
    with pytest.raises(Conflict) as exc:
        agencies.assignment_cancel(actor=hubei, assignment=assigned, reason="again")
    assert exc.value.code == "already_ended"

    new_verifier = f.UserFactory(role=User.Role.VERIFIER, organisation=other, username="hb-verifier")
    verifications.verification_submit(**signed_report(), actor=new_verifier, entity=entity, year=2023,
                                      unit_values=VALUES)
    with pytest.raises(Conflict) as exc:
        agencies.assignment_cancel(actor=hubei, assignment=new, reason="too late")
    assert exc.value.code == "report_submitted"
    assert AuditEntry.objects.filter(action="agency.assignment_replace").count() == 1


def test_cancelling_forgets_the_agencys_start(entity, entity_user, unit, chp_unit, verifier, hubei, assigned):
    _submitted_report(entity, entity_user, (unit, chp_unit))
    verifications.verification_start(actor=verifier, entity=entity, year=2023)
    cancelled = agencies.assignment_cancel(actor=hubei, assignment=assigned, reason="Agency dissolved its branch.")
    assert (cancelled.status, cancelled.end_reason) == ("cancelled", "Agency dissolved its branch.")
    assert Verification.objects.filter(entity=entity, year=2023, agency=None, started_at=None).count() == 1


def _submitted_report(entity, entity_user, units) -> AnnualReport:
    services.submissions_bulk_load(actor=entity_user, rows=[month_row(u, month=m, year=2023)
                                                            for u in units for m in range(1, 13)])
    report = services.annual_report_compile(actor=entity_user, entity=entity, year=2023)
    return services.annual_report_submit(actor=entity_user, report=report)


def test_recall_before_the_agency_starts_then_only_the_agency_returns_it(
        entity, entity_user, other_entity_user, unit, chp_unit, verifier, hubei, assigned):
    report = _submitted_report(entity, entity_user, (unit, chp_unit))
    with pytest.raises(NotFound):
        services.annual_report_recall(actor=other_entity_user, report=report)
    with pytest.raises(NotFound):
        services.annual_report_recall(actor=hubei, report=report)
    assert services.annual_report_recall(actor=entity_user, report=report).status == "recalled"
    with pytest.raises(Conflict):  # nothing submitted to start on
        verifications.verification_start(actor=verifier, entity=entity, year=2023)
    report = services.annual_report_submit(
        actor=entity_user, report=services.annual_report_compile(actor=entity_user, entity=entity, year=2023))
    started = verifications.verification_start(actor=verifier, entity=entity, year=2023)
    assert started.started_at is not None and started.agency_id == verifier.organisation_id
    assert verifications.verification_start(actor=verifier, entity=entity, year=2023).started_at == started.started_at

    with pytest.raises(Conflict) as exc:
        services.annual_report_recall(actor=entity_user, report=report)
    assert exc.value.code == "verification_started"
    draft = services.annual_report_compile(actor=entity_user, entity=entity, year=2023)
    with pytest.raises(Conflict) as exc:  # nor replaced by a new version behind the agency's back
        services.annual_report_submit(actor=entity_user, report=draft)
    assert exc.value.code == "verification_started"

    with pytest.raises(DomainError) as exc:
        verifications.annual_report_return(actor=verifier, report=report, reason="")
    assert exc.value.field == "reason"
    stranger = f.UserFactory(role=User.Role.VERIFIER, organisation=f.OrganisationFactory(), username="stranger")
    for actor in (stranger, entity_user, hubei):
        with pytest.raises(NotFound):
            verifications.annual_report_return(actor=actor, report=report, reason="fix it")
    returned = verifications.annual_report_return(actor=verifier, report=report,
                                                  reason="Unit 2 coal consumption differs from the ledger in May.")
    assert (returned.status, returned.returned_by, returned.return_reason) == (
        "returned", verifier, "Unit 2 coal consumption differs from the ledger in May.")
    assert services.annual_report_submit(actor=entity_user, report=draft).status == "submitted"


def test_the_province_returns_a_verification_for_re_verification(entity, verifier, hubei, guangdong, entity_user,
                                                                 assigned):
    v = verifications.verification_submit(**signed_report(), actor=verifier, entity=entity, year=2023,
                                          unit_values=VALUES)
    for actor in (guangdong, entity_user, verifier):
        with pytest.raises(Forbidden):
            verifications.verification_return(actor=actor, verification=v, reason="redo")
    with pytest.raises(DomainError) as exc:
        verifications.verification_return(actor=hubei, verification=v, reason=" ")
    assert exc.value.field == "reason"
    v = verifications.verification_return(actor=hubei, verification=v, reason="Sampling of unit 2 not shown.")
    assert (v.status, v.reverifications, v.reverification_reason) == ("in_progress", 1,
                                                                      "Sampling of unit 2 not shown.")
    with pytest.raises(Conflict):
        verifications.verification_return(actor=hubei, verification=v, reason="again")
    with pytest.raises(Conflict):
        verifications.verification_confirm(actor=hubei, verification=v)
    v = verifications.verification_submit(conclusion="unqualified", actor=verifier, entity=entity, year=2023,
                                          unit_values=VALUES)  # keeps the file already sent
    assert v.status == "submitted" and v.report_file
    assert verifications.verification_confirm(actor=hubei, verification=v).status == "confirmed"


def test_api_refuses_other_provinces_roles_and_missing_reasons(api, entity, agency, verifier, hubei, guangdong,
                                                               entity_user, assigned):
    url = f"/api/v1/mrv/assignments/{assigned.pk}/"
    assert api(guangdong).post(url + "cancel/", {"reason": "x"}, format="json").status_code == 404
    assert api(entity_user).post(url + "cancel/", {"reason": "x"}, format="json").status_code == 403
    response = api(hubei).post(url + "cancel/", {}, format="json")
    assert response.status_code == 400 and response.json()["error"]["field"] == "reason"
    response = api(hubei).post(url + "replace/", {"agency": 999999, "reason": "x"}, format="json")
    assert response.status_code == 404
    response = api(verifier).post("/api/v1/mrv/verifications/", {"entity": entity.pk, "year": 2023,
                                                                 "unit_values": VALUES}, format="json")
    assert response.status_code == 400 and response.json()["error"]["field"] == "conclusion"
    response = api(verifier).post("/api/v1/mrv/verifications/", {
        "entity": entity.pk, "year": 2023, "unit_values": VALUES, "conclusion": "unqualified"}, format="json")
    assert response.status_code == 400 and response.json()["error"]["field"] == "report_file"
    v = verifications.verification_submit(**signed_report(), actor=verifier, entity=entity, year=2023,
                                          unit_values=VALUES)
    vurl = f"/api/v1/mrv/verifications/{v.pk}/return/"
    assert api(entity_user).post(vurl, {"reason": "x"}, format="json").status_code == 403
    assert api(guangdong).post(vurl, {"reason": "x"}, format="json").status_code == 404
    response = api(hubei).post(vurl, {"reason": "Show the sampling records."}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "in_progress"
    assert response.json()["reverifications"] == 1
    response = api(hubei).post(url + "cancel/", {"reason": "Agency withdrew."}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert api(verifier).get("/api/v1/mrv/assignments/").json()["count"] == 0


def test_api_recall_start_and_return_of_the_annual_report(api, entity, entity_user, other_entity_user, unit,
                                                          chp_unit, verifier, assigned):
    report = _submitted_report(entity, entity_user, (unit, chp_unit))
    url = f"/api/v1/mrv/annual-reports/{report.pk}/"
    assert api(other_entity_user).post(url + "recall/").status_code == 404
    assert api(verifier).post(url + "recall/").status_code == 404
    response = api(verifier).post("/api/v1/mrv/verifications/start/", {"entity": entity.pk, "year": 2023},
                                  format="json")
    assert response.status_code == 200 and response.json()["started_at"]
    response = api(entity_user).post(url + "recall/")
    assert response.status_code == 409 and response.json()["error"]["code"] == "verification_started"
    assert api(entity_user).post(url + "return/", {"reason": "x"}, format="json").status_code == 404
    response = api(verifier).post(url + "return/", {"reason": "May coal consumption?"}, format="json")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["return_reason"]) == ("returned", "May coal consumption?")


def test_portal_start_return_and_reverification(client, entity, entity_user, unit, chp_unit, verifier, hubei,
                                                guangdong, assigned):
    from tests.conftest import otp_login

    report = _submitted_report(entity, entity_user, (unit, chp_unit))
    stranger = f.UserFactory(role=User.Role.VERIFIER, organisation=f.OrganisationFactory(), username="stranger")
    client.force_login(stranger)
    assert client.post("/mrv/verifications/", {"assignment": assigned.pk, "do": "start"}).status_code == 404
    client.force_login(verifier)
    assert 'value="start"' in client.get("/mrv/verifications/").content.decode()
    client.post("/mrv/verifications/", {"assignment": assigned.pk, "do": "start"})
    assert Verification.objects.get(entity=entity, year=2023).started_at is not None
    page = client.post("/mrv/verifications/", {"assignment": assigned.pk, "do": "return_report", "reason": " "},
                       follow=True).content.decode()
    assert "Say what the entity must correct." in page
    client.post("/mrv/verifications/", {"assignment": assigned.pk, "do": "return_report",
                                        "reason": "May ledger missing"})
    report.refresh_from_db()
    assert (report.status, report.return_reason) == ("returned", "May ledger missing")

    v = verifications.verification_submit(**signed_report("adverse", "Fuel data not traceable."), actor=verifier,
                                          entity=entity, year=2023, unit_values=VALUES)
    otp_login(client, guangdong)
    assert client.post("/mrv/verifications/", {"verification": v.pk, "do": "return", "reason": "x"}).status_code == 404
    otp_login(client, hubei)
    page = client.get("/mrv/verifications/").content.decode()
    assert "Adverse: the report does not conform: Fuel data not traceable." in page and 'value="return"' in page
    client.post("/mrv/verifications/", {"verification": v.pk, "do": "return", "reason": "Re-test unit 2 coal."})
    v.refresh_from_db()
    assert (v.status, v.reverification_reason) == ("in_progress", "Re-test unit 2 coal.")


def test_admin_cancel_and_replace_need_a_reason(client, entity, agency, hubei, guangdong, assigned):
    from tests.conftest import otp_login

    url = "/admin/entities/agencyassignment/"
    otp_login(client, guangdong)
    client.post(url, {"action": "cancel", "_selected_action": [assigned.pk], "reason": "x"})
    assigned.refresh_from_db()
    assert assigned.status == "active"  # outside its province the row is not even listed
    otp_login(client, hubei)
    page = client.post(url, {"action": "cancel", "_selected_action": [assigned.pk], "reason": ""},
                       follow=True).content.decode()
    assert "Give the reason for ending this assignment." in page
    other = f.OrganisationFactory(name="湖北核查中心")
    client.post(url, {"action": "replace", "_selected_action": [assigned.pk], "reason": "Conflict of interest",
                      "agency": other.pk})
    assigned.refresh_from_db()
    assert (assigned.status, assigned.replaced_by.agency, assigned.end_reason) == (
        "replaced", other, "Conflict of interest")
