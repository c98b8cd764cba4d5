"""Daily risk monitoring: expected obligation from monthly MRV before verification, graded warnings."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from compliance import selectors, services, tasks
from compliance.models import ComplianceCycle, RiskSnapshot, RiskWarning
from mrv.models import MonthlySubmission

pytestmark = pytest.mark.django_db


@pytest.fixture
def annual(db):
    """The 2024 annual cycle: deadline 2025-12-31, horizons 90/60/30/7."""
    return ComplianceCycle.objects.get(code="2024")


def monthly(entity, entity_user, year, months, tonnes):
    unit = entity.units.first()
    for month in months:
        MonthlySubmission.objects.create(entity=entity, unit=unit, year=year, month=month,
                                         emissions_tco2=Decimal(tonnes), deadline=dt.date(year, 12, 31), on_time=True,
                                         submitted_by=entity_user, submitted_at=timezone.now())


def test_monthly_basis_extrapolated_and_graded(annual, entity, entity_user, give):
    monthly(entity, entity_user, 2024, range(1, 7), "100000")  # Jan-Jun reported, scanned on 2024-07-15
    give(entity, 2024, 900_000)
    result = services.risk_scan(cycle=annual, on_date=dt.date(2024, 7, 15), entity_ids=[entity.pk])
    snap = RiskSnapshot.objects.get(entity=entity)
    # 600,000 t over six full months -> 1,200,000 t expected; 900,000 t held -> 300,000 t short (25%).
    assert (snap.expected_tco2, snap.basis, snap.holdings_tco2, snap.gap_tco2, snap.level) == (
        1_200_000, "monthly", 900_000, 300_000, "severe")
    assert result["warnings"] == 0  # 534 days left: no horizon reached yet


def test_horizons_warn_once_each_and_gap_change(annual, entity, entity_user, give):
    monthly(entity, entity_user, 2024, range(1, 13), "100000")
    give(entity, 2024, 1_000_000)
    services.risk_scan(cycle=annual, on_date=dt.date(2025, 10, 1), entity_ids=[entity.pk])  # 91 days: none
    services.risk_scan(cycle=annual, on_date=dt.date(2025, 10, 5), entity_ids=[entity.pk])  # 87 days: 90
    services.risk_scan(cycle=annual, on_date=dt.date(2025, 10, 6), entity_ids=[entity.pk])  # again: no repeat
    give(entity, 2024, 150_000)
    services.risk_scan(cycle=annual, on_date=dt.date(2025, 12, 1), entity_ids=[entity.pk])  # 30 days
    assert list(RiskWarning.objects.order_by("horizon_days").values_list("horizon_days", "gap_tco2", "level")) == [
        (30, 50_000, "watch"), (90, 200_000, "warning")]
    latest = RiskSnapshot.objects.get(entity=entity, on_date=dt.date(2025, 12, 1))
    assert (latest.gap_tco2, latest.gap_change_tco2) == (50_000, -150_000)


def test_covered_entity_is_ok_and_daily_task_runs(annual, entity, entity_user, give, monkeypatch):
    monkeypatch.setattr(services, "_today", lambda: dt.date(2025, 6, 1))  # 213 days before the deadline
    monthly(entity, entity_user, 2024, range(1, 13), "1000")
    give(entity, 2024, 20_000)
    result = tasks.risk_scan_daily()
    assert "2024" in result and RiskSnapshot.objects.get(entity=entity, cycle=annual).level == "ok"
    assert RiskWarning.objects.count() == 0


def test_scan_lists_an_entity_short_60_days_before_and_past_the_deadline_not_a_covered_one(
        annual, entity, other_entity, entity_user, other_entity_user, give, national):
    """The 2024 deadline is 2025-12-31. Hubei holds its 1,200,000 t but has surrendered nothing;
    Guangdong has surrendered its whole (verified) 12,000 t."""
    from compliance.services import obligations_calculate

    from .conftest import confirm

    monthly(entity, entity_user, 2024, range(1, 13), "100000")
    give(entity, 2024, 1_200_000)
    confirm(other_entity, 2024, "12000")
    obligations_calculate(actor=national, cycle=annual, year=2024, entity_ids=[other_entity.pk])
    give(other_entity, 2024, 12_000)
    ob = annual.obligations.get(entity=other_entity)
    services.surrender(actor=other_entity_user, obligation=ob, items=[{"kind": "cea", "vintage": 2024,
                                                                      "quantity": 12_000}],
                       on_date=dt.date(2025, 6, 1))
    ids = [entity.pk, other_entity.pk]

    before = services.risk_scan(cycle=annual, on_date=dt.date(2025, 11, 1), entity_ids=ids)  # 60 days left
    assert before["at_risk"] == 1
    snap = RiskSnapshot.objects.get(entity=entity, on_date=dt.date(2025, 11, 1))
    assert (snap.expected_tco2, snap.covered_tco2, snap.holdings_tco2, snap.level) == (
        1_200_000, 0, 1_200_000, "watch")
    assert RiskSnapshot.objects.get(entity=other_entity, on_date=dt.date(2025, 11, 1)).level == "ok"

    after = services.risk_scan(cycle=annual, on_date=dt.date(2026, 1, 10), entity_ids=ids)  # 10 days past
    assert after["at_risk"] == 1 and after["days_left"] == -10
    late = RiskSnapshot.objects.get(entity=entity, on_date=dt.date(2026, 1, 10))
    assert (late.gap_tco2, late.level) == (1_200_000, "critical")  # holding is not surrendering
    assert RiskSnapshot.objects.get(entity=other_entity, on_date=dt.date(2026, 1, 10)).level == "ok"
    assert [(r.entity_id, r.gap_tco2) for r in selectors.risk_list(national, annual)] == [(entity.pk, 1_200_000)]
