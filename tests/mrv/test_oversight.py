"""Warnings and their closed loop, three-tier review, verification and the selectors others read."""

import datetime as dt
from decimal import Decimal

import pytest

from cets.common.errors import Conflict, DomainError, Forbidden, NotFound
from entities.models import AgencyAssignment
from mrv import deadlines, determinations, early_warnings, reviews, selectors, services, verifications
from mrv.models import EarlyWarning, MonthlySubmission, Verification, WarningRule

from .conftest import month_row, signed_report

pytestmark = pytest.mark.django_db

VALUES = [{"unit": "HB-WH-01", "electricity_generated_mwh": "3600000", "electricity_supplied_mwh": "3400000",
           "heat_supplied_gj": "0", "load_factor": "0.78", "heat_supply_ratio": "0", "emissions_tco2": "2900000.4"},
          {"unit": "HB-WH-02", "electricity_generated_mwh": "1800000", "electricity_supplied_mwh": "1650000",
           "heat_supplied_gj": "2500000", "load_factor": "0.70", "heat_supply_ratio": "0.28",
           "emissions_tco2": "1700000.2"}]


@pytest.fixture
def assigned(entity, agency, hubei):
    return AgencyAssignment.objects.create(year=2023, entity=entity, agency=agency, assigned_by=hubei)


def test_verification_flow_feeds_allocation_selectors(entity, verifier, hubei, entity_user, assigned):
    with pytest.raises(DomainError) as exc:
        selectors.verified_unit_data(2023, entity_ids=[entity.pk], require_confirmed=True)
    assert exc.value.code == "verification_not_confirmed"
    v = verifications.verification_submit(**signed_report(),
                                          actor=verifier, entity=entity, year=2023, unit_values=VALUES,
                                          findings=["meter #3 calibration overdue"])
    assert v.verified_emissions_tco2 == Decimal("4600000.600")
    assert selectors.verified_emissions(entity.pk, 2023) is None
    finding = v.findings.get()
    with pytest.raises(Conflict) as exc:
        verifications.verification_confirm(actor=hubei, verification=v, today=dt.date(2024, 6, 3))
    assert (exc.value.code, exc.value.field) == ("open_findings", "findings")
    verifications.finding_answer(actor=entity_user, finding=finding, answer="meter #3 calibrated on 2024-01-15")
    verifications.finding_close(actor=verifier, finding=finding, accept=True)
    v = verifications.verification_confirm(actor=hubei, verification=v, today=dt.date(2024, 6, 3))
    assert v.review_deadline == dt.date(2024, 6, 13)  # 7 working days; Dragon Boat Festival 2024-06-10
    assert selectors.verified_emissions(entity.pk, 2023) == Decimal("4600000.600")
    assert selectors.verified_emissions_by_entity(2023) == {entity.pk: 4600001}
    rows = selectors.verified_unit_data(2023, entity_ids=[entity.pk], require_confirmed=True)
    assert [(r["unit_code"], r["category"], r["emissions_tco2"]) for r in rows] == [
        ("HB-WH-01", "I", Decimal("2900000.400")), ("HB-WH-02", "II", Decimal("1700000.200"))]
    assert rows[1]["heat_supply_ratio"] == Decimal("0.2800")
    with pytest.raises(Conflict):
        verifications.verification_confirm(actor=hubei, verification=v)
    v = verifications.verification_request_review(actor=entity_user, verification=v, reason="unit 2 heat is wrong",
                                                  today=dt.date(2024, 6, 5))
    assert v.review_decision_due == dt.date(2024, 6, 20)
    assert selectors.verified_emissions(entity.pk, 2023) is None
    v = verifications.verification_decide_review(actor=hubei, verification=v, unit_values=VALUES[:1] + [
        {**VALUES[1], "emissions_tco2": "1690000"}], comment="accepted")
    assert selectors.verified_emissions_by_entity(2023) == {entity.pk: 4590000}


def test_verification_refusals(entity, other_entity, verifier, guangdong, hubei, assigned):
    with pytest.raises(NotFound):
        verifications.verification_submit(**signed_report(),
                                          actor=verifier, entity=other_entity, year=2023, unit_values=VALUES)
    with pytest.raises(NotFound):
        verifications.verification_submit(**signed_report(),
                                          actor=verifier, entity=entity, year=2022, unit_values=VALUES)
    assert Verification.objects.count() == 0
    v = verifications.verification_submit(**signed_report(),
                                          actor=verifier, entity=entity, year=2023, unit_values=VALUES)
    with pytest.raises(Forbidden):
        verifications.verification_confirm(actor=guangdong, verification=v)
    v.refresh_from_db()
    assert v.status == Verification.Status.SUBMITTED
    with pytest.raises(DomainError) as exc:
        verifications.verification_submit(**signed_report(), actor=verifier, entity=entity, year=2023,
                                          unit_values=[{**VALUES[0], "load_factor": "1.3"}])
    assert exc.value.field == "unit_values[0].load_factor"


