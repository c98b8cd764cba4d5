"""Regulator admin: scoped queues, national-only edits of rules and parameters, actions through services."""

import pytest

from mrv import services
from mrv.models import MonthlySubmission, WarningRule

from .conftest import month_row

pytestmark = pytest.mark.django_db


def test_submission_queue_scoped_and_accept_action(client, admin_login, entity_user, unit, wuhan, guangdong):
    sub_id = services.submissions_bulk_load(actor=entity_user, rows=[month_row(unit)])["ids"][0]
    admin_login(client, guangdong)
    assert unit.code not in client.get("/admin/mrv/monthlysubmission/").content.decode()
    admin_login(client, wuhan)
    assert unit.code in client.get("/admin/mrv/monthlysubmission/").content.decode()
    client.post("/admin/mrv/monthlysubmission/", {"action": "accept", "_selected_action": [sub_id]})
    assert MonthlySubmission.objects.get(pk=sub_id).status == MonthlySubmission.Status.PROVINCIAL_REVIEW


def test_only_national_tunes_rules(client, admin_login, national, hubei):
    rule = WarningRule.objects.get(code="load_factor_range")
    admin_login(client, hubei)
    assert client.get(f"/admin/mrv/warningrule/{rule.pk}/change/").status_code in (200, 403)
    response = client.post(f"/admin/mrv/warningrule/{rule.pk}/change/", {
        "code": rule.code, "name": rule.name, "description": "", "enabled": "", "thresholds": '{"low": 0.1}',
        "rectify_working_days": 10})
    rule.refresh_from_db()
    assert rule.enabled is True and response.status_code == 403
    admin_login(client, national)
    client.post(f"/admin/mrv/warningrule/{rule.pk}/change/", {
        "code": rule.code, "name": rule.name, "description": "", "thresholds": '{"low": 0.1, "high": 1.0}',
        "rectify_working_days": 10, "severity": "high"})
    rule.refresh_from_db()
    assert rule.enabled is False and rule.thresholds == {"low": 0.1, "high": 1.0} and rule.severity == "high"
