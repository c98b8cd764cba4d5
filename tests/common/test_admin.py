"""/admin/: TOTP login for regulators, no admin for entity users, and the platform tables' admin pages."""

import datetime as dt

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from cets.common.audit import audit_record
from cets.common.calendar import is_working_day
from cets.common.models import AuditEntry, CalendarDay, Job

pytestmark = pytest.mark.django_db

PASSWORD = "pass-word-123"


def _token(user, offset=0) -> str:
    device = TOTPDevice.objects.get(user=user)
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift) + offset:06d}"[-6:]


def _login(client, user, token):
    return client.post("/admin/login/?next=/admin/", {"username": user.username, "password": PASSWORD,
                                                      "otp_token": token}, HTTP_ACCEPT_LANGUAGE="en")


def test_regulator_without_a_valid_token_cannot_log_in(client, hubei):
    for token in ("", "000000" if _token(hubei) != "000000" else "111111"):
        response = _login(client, hubei, token)
        assert response.status_code == 200
        assert response.context["form"].errors
    assert client.get("/admin/").status_code == 302


def test_regulator_with_password_and_token_logs_in(client, hubei):
    response = _login(client, hubei, _token(hubei))
    assert response.status_code == 302 and response["Location"] == "/admin/"
    index = client.get("/admin/", HTTP_ACCEPT_LANGUAGE="en")
    assert index.status_code == 200
    assert "National carbon market administration" in index.content.decode()


def test_wrong_password_with_valid_token_is_refused(client, hubei):
    response = client.post("/admin/login/", {"username": "hubei", "password": "wrong-pass-1",
                                             "otp_token": _token(hubei)})
    assert response.status_code == 200
    assert client.get("/admin/").status_code == 302


def test_password_login_alone_does_not_open_admin(client, hubei):
    client.force_login(hubei)  # e.g. signed in at the portal: not verified by a device
    assert client.get("/admin/").status_code == 302


def test_entity_user_gets_no_admin(client, entity_user):
    response = client.post("/admin/login/", {"username": entity_user.username, "password": PASSWORD,
                                             "otp_token": "123456"})
    assert response.status_code == 200 and response.context["form"].errors
    client.force_login(entity_user)
    assert client.get("/admin/").status_code == 302
    assert client.get("/admin/common/job/").status_code == 302


def test_job_admin_shows_progress_read_only(client, admin_login, hubei, entity_user):
    mine = Job.objects.create(kind="allocation.run", done=3, total=4, status="running", created_by=hubei)
    theirs = Job.objects.create(kind="upload", done=1, total=2, created_by=entity_user)
    admin_login(client, hubei)
    page = client.get("/admin/common/job/").content.decode()
    assert '<progress max="100" value="75">' in page and f'href="/jobs/{mine.pk}/"' in page
    assert f'href="/jobs/{theirs.pk}/"' not in page
    detail = client.get(f"/admin/common/job/{mine.pk}/change/")
    html = detail.content.decode()
    assert detail.status_code == 200 and 'name="kind"' not in html
    assert f'hx-get="/jobs/{mine.pk}/progress/"' in html and "htmx-2.min.js" in html  # the bar refreshes live
    assert client.post(f"/admin/common/job/{mine.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Job.objects.count() == 2


def test_national_regulator_amends_calendar_in_admin(client, admin_login, national):
    is_working_day(dt.date(2024, 10, 8))
    admin_login(client, national)
    response = client.post("/admin/common/calendarday/2024-10-08/change/", {
        "is_working_day": "", "holiday_name": "Typhoon closure"})
    assert response.status_code == 302, response.content.decode()[:2000]
    day = CalendarDay.objects.get(date=dt.date(2024, 10, 8))
    assert (day.is_working_day, day.is_trading_day, day.holiday_name, day.source) == (
        False, False, "Typhoon closure", "manual")
    entry = AuditEntry.objects.get(action="calendar.amend")
    assert entry.actor == national and entry.before["is_working_day"] is True


def test_provincial_regulator_views_but_cannot_amend_calendar(client, admin_login, hubei):
    is_working_day(dt.date(2024, 10, 8))
    admin_login(client, hubei)
    assert client.get("/admin/common/calendarday/").status_code == 200
    response = client.post("/admin/common/calendarday/2024-10-08/change/", {"is_working_day": "",
                                                                            "holiday_name": "x"})
    assert response.status_code == 403
    assert CalendarDay.objects.get(date=dt.date(2024, 10, 8)).source == "library"
    assert AuditEntry.objects.count() == 0


def test_audit_trail_admin_is_national_only_and_read_only(client, admin_login, national, hubei):
    from django.db import transaction

    with transaction.atomic():
        entry = audit_record(actor=national, action="test.write", object_type="t", object_id=1, after={"a": 1})
    admin_login(client, hubei)
    assert client.get("/admin/common/auditentry/").status_code == 403
    admin_login(client, national)
    assert "test.write" in client.get("/admin/common/auditentry/").content.decode()
    assert client.get(f"/admin/common/auditentry/{entry.pk}/change/").status_code == 200
    assert client.post(f"/admin/common/auditentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.get("/admin/common/auditentry/add/").status_code == 403
    assert AuditEntry.objects.count() == 1
