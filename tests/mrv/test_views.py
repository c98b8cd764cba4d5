"""Portal pages: the entity dashboard (chart, missing/late, intensity), upload, detail, overview, scoping."""

import io

import pytest

from mrv import early_warnings, services
from mrv.models import MonthlySubmission
from mrv.spreadsheet import COLUMNS
from tests.conftest import otp_login

from .conftest import month_row, signed_report

pytestmark = pytest.mark.django_db


@pytest.fixture
def data(entity_user, unit, chp_unit):
    rows = [month_row(unit, month=m, year=2025) for m in (1, 2, 3)] + [month_row(chp_unit, month=1, year=2025)]
    return services.submissions_bulk_load(actor=entity_user, rows=rows)


def test_entity_dashboard(client, entity_user, entity, data):
    client.force_login(entity_user)
    assert client.get("/mrv/")["Location"] == f"/mrv/entities/{entity.pk}/"
    assert client.get("/mrv/?year=2025")["Location"] == f"/mrv/entities/{entity.pk}/?year=2025"
    response = client.get(f"/mrv/entities/{entity.pk}/?year=2025")
    page = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="chart"' in page and page.count("<rect ") >= 4
    assert "9365.572" in page  # 4 unit-months x 2341.393 t
    assert "0.0078" in page  # HB-WH-01 intensity: 7024.179 t / 900,000 MWh
    assert 'data-testid="benchmarks-link"' in page
    assert "HB-WH-02 2025-02" in page  # missing month listed


def test_dashboard_refused_outside_scope(client, other_entity_user, guangdong, wuhan, entity, data):
    for user in (other_entity_user, guangdong):
        otp_login(client, user)
        assert client.get(f"/mrv/entities/{entity.pk}/").status_code == 404
    otp_login(client, wuhan)
    assert client.get(f"/mrv/entities/{entity.pk}/").status_code == 200


def test_submission_detail_shows_formula_and_is_scoped(client, entity_user, other_entity_user, data):
    sub_id = data["ids"][0]
    client.force_login(entity_user)
    page = client.get(f"/mrv/submissions/{sub_id}/").content.decode()
    assert "E = FC x C_ar x OF x 44/12" in page and "0.03085" in page
    client.force_login(other_entity_user)
    assert client.get(f"/mrv/submissions/{sub_id}/").status_code == 404


def test_upload_page_lists_errors_and_saves_nothing(client, entity_user, unit):
    client.force_login(entity_user)
    header = ",".join(COLUMNS)
    body = f"{header}\n{unit.code},2025,2,300000,282000,0,700,7,0,bituminous,1000,20.908,,,,\n"
    upload = io.BytesIO(body.encode())
    upload.name = "feb.csv"
    page = client.post("/mrv/upload/", {"file": upload}).content.decode()
    assert 'data-testid="upload-errors"' in page and "load_factor" in page and "out_of_range" in page
    assert MonthlySubmission.objects.count() == 0
    upload = io.BytesIO(body.replace(",7,0,", ",0.8,0,").encode())
    upload.name = "feb.csv"
    response = client.post("/mrv/upload/", {"file": upload})
    assert response.status_code == 302 and "/mrv/uploads/" in response["Location"]
    assert MonthlySubmission.objects.count() == 0  # previewed, not stored
    response = client.post(response["Location"], {"do": "confirm"})
    assert response.status_code == 302
    assert MonthlySubmission.objects.count() == 1


def test_template_download(client, entity_user, hubei):
    client.force_login(entity_user)
    response = client.get("/mrv/template/?year=2025")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxml")
    otp_login(client, hubei)
    assert client.get("/mrv/template/").status_code == 404


def test_regulator_overview_and_queue(client, wuhan, guangdong, entity, data):
    otp_login(client, wuhan)
    page = client.get("/mrv/?year=2025").content.decode()
    assert 'data-testid="overview"' in page and "湖北" in page
    assert "HB-WH-01" in page  # waiting for municipal review
    otp_login(client, guangdong)
    page = client.get("/mrv/?year=2025").content.decode()
    assert "HB-WH-01" not in page


def test_warnings_page_scoped(client, entity_user, other_entity_user, wuhan, entity, other_entity):
    early_warnings.warnings_run(year=2025)
    client.force_login(entity_user)
    page = client.get("/mrv/warnings/").content.decode()
    assert "No data for 2025-01" in page and entity.name in page and other_entity.name not in page
    client.force_login(other_entity_user)
    assert entity.name not in client.get("/mrv/warnings/").content.decode()