def test_conservative_determination_needs_a_second_regulator(entity, hubei, wuhan, guangdong):
    from entities.models import User
    from tests import factories as f

    with pytest.raises(Forbidden):
        determinations.verification_determine(actor=wuhan, entity=entity, year=2023, unit_values=VALUES, reason="x")
    v = determinations.verification_determine(actor=hubei, entity=entity, year=2023, unit_values=VALUES,
                                              reason="annual report missing at Mar 31")
    assert v.is_conservative and v.status == Verification.Status.DETERMINATION_PENDING
    assert selectors.verified_emissions(entity.pk, 2023) is None
    with pytest.raises(Forbidden):
        determinations.verification_determination_approve(actor=hubei, verification=v)
    with pytest.raises(Forbidden):
        determinations.verification_determination_approve(actor=guangdong, verification=v)
    colleague = f.regulator(User.Role.PROVINCIAL_REGULATOR, province_code="42", username="hubei2")
    v = determinations.verification_determination_approve(actor=colleague, verification=v)
    assert v.status == Verification.Status.CONFIRMED
    assert selectors.verified_unit_data(2023)[0]["is_conservative"] is True
    with pytest.raises(Conflict):
        determinations.verification_determination_approve(actor=colleague, verification=v)


def test_monthly_emissions_to_date(entity, entity_user, unit, chp_unit):
    services.submissions_bulk_load(actor=entity_user, rows=[month_row(unit, month=1), month_row(chp_unit, month=1),
                                                            month_row(unit, month=2)])
    assert selectors.monthly_emissions_to_date(entity.pk, 2024) == Decimal("7024.179")
    assert selectors.monthly_emissions_to_date(entity.pk, 2023) == Decimal("0")


def test_three_tier_review(entity, entity_user, unit, wuhan, hubei, national, guangdong):
    sub = services.submissions_bulk_load(actor=entity_user, rows=[month_row(unit)])["ids"][0]
    sub = MonthlySubmission.objects.get(pk=sub)
    with pytest.raises(Forbidden):
        reviews.submission_review(actor=hubei, submission=sub, accept=True)  # not its turn
    sub = reviews.submission_review(actor=wuhan, submission=sub, accept=True)
    assert sub.status == MonthlySubmission.Status.PROVINCIAL_REVIEW
    with pytest.raises(Forbidden):
        reviews.submission_review(actor=guangdong, submission=sub, accept=True)
    with pytest.raises(DomainError):
        reviews.submission_review(actor=hubei, submission=sub, accept=False, comment=" ")
    sub = reviews.submission_review(actor=hubei, submission=sub, accept=True)
    sub = reviews.submission_review(actor=national, submission=sub, accept=True)
    assert sub.status == MonthlySubmission.Status.ACCEPTED
    assert list(sub.reviews.values_list("tier", flat=True)) == ["municipal", "provincial", "national"]


def test_warnings_on_submission_and_closed_loop(entity, entity_user, unit, wuhan, hubei, report,
                                                django_capture_on_commit_callbacks):
    bad = month_row(unit, load_factor="0.1", fuels=[{"fuel": "bituminous", "consumption": "1000",
                                                      "carbon_content": "0.9", "test_report": report.number,
                                                      "oxidation_rate": "0.8"}])
    with django_capture_on_commit_callbacks(execute=True):
        services.submissions_bulk_load(actor=entity_user, rows=[bad])
    codes = set(EarlyWarning.objects.values_list("rule__code", flat=True))
    # carbon 0.9 / NCV 22.5 = 40 tC/TJ; report dated 8 days after sampling is fine
    assert {"load_factor_range", "oxidation_range", "coal_carbon_per_heat"} <= codes
    assert "test_report" not in codes
    warning = EarlyWarning.objects.get(rule__code="load_factor_range")
    assert warning.tier == "municipal" and warning.status == "detected"
    with pytest.raises(Forbidden):
        early_warnings.warning_transition(actor=hubei, warning=warning, to="transferred")
    warning = early_warnings.warning_transition(actor=wuhan, warning=warning, to="rectification_requested",
                                                today=dt.date(2024, 6, 3))
    services.submissions_bulk_load(actor=entity_user, rows=[month_row(unit)])
    warning.refresh_from_db()
    assert warning.status == "rectified" and warning.rectified_by.version == 2
    warning = early_warnings.warning_transition(actor=wuhan, warning=warning, to="checked")
    with pytest.raises(DomainError):
        early_warnings.warning_transition(actor=wuhan, warning=warning, to="closed", comment="")
    warning = early_warnings.warning_transition(actor=wuhan, warning=warning, to="closed", comment="figures corrected")
    assert list(warning.events.values_list("to_status", flat=True)) == [
        "rectification_requested", "rectified", "checked", "closed"]


