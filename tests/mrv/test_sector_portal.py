"""Portal and admin for the industrial sectors' facilities: the month page shows the sector's figures, the
review works at each tier, the template and upload pages take a sector file, the admin shows verified facility
values; another organisation or province is refused."""

import datetime as dt

import pytest

from entities.models import AgencyAssignment
from mrv import services, verifications
from mrv.models import MonthlySubmission, SubmissionUpload

from .conftest import ALUMINIUM_MONTH, CEMENT_MONTH, signed_report
from .test_sector_uploads import CEMENT_COLUMNS, _cement_rows, _csv

pytestmark = pytest.mark.django_db


def _month(entity, user, inputs):
    return services.submission_submit(actor=user, unit=entity.units.get(), year=2025, month=3, inputs=inputs,
                                      today=dt.date(2025, 4, 20))


def test_month_page_shows_the_sector_figures(client, admin_login, aluminium_entity, facility_user, other_entity_user,
                                             guangdong, wuhan):
    user = facility_user(aluminium_entity)
    sub = _month(aluminium_entity, user, ALUMINIUM_MONTH)
    client.force_login(user)
    page = client.get(f"/mrv/submissions/{sub.pk}/").content.decode()
    assert 'data-testid="output">50000.000<' in page and "CF4 11271.000" in page and "84731.333" in page
    assert "Electricity generated" not in page
    client.force_login(other_entity_user)
    assert client.get(f"/mrv/submissions/{sub.pk}/").status_code == 404
    admin_login(client, guangdong)
    assert client.get(f"/mrv/submissions/{sub.pk}/").status_code == 404
    admin_login(client, wuhan)
    assert client.post(f"/mrv/submissions/{sub.pk}/", {"do": "accept"}).status_code == 302
    assert MonthlySubmission.objects.get(pk=sub.pk).status == "provincial_review"


def test_portal_template_and_upload_of_a_sector_file(client, cement_entity, facility_user, other_entity_user):
    user = facility_user(cement_entity)
    client.force_login(user)
    response = client.get("/mrv/template/?year=2025&sector=cement")
    assert response.status_code == 200 and response["Content-Disposition"].endswith('-2025-cement.xlsx"')
    response = client.post("/mrv/upload/", {"file": _csv(CEMENT_COLUMNS, _cement_rows())})
    staged = SubmissionUpload.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/mrv/uploads/{staged.pk}/"
    client.force_login(other_entity_user)
    assert client.get(f"/mrv/uploads/{staged.pk}/").status_code == 404
    assert client.post(f"/mrv/uploads/{staged.pk}/", {"do": "confirm"}).status_code == 404
    client.force_login(user)
    client.post(f"/mrv/uploads/{staged.pk}/", {"do": "confirm"})
    assert str(MonthlySubmission.objects.get().emissions_tco2) == "77234.185"


def test_admin_lists_sector_months_and_verified_facility_values(client, admin_login, cement_entity, facility_user,
                                                                agency, verifier, hubei, guangdong):
    _month(cement_entity, facility_user(cement_entity), CEMENT_MONTH)
    AgencyAssignment.objects.create(year=2025, entity=cement_entity, agency=agency, assigned_by=hubei)
    verification = verifications.verification_submit(**signed_report(),
                                                     actor=verifier, entity=cement_entity, year=2025, unit_values=[
        {"unit": "HB-CEM-L1", "emissions_tco2": "926810.22", "output_t": "1200000"}])
    admin_login(client, hubei)
    assert "HB-CEM-L1" in client.get("/admin/mrv/monthlysubmission/?unit__sector__code__exact=cement").content.decode()
    page = client.get(f"/admin/mrv/verification/{verification.pk}/change/").content.decode()
    assert "verified facility values" in page.lower() and "1200000.000" in page
    admin_login(client, guangdong)
    assert "HB-CEM-L1" not in client.get("/admin/mrv/monthlysubmission/").content.decode()
    assert client.get(f"/admin/mrv/verification/{verification.pk}/change/").status_code in (302, 403, 404)


def test_dashboard_shows_the_facility_intensity(client, steel_entity, facility_user, other_entity_user):
    from .conftest import STEEL_MONTH

    user = facility_user(steel_entity)
    _month(steel_entity, user, STEEL_MONTH)
    client.force_login(user)
    page = client.get(f"/mrv/entities/{steel_entity.pk}/?year=2025").content.decode()
    assert "<td>steel</td>" in page and "0.9463" in page  # 350,118.3 / 370,000
    client.force_login(other_entity_user)
    assert client.get(f"/mrv/entities/{steel_entity.pk}/?year=2025").status_code == 404


