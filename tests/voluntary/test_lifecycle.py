"""The whole life of an offshore wind project: dates from the working-day calendar, tonnes and serials."""

import datetime as dt

import pytest

from cets.common.models import AuditEntry
from registry import services as registry
from registry.models import Holding
from voluntary import rules
from voluntary.models import MonitoringReport, Project

from .conftest import CREATED

pytestmark = pytest.mark.django_db


def test_draft_gets_a_reference_and_stays_private(draft, owner):
    assert draft.state == Project.State.DRAFT
    assert draft.ref == f"P2024{draft.pk:06d}"
    assert draft.site_key == "广东省阳江市沙扒镇以南海域"


def test_disclosure_lasts_20_working_days(disclosed):
    assert disclosed.state == Project.State.DISCLOSURE
    assert disclosed.disclosure_start == CREATED
    assert disclosed.disclosure_end == dt.date(2024, 3, 29)


def test_registration_due_within_15_working_days(applied, registered):
    # 2024-04-02 + 15 working days, skipping the Qingming holiday 4-6 April (7 April is a make-up day).
    assert applied.decision_due == dt.date(2024, 4, 24)
    assert registered.state == Project.State.REGISTERED
    assert registered.registration_number == f"CCER-01-2024-{registered.pk:06d}"
    assert registered.registered_on == dt.date(2024, 4, 10)


def test_offshore_wind_baseline_is_net_export_times_combined_margin(report):
    # Guangdong is on the southern grid: EF_CM = 0.75 x 0.8042 + 0.25 x 0.2135 = 0.656525 tCO2/MWh.
    assert report.calculation["ef_cm"] == "0.656525"
    assert report.claimed_reductions == 65652  # 100,000 MWh x 0.656525 = 65,652.5, rounded down


def test_verification_opens_20_working_days_of_disclosure(report_disclosed):
    assert report_disclosed.state == MonitoringReport.State.DISCLOSURE
    assert report_disclosed.verified_reductions == 65652
    # 2024-06-03 + 20 working days, skipping the Dragon Boat holiday on 10 June.
    assert report_disclosed.disclosure_end == dt.date(2024, 7, 2)


def test_registration_issues_vintages_with_unique_serials(issued, owner_org):
    assert [(i.vintage, i.quantity) for i in issued] == [(2022, 32826), (2023, 32826)]
    assert sum(i.quantity for i in issued) == 65652
    first, second = issued
    assert (first.serial_start, first.serial_end) == (1, 32826)
    assert (second.serial_start, second.serial_end) == (1, 32826)  # each vintage is its own series
    assert first.instrument_code != second.instrument_code
    code = first.instrument_code
    assert first.serial_range == f"CN-{code}-000000000001…CN-{code}-000000032826"
    account = registry.account_for_organisation(organisation=owner_org, create=False)
    holdings = {h.instrument.code: h.total for h in Holding.objects.filter(account=account)}
    assert holdings == {first.instrument_code: 32826, second.instrument_code: 32826}
    report = first.report
    assert report.state == MonitoringReport.State.REGISTERED
    assert report.registered_on == dt.date(2024, 7, 15)
    assert AuditEntry.objects.filter(action="voluntary.report_register", object_id=str(report.pk)).exists()


def test_vintage_split_sums_exactly():
    parts = rules.vintage_split(dt.date(2022, 7, 1), dt.date(2024, 6, 30), 1001)
    assert sum(q for _, q in parts) == 1001
    assert [y for y, _ in parts] == [2022, 2023, 2024]