def test_rules_switchable_and_escalation(entity, entity_user, unit, wuhan, django_capture_on_commit_callbacks):
    WarningRule.objects.filter(code="load_factor_range").update(enabled=False)
    with django_capture_on_commit_callbacks(execute=True):
        services.submissions_bulk_load(actor=entity_user, rows=[month_row(unit, load_factor="0.1")])
    assert not EarlyWarning.objects.filter(rule__code="load_factor_range").exists()
    counts = early_warnings.warnings_run(year=2024, today=dt.date(2024, 9, 1))
    # months 1-6 of 2024 are past their deadline by Sep 1: 2 units x 6 months, minus the April submission
    assert counts["missing_month"] == 11
    assert early_warnings.warnings_run(year=2024, today=dt.date(2024, 9, 1)) == {}  # nightly rerun adds nothing
    escalated = early_warnings.warnings_escalate(today=dt.date(2025, 1, 10))
    assert escalated == 11
    assert set(EarlyWarning.objects.filter(rule__code="missing_month").values_list("tier", flat=True)) == {
        "provincial"}


def test_peer_intensity_and_energy_balance_rules():
    import pandas as pd

    from mrv import rules

    subs = pd.DataFrame({
        "id": range(1, 8), "unit_id": range(1, 8), "entity_id": [1] * 7, "year": [2024] * 7, "month": [3] * 7,
        "on_time": [True] * 7, "electricity_generated_mwh": [1000.0] * 7, "electricity_supplied_mwh": [900.0] * 7,
        "heat_supplied_gj": [0.0] * 7, "load_factor": [0.8] * 7,
        "fuel_heat_gj": [9000.0, 9100, 8900, 9050, 8950, 9000, 5000],
        "emissions_tco2": [850.0, 860, 840, 855, 845, 850, 1500], "is_chp": [False] * 7, "category": ["I"] * 7,
        "main_fuel": ["coal"] * 7})
    peers = rules.peer_intensity(subs, None, {"z": 3.5, "min_peers": 5})
    assert [f[0] for f in peers] == [7]
    balance = rules.energy_balance(subs, None, {"chp_max": 1.0, "condensing_max": 0.46})
    assert [f[0] for f in balance] == [7]  # 3600 GJ out of 5000 GJ fuel is 72%


def test_energy_balance_46_percent_bound_applies_to_coal_only():
    """DOMAIN.md 5: pure condensing MWh x 3.6 / fuel heat < 46% is a coal bound; a gas combined cycle at
    55% is ordinary. Run with the thresholds the migration seeds (what the nightly run uses)."""
    import pandas as pd

    from mrv import rules
    from mrv.models import WarningRule

    subs = pd.DataFrame({
        "id": [1, 2, 3, 4], "unit_id": [1, 2, 3, 4], "entity_id": [1] * 4, "year": [2024] * 4, "month": [3] * 4,
        "on_time": [True] * 4, "electricity_generated_mwh": [1000.0] * 4, "electricity_supplied_mwh": [950.0] * 4,
        "heat_supplied_gj": [0.0] * 4, "load_factor": [0.8] * 4,
        # 3600 GJ of electricity: 55% (gas CCGT), 50% (coal), 50% (unconventional coal), 40% (coal, plausible)
        "fuel_heat_gj": [3600 / 0.55, 7200.0, 7200.0, 9000.0],
        "emissions_tco2": [370.0, 700.0, 720.0, 850.0], "is_chp": [False] * 4, "category": ["IV", "I", "III", "I"],
        "main_fuel": ["natural_gas", "coal", "unconventional_coal", "coal"]})
    thresholds = WarningRule.objects.get(code="energy_balance").thresholds
    findings = rules.energy_balance(subs, None, thresholds)
    assert [(f[0], f[6]["ratio"]) for f in findings] == [(2, 0.5), (3, 0.5)]


def test_reminders_seven_days_and_one_day_before(entity, entity_user, unit, wuhan):
    from mrv.models import Reminder

    # March 2025 data are due May 10 (Mar 31 + 40 days): reminders on May 3 and May 9 for units without data
    services.submissions_bulk_load(actor=entity_user, rows=[month_row(unit, month=3, year=2025)])
    assert deadlines.reminders_send(today=dt.date(2025, 5, 3)) == 1
    assert deadlines.reminders_send(today=dt.date(2025, 5, 3)) == 0  # rerun sends nothing twice
    assert deadlines.reminders_send(today=dt.date(2025, 5, 9)) == 1
    assert list(Reminder.objects.values_list("message", "days_before")) == [
        ("HB-WH-02: data of 2025-03 due 2025-05-10", 7), ("HB-WH-02: data of 2025-03 due 2025-05-10", 1)]
    # annual report 2024 due 2025-03-31: the entity has none submitted
    assert deadlines.reminders_send(today=dt.date(2025, 3, 24)) >= 1
    assert Reminder.objects.filter(kind="annual_report", entity=entity).count() == 1


