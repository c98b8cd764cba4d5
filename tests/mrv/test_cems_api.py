"""CEMS API: scoping of points and figures, ingestion as JSON, CSV body and file, 400 naming the field."""

from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from mrv.cems_models import CemsHour

from .test_cems import NOW, rows

pytestmark = pytest.mark.django_db

POINTS = "/api/v1/mrv/cems/points/"
CSV = ("point,hour,co2_pct,flow_nm3h,temp_c,pressure_kpa,moisture_pct,o2_pct,status\n"
       "P1,2024-04-01T00:00:00+08:00,12,1000000,120,101.2,8.5,6,valid\n"
       "P1,2024-04-01T01:00:00+08:00,,,120,101.2,8.5,6,maintenance\n")


@pytest.fixture
def point(entity_user, unit, hubei, api):
    made = api(entity_user).post(POINTS, {"unit": unit.pk, "code": "P1", "device": "SICK MCS100E",
                                          "certified_on": "2023-11-01", "commissioned_on": "2023-12-01"},
                                 format="json")
    assert made.status_code == 201 and made.json()["status"] == "proposed"
    reviewed = api(hubei, otp=True).post(f"{POINTS}{made.json()['id']}/review/", {"approve": True}, format="json")
    assert reviewed.status_code == 200 and reviewed.json()["status"] == "approved"
    return made.json()["id"]


@pytest.fixture(autouse=True)
def _now():
    with mock.patch("mrv.cems.timezone.now", return_value=NOW):
        yield


def test_points_are_scoped_to_the_entity_and_its_province(point, api, other_entity_user, guangdong, hubei,
                                                           entity_user, unit):
    assert api(other_entity_user).get(f"{POINTS}{point}/").status_code == 404
    assert api(other_entity_user).get(POINTS).json()["count"] == 0
    assert api(guangdong, otp=True).get(f"{POINTS}{point}/").status_code == 404
    assert api(hubei, otp=True).get(POINTS).json()["count"] == 1
    second = api(entity_user).post(POINTS, {"unit": unit.pk, "code": "P2", "device": "x",
                                            "certified_on": "2024-01-01", "commissioned_on": "2024-01-02"},
                                   format="json").json()["id"]
    assert api(guangdong, otp=True).post(f"{POINTS}{second}/review/", {"approve": True},
                                         format="json").status_code == 404
    assert api(entity_user).post(f"{POINTS}{second}/review/", {"approve": True}, format="json").status_code == 403
    other_unit = other_entity_user.entity.units.get()
    refused = api(entity_user).post(POINTS, {"unit": other_unit.pk, "code": "X", "device": "x",
                                             "certified_on": "2024-01-01", "commissioned_on": "2024-01-02"},
                                    format="json")
    assert refused.status_code == 404


def test_hours_as_json_csv_body_and_file(point, api, entity_user, unit):
    client = api(entity_user)
    sent = client.post(f"{POINTS}hours/", {"rows": rows(n=3)}, format="json")
    assert sent.status_code == 200 and sent.json() == {"received": 3, "inserted": 3, "changed": 0, "unchanged": 0}
    body = client.post(f"{POINTS}hours/", CSV, content_type="text/csv")
    assert body.json() == {"received": 2, "inserted": 0, "changed": 1, "unchanged": 1}
    upload = client.post(f"{POINTS}hours/", {"file": SimpleUploadedFile("april.csv", CSV.encode())},
                         format="multipart")
    assert upload.json() == {"received": 2, "inserted": 0, "changed": 0, "unchanged": 2}
    assert CemsHour.objects.filter(point_id=point).count() == 3
    month = client.get(f"{POINTS}{point}/month/", {"year": 2024, "month": 4}).json()
    assert (month["hours"], month["valid_hours"], month["substituted_hours"]) == (720, 2, 718)
    facility = client.get(f"/api/v1/mrv/cems/facilities/{unit.pk}/month/", {"year": 2024, "month": 4}).json()
    assert facility["co2_t"] == month["co2_t"] and facility["accounting_tco2"] is None


def test_bad_rows_are_a_400_naming_the_field(point, api, entity_user, other_entity_user, unit):
    data = rows(n=2)
    data[1]["co2_pct"] = 140
    refused = api(entity_user).post(f"{POINTS}hours/", {"rows": data}, format="json")
    assert refused.status_code == 400
    assert refused.json()["error"]["field"] == "rows[1].co2_pct"
    foreign = api(other_entity_user).post(f"{POINTS}hours/", {"rows": rows(n=1)}, format="json")
    assert foreign.status_code == 400 and foreign.json()["error"]["field"] == "rows[0].point"
    assert api(other_entity_user).get(f"{POINTS}{point}/month/", {"year": 2024, "month": 4}).status_code == 404
    assert api(other_entity_user).get(f"/api/v1/mrv/cems/facilities/{unit.pk}/month/",
                                      {"year": 2024, "month": 4}).status_code == 404
    assert not CemsHour.objects.exists()
