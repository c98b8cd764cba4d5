"""The closed loop of a warning (issue 17 point 1, first part): severity per rule, the province told at once of a
high one, and a transfer that hands the case to the tier above, which then acts on it."""

import datetime as dt

import pytest

from cets.common.errors import Conflict, DomainError, Forbidden
from mrv import early_warnings, services
from mrv.models import EarlyWarning, Reminder, WarningEvent, WarningRule

from .conftest import month_row

pytestmark = pytest.mark.django_db


@pytest.fixture
def warning(entity_user, unit, wuhan, django_capture_on_commit_callbacks):
    WarningRule.objects.filter(code="load_factor_range").update(severity="high")
    with django_capture_on_commit_callbacks(execute=True):
        services.submissions_bulk_load(actor=entity_user, rows=[month_row(unit, load_factor="0.1")])
    return EarlyWarning.objects.get(rule__code="load_factor_range")


def test_a_warning_takes_its_rules_severity_and_a_high_one_reaches_the_province_at_once(warning, unit):
    assert (warning.severity, warning.tier) == ("high", "municipal")
    notice = Reminder.objects.get(key__startswith=f"high:{warning.fingerprint}")
    assert (notice.recipient_tier, notice.days_before, notice.due_date) == ("provincial", 0, warning.due_date)
    others = EarlyWarning.objects.exclude(pk=warning.pk)
    assert set(others.values_list("severity", flat=True)) <= {"medium"}
    assert Reminder.objects.filter(key__startswith="high:").count() == 1


def test_a_transfer_hands_the_case_to_the_tier_above_which_acts_on_it(warning, wuhan, hubei, national):
    with pytest.raises(Forbidden):
        early_warnings.warning_transition(actor=hubei, warning=warning, to="transferred")
    warning = early_warnings.warning_transition(actor=wuhan, warning=warning, to="transferred",
                                                comment="Unit-level data need the province's inspection.",
                                                today=dt.date(2024, 6, 3))
    # a fresh 10 working days for the province (Jun 10, Dragon Boat Festival, is a holiday)
    assert (warning.status, warning.tier, warning.due_date) == ("transferred", "provincial", dt.date(2024, 6, 18))
    with pytest.raises(Forbidden):  # the city no longer owns the case
        early_warnings.warning_transition(actor=wuhan, warning=warning, to="rectification_requested")
    warning = early_warnings.warning_transition(actor=hubei, warning=warning, to="rectification_requested",
                                                today=dt.date(2024, 6, 4))
    assert (warning.status, warning.tier) == ("rectification_requested", "provincial")
    with pytest.raises(DomainError) as exc:
        early_warnings.warning_transition(actor=hubei, warning=warning, to="dismissed", comment=" ")
    assert exc.value.field == "comment"
    history = list(WarningEvent.objects.filter(warning=warning).order_by("pk").values_list("to_status", "comment"))
    assert history == [("transferred", "Unit-level data need the province's inspection. (to provincial)"),
                       ("rectification_requested", "")]


def test_the_national_tier_cannot_transfer_further(warning, national):
    EarlyWarning.objects.filter(pk=warning.pk).update(tier="national")
    warning.refresh_from_db()
    with pytest.raises(Conflict) as exc:
        early_warnings.warning_transition(actor=national, warning=warning, to="transferred")
    assert exc.value.code == "no_higher_tier"
    assert EarlyWarning.objects.get(pk=warning.pk).status == "detected"


def test_api_transfer_refused_for_another_city_and_the_entity(api, warning, wuhan, entity_user, guangdong):
    url = f"/api/v1/mrv/warnings/{warning.pk}/transition/"
    assert api(entity_user).post(url, {"to": "transferred"}, format="json").status_code in (403, 404)
    assert api(guangdong).post(url, {"to": "transferred"}, format="json").status_code == 404
    response = api(wuhan).post(url, {"to": "transferred"}, format="json")
    assert response.status_code == 200 and response.json()["tier"] == "provincial"


def test_an_unanswered_rectification_becomes_overdue_and_escalates_yet_the_entity_can_still_rectify(
        warning, wuhan, entity_user, unit):
    warning = early_warnings.warning_transition(actor=wuhan, warning=warning, to="rectification_requested",
                                                today=dt.date(2024, 6, 3))
    assert early_warnings.warnings_escalate(today=warning.due_date) == 0  # due today: not yet overdue
    early_warnings.warnings_escalate(today=warning.due_date + dt.timedelta(days=1))
    warning.refresh_from_db()
    assert (warning.status, warning.tier, warning.escalations) == ("overdue", "provincial", 1)
    assert list(WarningEvent.objects.filter(warning=warning).values_list("to_status", flat=True)) == [
        "rectification_requested", "overdue", "overdue"]
    services.submissions_bulk_load(actor=entity_user, rows=[month_row(unit)])
    warning.refresh_from_db()
    assert warning.status == "rectified"