def test_next_step_says_who_and_by_when(entity, entity_user, unit, wuhan):
    sub = MonthlySubmission.objects.get(pk=services.submissions_bulk_load(
        actor=entity_user, rows=[month_row(unit)])["ids"][0])
    assert sub.review_due is not None
    assert deadlines.next_step(sub) == {"who": "municipal_regulator", "by": sub.review_due}
    sub = reviews.submission_review(actor=wuhan, submission=sub, accept=False, comment="NCV missing a report")
    assert deadlines.next_step(sub) == {"who": "entity", "by": None}


def test_overdue_review_escalates_unless_waiting_for_the_entity(entity, entity_user, unit, chp_unit, wuhan, hubei):
    from mrv.models import Reminder

    ids = services.submissions_bulk_load(actor=entity_user, rows=[month_row(unit), month_row(chp_unit)])["ids"]
    MonthlySubmission.objects.filter(pk__in=ids).update(review_due=dt.date(2025, 6, 3))
    waiting = MonthlySubmission.objects.get(pk=ids[1])
    reviews.information_request(actor=wuhan, submission=waiting, question="Heat meter readings?",
                                today=dt.date(2025, 6, 2))
    assert reviews.reviews_escalate(today=dt.date(2025, 6, 4)) == 1
    moved = MonthlySubmission.objects.get(pk=ids[0])
    assert moved.status == MonthlySubmission.Status.PROVINCIAL_REVIEW
    assert moved.review_due == dt.date(2025, 6, 18)  # 10 working days after Jun 4
    assert MonthlySubmission.objects.get(pk=ids[1]).status == MonthlySubmission.Status.MUNICIPAL_REVIEW
    assert Reminder.objects.get(kind="review").recipient_tier == "provincial"
    assert reviews.reviews_escalate(today=dt.date(2025, 6, 4)) == 0


def test_deadline_extension_asked_with_reason_and_decided_above(entity, entity_user, unit, wuhan, hubei, national):
    from mrv.models import DeadlineExtension

    sub = MonthlySubmission.objects.get(pk=services.submissions_bulk_load(
        actor=entity_user, rows=[month_row(unit)])["ids"][0])
    MonthlySubmission.objects.filter(pk=sub.pk).update(review_due=dt.date(2025, 6, 13))
    sub.refresh_from_db()
    with pytest.raises(DomainError):
        reviews.extension_request(actor=wuhan, submission=sub, working_days=5, reason=" ")
    with pytest.raises(Forbidden):
        reviews.extension_request(actor=hubei, submission=sub, working_days=5, reason="not my turn")
    ext = reviews.extension_request(actor=wuhan, submission=sub, working_days=3,
                                    reason="site inspection of the coal yard scheduled")
    with pytest.raises(Conflict):
        reviews.extension_request(actor=wuhan, submission=sub, working_days=2, reason="again")
    with pytest.raises(Forbidden):
        reviews.extension_decide(actor=wuhan, extension=ext, grant=True)  # never the requester
    ext = reviews.extension_decide(actor=hubei, extension=ext, grant=True)
    sub.refresh_from_db()
    assert ext.status == DeadlineExtension.Status.GRANTED and sub.review_due == dt.date(2025, 6, 18)
    with pytest.raises(Conflict):
        reviews.extension_decide(actor=national, extension=ext, grant=False)


def test_unanswered_findings_are_reminded_before_the_province_confirms(entity, verifier, entity_user, assigned):
    from mrv.models import Reminder

    v = verifications.verification_submit(**signed_report(),
                                          actor=verifier, entity=entity, year=2023, unit_values=VALUES,
                                          findings=["meter #3 calibration overdue", "coal sample log incomplete"])
    assert deadlines.next_step(v) == {"who": "entity", "by": dt.date(2024, 6, 30), "why": "findings to answer"}
    assert deadlines.reminders_send(today=dt.date(2024, 6, 23)) == 1
    assert deadlines.reminders_send(today=dt.date(2024, 6, 23)) == 0
    reminder = Reminder.objects.get(kind="findings")
    assert (reminder.entity, reminder.recipient_tier, reminder.days_before) == (entity, "", 7)
    assert reminder.message == "2 verification finding(s) of 2023 to answer; the province confirms by 2024-06-30"
    for finding in v.findings.all():
        verifications.finding_answer(actor=entity_user, finding=finding, answer="corrected")
    assert deadlines.reminders_send(today=dt.date(2024, 6, 29)) == 0  # all answered: nothing more to remind
