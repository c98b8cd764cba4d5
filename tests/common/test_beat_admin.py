"""/admin/ Celery beat schedules: the national regulator sees and changes them (audited); provinces see nothing."""

import pytest
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from cets.common.models import AuditEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def nightly(db):
    crontab = CrontabSchedule.objects.create(minute="30", hour="2", day_of_week="*", day_of_month="*",
                                             month_of_year="*", timezone="Asia/Shanghai")
    return PeriodicTask.objects.create(name="test: nightly ping", task="cets.common.tasks.ping", crontab=crontab,
                                       args="[21]")


def _form(task, **changes) -> dict:
    data = {"name": task.name, "regtask": "", "task": task.task, "enabled": "on" if task.enabled else "",
            "description": task.description, "interval": "", "crontab": task.crontab_id or "", "solar": "",
            "clocked": "", "start_time_0": "", "start_time_1": "", "args": task.args, "kwargs": task.kwargs,
            "expires_0": "", "expires_1": "", "expire_seconds": "", "queue": "", "exchange": "",
            "routing_key": "", "priority": "", "headers": "{}"}
    data.update(changes)
    return data


def test_national_regulator_sees_and_changes_a_periodic_task(client, admin_login, national, nightly):
    admin_login(client, national)
    index = client.get("/admin/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "/admin/django_celery_beat/periodictask/" in index
    assert "test: nightly ping" in client.get("/admin/django_celery_beat/periodictask/").content.decode()
    page = client.get(f"/admin/django_celery_beat/periodictask/{nightly.pk}/change/", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200 and "<script id=\"periodic-task-overrides\">" not in page.content.decode()
    later = CrontabSchedule.objects.create(minute="0", hour="4", timezone="Asia/Shanghai")
    response = client.post(f"/admin/django_celery_beat/periodictask/{nightly.pk}/change/",
                           _form(nightly, crontab=later.pk, enabled=""))
    assert response.status_code == 302, response.content.decode()[:3000]
    nightly.refresh_from_db()
    assert (nightly.crontab_id, nightly.enabled) == (later.pk, False)
    entry = AuditEntry.objects.get(action="beat.periodic_task.change")
    assert entry.actor == national and entry.before["enabled"] is True and entry.after["enabled"] is False
    assert entry.after["crontab"] == later.pk
    # A crontab may be changed and added; nothing may be deleted.
    assert client.get(f"/admin/django_celery_beat/crontabschedule/{later.pk}/change/").status_code == 200
    assert client.get("/admin/django_celery_beat/crontabschedule/add/").status_code == 200
    assert client.post(f"/admin/django_celery_beat/periodictask/{nightly.pk}/delete/",
                       {"post": "yes"}).status_code == 403
    assert PeriodicTask.objects.filter(pk=nightly.pk).exists()


def test_bulk_enable_is_audited(client, admin_login, national, nightly):
    PeriodicTask.objects.filter(pk=nightly.pk).update(enabled=False)
    admin_login(client, national)
    response = client.post("/admin/django_celery_beat/periodictask/",
                           {"action": "enable_tasks", "_selected_action": [nightly.pk]})
    assert response.status_code == 302
    nightly.refresh_from_db()
    assert nightly.enabled is True
    entry = AuditEntry.objects.get(action="beat.periodic_task.enable")
    assert (entry.object_id, entry.before, entry.after) == (str(nightly.pk), {"enabled": False}, {"enabled": True})


def test_provincial_regulator_sees_no_schedules(client, admin_login, hubei, nightly):
    admin_login(client, hubei)
    index = client.get("/admin/").content.decode()
    assert "django_celery_beat" not in index
    assert client.get("/admin/django_celery_beat/periodictask/").status_code == 403
    assert client.get(f"/admin/django_celery_beat/periodictask/{nightly.pk}/change/").status_code == 403
    response = client.post(f"/admin/django_celery_beat/periodictask/{nightly.pk}/change/",
                           _form(nightly, enabled=""))
    assert response.status_code == 403
    assert client.get("/admin/django_celery_beat/crontabschedule/").status_code == 403
    nightly.refresh_from_db()
    assert nightly.enabled is True and not AuditEntry.objects.exists()