def test_agency_portal_enters_a_clinker_lines_figures(client, admin_login, cement_entity, facility_user, agency,
                                                      verifier, hubei):
    from entities.models import User
    from mrv.models import VerifiedFacilityValue
    from tests import factories as f

    _month(cement_entity, facility_user(cement_entity), CEMENT_MONTH)
    assignment = AgencyAssignment.objects.create(year=2025, entity=cement_entity, agency=agency, assigned_by=hubei)
    outsider = f.UserFactory(role=User.Role.VERIFIER, organisation=f.OrganisationFactory(), username="other-agency")
    client.force_login(outsider)
    assert client.get(f"/mrv/verifications/assignments/{assignment.pk}/").status_code == 404
    client.force_login(verifier)
    page = client.get(f"/mrv/verifications/assignments/{assignment.pk}/").content.decode()
    assert 'name="HB-CEM-L1:carbide_slag_rate"' in page and "electricity_generated_mwh" not in page
    post = {"HB-CEM-L1:emissions_tco2": "77234.185", "HB-CEM-L1:output_t": "100000",
            "HB-CEM-L1:intensity_emissions_tco2": "", "HB-CEM-L1:intensity_output_t": "",
            "HB-CEM-L1:carbide_slag_rate": "0.0449", "conclusion": "unqualified"}
    first = {**post, "report_file": signed_report()["report_file"]}
    assert client.post(f"/mrv/verifications/assignments/{assignment.pk}/", first).status_code == 302
    value = VerifiedFacilityValue.objects.get()
    assert (str(value.emissions_tco2), str(value.intensity_output_t), str(value.carbide_slag_rate)) == (
        "77234.185", "100000.000", "0.0449")
    post["HB-CEM-L1:carbide_slag_rate"] = ""  # blank: from the months' lines, 2,400 / 53,500 (the file is kept)
    assert client.post(f"/mrv/verifications/assignments/{assignment.pk}/", post).status_code == 302
    assert str(VerifiedFacilityValue.objects.get().carbide_slag_rate) == "0.0449"


def _form_post(unit, **over):
    post = {"unit": unit.pk, "year": "2025", "month": "3", "note": "", "clinker_t": "100000",
            "items-TOTAL_FORMS": "8", "items-INITIAL_FORMS": "0", "items-MIN_NUM_FORMS": "0",
            "items-MAX_NUM_FORMS": "60",
            "items-0-item_list": "fuels", "items-0-item_code": "bituminous", "items-0-amount": "12500",
            "items-0-ncv": "22.0", "items-1-item_list": "substitutes", "items-1-item_code": "carbide_slag",
            "items-1-amount": "5000"}
    post.update(over)
    return post


def test_portal_form_for_a_facility_month(client, cement_entity, facility_user, other_entity_user, hubei,
                                          admin_login):
    user = facility_user(cement_entity)
    unit = cement_entity.units.get()
    client.force_login(user)
    assert 'data-testid="facility-month-link"' in client.get(f"/mrv/entities/{cement_entity.pk}/").content.decode()
    url = f"/mrv/entities/{cement_entity.pk}/facility-month/"
    page = client.get(url).content.decode()
    assert "[clinker_t]" in page and "sintering.inputs" not in page and "substitutes" in page
    page = client.post(url, _form_post(unit, **{"items-0-item_code": "peat"})).content.decode()
    assert 'data-testid="month-errors"' in page and "fuels[0].fuel" in page
    page = client.post(url, _form_post(unit, **{"items-1-item_list": "lubricants"})).content.decode()
    assert "items[2].item_list" in page
    assert not MonthlySubmission.objects.exists()
    response = client.post(url, _form_post(unit))
    sub = MonthlySubmission.objects.get()
    assert response["Location"] == f"/mrv/submissions/{sub.pk}/" and str(sub.emissions_tco2) == "77234.185"
    client.force_login(other_entity_user)
    assert client.get(url).status_code == 404 and client.post(url, _form_post(unit)).status_code == 404
    admin_login(client, hubei)
    assert client.get(url).status_code == 404
    assert MonthlySubmission.objects.count() == 1