def test_agency_portal_upload_and_province_confirms(client, verifier, agency, hubei, guangdong, entity, entity_user,
                                                    other_entity_user):
    from entities.models import AgencyAssignment, User
    from mrv.models import Verification
    from tests import factories as f

    assignment = AgencyAssignment.objects.create(year=2025, entity=entity, agency=agency, assigned_by=hubei)
    outsider = f.UserFactory(role=User.Role.VERIFIER, organisation=f.OrganisationFactory(), username="other-agency")
    otp_login(client, outsider)
    assert client.get(f"/mrv/verifications/assignments/{assignment.pk}/").status_code == 404
    client.force_login(verifier)
    assert entity.name in client.get("/mrv/verifications/").content.decode()
    post = {"findings": "ledger for March not stamped", **signed_report()}
    post.pop("conclusion_reasons")
    for code, emissions in (("HB-WH-01", "2900000"), ("HB-WH-02", "1700000")):
        post.update({f"{code}:electricity_generated_mwh": "3600000", f"{code}:electricity_supplied_mwh": "3400000",
                     f"{code}:heat_supplied_gj": "0", f"{code}:load_factor": "0.8",
                     f"{code}:heat_supply_ratio": "0", f"{code}:emissions_tco2": emissions})
    assert client.post(f"/mrv/verifications/assignments/{assignment.pk}/", post).status_code == 302
    v = Verification.objects.get()
    finding = v.findings.get()
    assert v.verified_emissions_tco2 == 4600000
    assert (finding.number, finding.text) == (1, "ledger for March not stamped")
    otp_login(client, guangdong)
    assert client.post("/mrv/verifications/", {"verification": v.pk, "do": "confirm"}).status_code == 404
    otp_login(client, hubei)
    page = client.post("/mrv/verifications/", {"verification": v.pk, "do": "confirm"}, follow=True).content.decode()
    assert "1 finding(s) are not closed" in page
    v.refresh_from_db()
    assert v.status == "submitted"
    # The entity answers on the portal; another entity (or the agency) cannot.
    client.force_login(other_entity_user)
    assert client.post("/mrv/verifications/", {"finding": finding.pk, "do": "answer", "text": "x"}).status_code == 404
    client.force_login(entity_user)
    page = client.get("/mrv/verifications/").content.decode()
    assert f'data-testid="findings-{v.pk}"' in page and 'value="answer"' in page
    page = client.post("/mrv/verifications/", {"finding": finding.pk, "do": "answer", "text": "  "},
                       follow=True).content.decode()
    assert "answer: " in page
    finding.refresh_from_db()
    assert finding.status == "open"
    client.post("/mrv/verifications/", {"finding": finding.pk, "do": "answer", "text": "Stamped ledger uploaded."})
    finding.refresh_from_db()
    assert (finding.status, finding.answer) == ("answered", "Stamped ledger uploaded.")
    otp_login(client, outsider)
    assert client.post("/mrv/verifications/", {"finding": finding.pk, "do": "close"}).status_code == 404
    client.force_login(verifier)
    assert 'value="close"' in client.get("/mrv/verifications/").content.decode()
    client.post("/mrv/verifications/", {"finding": finding.pk, "do": "close", "text": "seen"})
    finding.refresh_from_db()
    assert finding.status == "closed" and finding.closed_by == verifier
    otp_login(client, hubei)
    client.post("/mrv/verifications/", {"verification": v.pk, "do": "confirm"})
    v.refresh_from_db()
    assert v.status == "confirmed"


def test_portal_review_and_information_request(client, entity_user, wuhan, guangdong, data):
    sub = MonthlySubmission.objects.get(pk=data["ids"][0])
    otp_login(client, guangdong)
    assert client.post(f"/mrv/submissions/{sub.pk}/", {"do": "accept"}).status_code == 404
    otp_login(client, wuhan)
    assert 'data-testid="review-form"' in client.get(f"/mrv/submissions/{sub.pk}/").content.decode()
    client.post(f"/mrv/submissions/{sub.pk}/", {"do": "ask", "text": "Send the stamped ledger."})
    client.force_login(entity_user)
    page = client.get(f"/mrv/submissions/{sub.pk}/").content.decode()
    assert "Send the stamped ledger." in page and 'data-testid="review-form"' not in page
    client.post(f"/mrv/submissions/{sub.pk}/", {"do": "answer", "text": "Uploaded."})
    otp_login(client, wuhan)
    client.post(f"/mrv/submissions/{sub.pk}/", {"do": "accept"})
    sub.refresh_from_db()
    assert sub.status == MonthlySubmission.Status.PROVINCIAL_REVIEW
    assert sub.information_requests.get().answer == "Uploaded."


def test_dashboard_shows_intensity_and_links_the_benchmark_comparison(client, entity_user, entity, unit):
    services.submissions_bulk_load(actor=entity_user, rows=[month_row(unit, month=1, year=2024)])
    client.force_login(entity_user)
    page = client.get(f"/mrv/entities/{entity.pk}/?year=2024").content.decode()
    assert "0.0078" in page  # 2341.393 t / 300,000 MWh
    assert f'href="/allowances/benchmarks/{entity.pk}/?year=2024"' in page
